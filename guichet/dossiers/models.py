"""Dossiers: one application (or one proofs submission) by one establishment to one call.

A dossier keeps its answers as JSON keyed by the form schema's field keys (see
``guichet.formschema``), with the form version it is filled on. Its states follow the platform
the seeds name: ``brouillon`` → ``en construction`` → ``en instruction`` → decided.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from guichet.core.models import StoredFile


class State(models.TextChoices):
    BROUILLON = "brouillon", "Brouillon"
    EN_CONSTRUCTION = "en_construction", "En construction"
    EN_INSTRUCTION = "en_instruction", "En instruction"
    ACCEPTE = "accepte", "Accepté"
    REFUSE = "refuse", "Refusé"
    SANS_SUITE = "sans_suite", "Classé sans suite"


EDITABLE_STATES = (State.BROUILLON, State.EN_CONSTRUCTION)


class DossierQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The one scope through which views and the API reach dossiers.

        An applicant sees the dossiers they are a member of (creator or invited); ARS staff see
        the filed dossiers of their region's calls (never drafts); a superuser sees all.
        """
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        if user.is_ars_staff:
            return self.filter(call__region_id=user.region_id).exclude(state=State.BROUILLON)
        return self.filter(members=user)

    def editable_by(self, user):
        """Dossiers whose answers this user may change: an applicant-member, in an editable state."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(members=user, state__in=EDITABLE_STATES)


class Dossier(models.Model):
    call = models.ForeignKey("calls.Call", verbose_name="appel à projets", on_delete=models.PROTECT,
                             related_name="dossiers")
    form_version = models.ForeignKey("calls.FormVersion", on_delete=models.PROTECT, related_name="dossiers")
    establishment = models.ForeignKey(
        "establishments.Establishment", verbose_name="établissement porteur", on_delete=models.PROTECT,
        related_name="dossiers",
    )
    partners = models.ManyToManyField(
        "establishments.Establishment", verbose_name="établissements parties prenantes", blank=True,
        related_name="partner_dossiers",
    )
    number = models.CharField("numéro", max_length=40, unique=True, null=True, blank=True)
    state = models.CharField("état", max_length=20, choices=State.choices, default=State.BROUILLON, db_index=True)
    answers = models.JSONField("réponses", default=dict, blank=True)
    # Raw input that did not validate, kept so that nothing typed is ever lost; key = field path.
    pending = models.JSONField(default=dict, blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="dossiers", blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("créé le", auto_now_add=True)
    updated_at = models.DateTimeField("modifié le", auto_now=True)
    first_filed_at = models.DateTimeField("déposé le", null=True, blank=True)
    last_filed_at = models.DateTimeField("dernier dépôt le", null=True, blank=True)
    # Instruction (ARS side)
    instruction_started_at = models.DateTimeField("passé en instruction le", null=True, blank=True)
    decided_at = models.DateTimeField("décidé le", null=True, blank=True)
    motivation = models.TextField("motivation de la décision", blank=True)
    correction_requested = models.BooleanField("correction demandée", default=False)
    archived = models.BooleanField("archivé", default=False, db_index=True)
    followers = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="followed_dossiers", blank=True,
                                       verbose_name="instructeurs qui suivent le dossier")
    annotations = models.JSONField("annotations privées", default=dict, blank=True)

    objects = DossierQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["call", "state"])]

    def __str__(self):
        return self.number or f"Brouillon n° {self.pk}"

    @property
    def is_editable(self) -> bool:
        return self.state in EDITABLE_STATES

    @property
    def establishments(self):
        """The porteur first, then the parties prenantes (not read when the dossier was read knowing it has none:
        ``services.with_context``)."""
        if getattr(self, "has_partners", True) is False:
            return [self.establishment]
        return [self.establishment, *self.partners.all()]


class Attachment(StoredFile):
    """A file uploaded into a dossier field; served only through a permission-checked view."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="attachments")
    field_path = models.CharField(max_length=255)

    class Meta:
        indexes = [models.Index(fields=["dossier", "field_path"])]


class EventKind(models.TextChoices):
    CREATED = "created", "Création"
    FILED = "filed", "Dépôt"
    EDITED = "edited", "Modification après dépôt"
    MEMBER_ADDED = "member_added", "Ajout d'un collaborateur"
    TRANSITION = "transition", "Changement d'état"
    ARCHIVED = "archived", "Archivage"
    UNARCHIVED = "unarchived", "Désarchivage"


class DossierEvent(models.Model):
    """Append-only history of a dossier: filing, changes after filing, collaborators, every change
    of state with who made it, when, and the motivation."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    details = models.JSONField(default=dict, blank=True)
    motivation = models.TextField(blank=True)
    event = models.CharField("action", max_length=40, blank=True)  # the workflow event, for transitions

    class Meta:
        ordering = ["at", "pk"]

    # The states are stored as codes (an event outlives a renamed label); readers see the labels.
    @property
    def from_state_label(self) -> str:
        return _state_label(self.from_state)

    @property
    def to_state_label(self) -> str:
        return _state_label(self.to_state)


def _state_label(code: str) -> str:
    return State(code).label if code in State.values else code


def new_invitation_token() -> str:
    return secrets.token_urlsafe(32)


class Invitation(models.Model):
    """An invitation, sent by e-mail, to work on a dossier with its creator."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField("adresse électronique")
    token = models.CharField(max_length=64, unique=True, default=new_invitation_token)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dossier", "email"], condition=Q(accepted_at__isnull=True),
                                    name="one_pending_invitation_per_email")
        ]


class DraftReminder(models.Model):
    """A reminder sent to a draft's members before the deadline: once per threshold (days before)."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="draft_reminders")
    days = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dossier", "days"], name="one_reminder_per_threshold")]
