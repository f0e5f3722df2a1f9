"""Instruction (ARS side): labels per call and the denormalised search index of the workspace.

``DossierIndex`` holds one row per *filed* dossier (drafts are never indexed: ARS staff never see
them, and autosaving a draft costs nothing here). It copies what the workspace filters and sorts on,
so that the list of a call is one query on one table, ordered along a composite index, with keyset
pagination. It is rebuilt by ``guichet.instruction.index.reindex`` from signals (see ``signals.py``).
"""

from django.conf import settings
from django.db import models

from guichet.dossiers.models import Dossier, State


class LabelColour(models.TextChoices):
    """DSFR illustrative colours (``fr-tag--<colour>``)."""

    BLUE_ECUME = "blue-ecume", "Bleu écume"
    GREEN_EMERAUDE = "green-emeraude", "Vert émeraude"
    YELLOW_TOURNESOL = "yellow-tournesol", "Jaune tournesol"
    ORANGE_TERRE_BATTUE = "orange-terre-battue", "Orange terre battue"
    PINK_MACARON = "pink-macaron", "Rose macaron"
    PURPLE_GLYCINE = "purple-glycine", "Violet glycine"
    BROWN_CAFE_CREME = "brown-cafe-creme", "Brun café crème"
    BEIGE_GRIS_GALET = "beige-gris-galet", "Beige gris galet"


class Label(models.Model):
    """A label an instructor puts on dossiers of one call (e.g. « Prioritaire », « À compléter »)."""

    call = models.ForeignKey("calls.Call", verbose_name="appel à projets", on_delete=models.CASCADE,
                             related_name="labels")
    name = models.CharField("nom", max_length=60)
    colour = models.CharField("couleur", max_length=30, choices=LabelColour.choices,
                              default=LabelColour.BLUE_ECUME)
    dossiers = models.ManyToManyField(Dossier, related_name="labels", blank=True, verbose_name="dossiers")

    class Meta:
        verbose_name = "étiquette"
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["call", "name"], name="unique_label_per_call")]

    def __str__(self):
        return self.name


