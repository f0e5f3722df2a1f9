"""Instruction (ARS side): labels per call and the denormalised search index of the workspace.

``DossierIndex`` holds one row per *filed* dossier (drafts are never indexed: ARS staff never see
them, and autosaving a draft costs nothing here). It copies what the workspace filters and sorts on,
so that the list of a call is one query on one table, ordered along a composite index, with keyset
pagination. It is rebuilt by ``guichet.instruction.index.reindex`` from signals (see ``signals.py``).
"""

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