class DossierIndex(models.Model):
    """What the instructor's workspace filters, searches and sorts on, one row per filed dossier.

    - ``amount``: the requested amount, from the top-level answer whose key contains
      ``montant_demande`` (``total_montant_demande`` first); 0 when the form has none.
    - ``themes``: the HAS QVCT codes chosen anywhere in the answers (``qvct_theme`` fields, repeat
      rows included), each sub-theme also adding its theme, as ``|code|theme/sub|`` (filtered with LIKE).
    - ``filed_at``: first filing date (creation date if missing), never null, so it can be a keyset.
    - ``search_text``: lowercase, accents removed: number, establishment name, FINESS, city and
      every text answer.
    """

    dossier = models.OneToOneField(Dossier, primary_key=True, on_delete=models.CASCADE, related_name="index")
    call = models.ForeignKey("calls.Call", on_delete=models.CASCADE, related_name="dossier_indexes",
                             db_index=False)
    number = models.CharField(max_length=40, default="")
    state = models.CharField(max_length=20, choices=State.choices)
    archived = models.BooleanField(default=False)
    followed = models.BooleanField(default=False)  # at least one instructor follows it
    sector = models.CharField(max_length=20, blank=True)
    department = models.CharField(max_length=3, blank=True)
    legal_status = models.CharField(max_length=10, blank=True)
    category = models.CharField(max_length=255, blank=True)
    establishment_name = models.CharField(max_length=255, blank=True)
    establishment_sort = models.CharField(max_length=255, blank=True)  # normalised, for sorting
    finess = models.CharField(max_length=9, blank=True)
    city = models.CharField(max_length=255, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    themes = models.TextField(default="", blank=True)
    label_ids = models.JSONField(default=list, blank=True)
    filed_at = models.DateTimeField()
    changed_at = models.DateTimeField()
    search_text = models.TextField(default="", blank=True)

    class Meta:
        verbose_name = "index de dossier"
        verbose_name_plural = "index des dossiers"
        indexes = [
            # One per sort order: (call, archived, <sort key>, id) serves every tab, walked in order.
            models.Index(fields=["call", "archived", "filed_at", "dossier"], name="ws_idx_filed"),
            models.Index(fields=["call", "archived", "number", "dossier"], name="ws_idx_number"),
            models.Index(fields=["call", "archived", "establishment_sort", "dossier"], name="ws_idx_estab"),
            models.Index(fields=["call", "archived", "state", "dossier"], name="ws_idx_state"),
            models.Index(fields=["call", "archived", "amount", "dossier"], name="ws_idx_amount"),
            models.Index(fields=["call", "department"], name="ws_idx_department"),
        ]

    def __str__(self):
        return self.number


def _region_staff_help() -> str:
    return "Gestionnaires instructeurs ou administrateurs ARS de la région de l'appel."


class InstructorGroup(models.Model):
    """A group of instructors of one call (« groupe instructeur »), e.g. one per set of departments.

    A dossier filed from an establishment whose department is in ``departments`` is routed to the
    group (see ``groups.route``); otherwise to the call's default group, if any. The group is told of
    the dossier's filing, of the applicant's messages and corrections when nobody follows the dossier.
    Every instructor of the region still sees every dossier of the call.
    """

    call = models.ForeignKey("calls.Call", verbose_name="appel à projets", on_delete=models.CASCADE,
                             related_name="instructor_groups")
    name = models.CharField("nom", max_length=100)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name="membres", blank=True,
                                     related_name="instructor_groups", help_text=_region_staff_help())
    departments = models.JSONField(
        "départements", default=list, blank=True,
        help_text="Codes des départements dont les dossiers sont confiés à ce groupe (ex. 57, 2A).")
    is_default = models.BooleanField(
        "groupe par défaut", default=False,
        help_text="Reçoit les dossiers dont le département n'est confié à aucun groupe.")

    class Meta:
        verbose_name = "groupe instructeur"
        verbose_name_plural = "groupes instructeurs"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["call", "name"], name="unique_group_name_per_call"),
            models.UniqueConstraint(fields=["call"], condition=models.Q(is_default=True),
                                    name="one_default_group_per_call"),
        ]

    def __str__(self):
        return self.name


class DossierGroup(models.Model):
    """The instructor group a dossier is assigned to (routed at filing, changed by an instructor)."""

    dossier = models.OneToOneField(Dossier, primary_key=True, on_delete=models.CASCADE,
                                   related_name="instructor_group_link")
    group = models.ForeignKey(InstructorGroup, verbose_name="groupe instructeur", on_delete=models.CASCADE,
                              related_name="dossier_links")
    assigned_at = models.DateTimeField("affecté le", auto_now=True)

    class Meta:
        verbose_name = "affectation d'un dossier"
        verbose_name_plural = "affectations des dossiers"
        indexes = [models.Index(fields=["group", "dossier"], name="dossier_group_idx")]

    def __str__(self):
        return f"{self.dossier} → {self.group}"


class NewDossierNotice(models.TextChoices):
    GROUP = "group", "À chaque dépôt d'un dossier confié à l'un de mes groupes"
    EACH = "each", "À chaque dépôt d'un dossier de l'appel"
    DIGEST = "digest", "Un récapitulatif quotidien des dossiers déposés"
    NEVER = "never", "Jamais"


class NotificationPreference(models.Model):
    """What one instructor wants to receive by e-mail for one call. Without a row: the defaults below
    (new dossiers of my groups, messages and corrections yes)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="notification_preferences")
    call = models.ForeignKey("calls.Call", on_delete=models.CASCADE, related_name="notification_preferences")
    on_new_dossier = models.CharField("nouveaux dossiers déposés", max_length=10, choices=NewDossierNotice.choices,
                                      default=NewDossierNotice.GROUP)
    on_message = models.BooleanField("messages des déposants", default=True)
    on_corrections = models.BooleanField("corrections déposées", default=True)

    class Meta:
        verbose_name = "préférence de notification"
        verbose_name_plural = "préférences de notification"
        constraints = [models.UniqueConstraint(fields=["user", "call"], name="one_preference_per_user_and_call")]

    def __str__(self):
        return f"{self.user} — {self.call}"
