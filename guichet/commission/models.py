"""The commission: a scoring grid per call, and the scores the ARS gives each dossier.

A criterion has a weight and a scale (0 to ``scale_max``); each scorer gives each criterion a
value. A dossier's score is, for each scorer, the weighted mean of its values brought to /20, then
the mean over its scorers; the spread between scorers shows where they disagree.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from guichet.core.models import StoredFile


class Criterion(models.Model):
    call = models.ForeignKey("calls.Call", on_delete=models.CASCADE, related_name="criteria",
                             verbose_name="appel à projets")
    label = models.CharField("critère", max_length=200)
    help = models.CharField("précision", max_length=500, blank=True)
    weight = models.DecimalField("coefficient", max_digits=5, decimal_places=2, default=Decimal("1"),
                                 validators=[MinValueValidator(Decimal("0.01"))])
    scale_max = models.PositiveSmallIntegerField("note maximale", default=5,
                                                 validators=[MinValueValidator(1), MaxValueValidator(100)])
    order = models.PositiveSmallIntegerField("ordre", default=0)

    class Meta:
        ordering = ["call", "order", "pk"]
        verbose_name = "critère de notation"
        verbose_name_plural = "critères de notation"

    def __str__(self):
        return f"{self.label} (×{self.weight}, sur {self.scale_max})"


class Score(models.Model):
    """One value given to one criterion of a dossier, by a user (ARS staff or commission member) or by an
    expert through their request's link (who has no account): exactly one of ``scorer``, ``expert_request``."""

    dossier = models.ForeignKey("dossiers.Dossier", on_delete=models.CASCADE, related_name="scores")
    criterion = models.ForeignKey(Criterion, on_delete=models.CASCADE, related_name="scores")
    scorer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    expert_request = models.ForeignKey("experts.ExpertRequest", null=True, blank=True, on_delete=models.CASCADE,
                                       related_name="scores", verbose_name="demande d'avis")
    value = models.PositiveSmallIntegerField("note")
    comment = models.CharField("commentaire", max_length=1000, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dossier", "criterion", "scorer"], name="one_score_each"),
            models.UniqueConstraint(fields=["dossier", "criterion", "expert_request"],
                                    condition=models.Q(expert_request__isnull=False), name="one_expert_score_each"),
            models.CheckConstraint(condition=models.Q(scorer__isnull=False, expert_request__isnull=True)
                                   | models.Q(scorer__isnull=True, expert_request__isnull=False),
                                   name="scorer_or_expert"),
        ]


class SessionStatus(models.TextChoices):
    PREPARATION = "preparation", "En préparation"
    DECIDED = "decided", "Décisions appliquées"


class Session(models.Model):
    """A commission session (*séance de la commission d'arbitrage*) of one call: its members, the
    dossiers on its agenda and, per dossier and action, the amounts the commission grants."""

    call = models.ForeignKey("calls.Call", on_delete=models.PROTECT, related_name="sessions",
                             verbose_name="appel à projets")
    title = models.CharField("intitulé", max_length=200)
    held_on = models.DateTimeField("date de la séance")
    place = models.CharField("lieu", max_length=200, blank=True)
    status = models.CharField("état", max_length=20, choices=SessionStatus.choices,
                              default=SessionStatus.PREPARATION)
    # What the letters and conventions issued from this session say.
    signatory_name = models.CharField("signataire", max_length=200, blank=True)
    signatory_title = models.CharField("qualité du signataire", max_length=200, blank=True,
                                       default="Le directeur général de l'agence régionale de santé")
    convention_starts_on = models.DateField("début des conventions", null=True, blank=True)
    convention_ends_on = models.DateField("fin des conventions", null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField("décisions appliquées le", null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")

    class Meta:
        ordering = ["-held_on", "pk"]
        verbose_name = "séance de commission"
        verbose_name_plural = "séances de commission"

    def __str__(self):
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status == SessionStatus.PREPARATION


class Capacity(models.TextChoices):
    PRESIDENT = "president", "Président(e)"
    MEMBER = "membre", "Membre"
    EXPERT = "expert", "Expert(e)"
    SECRETARY = "secretaire", "Secrétariat"


class SessionMember(models.Model):
    """A person sitting in the session. A member who is not ARS staff sees the session's dossiers only,
    and scores them."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="commission_seats")
    capacity = models.CharField("qualité", max_length=20, choices=Capacity.choices, default=Capacity.MEMBER)
    organisation = models.CharField("organisme représenté", max_length=200, blank=True)

    class Meta:
        ordering = ["session", "capacity", "pk"]
        constraints = [models.UniqueConstraint(fields=["session", "user"], name="one_seat_each")]
        verbose_name = "membre de la commission"
        verbose_name_plural = "membres de la commission"

    def __str__(self):
        return f"{self.user} ({self.get_capacity_display()})"


class Decision(models.TextChoices):
    PENDING = "", "À décider"
    ACCEPT = "accepter", "Accepter"
    REFUSE = "refuser", "Refuser"
    CLOSE = "classer_sans_suite", "Classer sans suite"
    POSTPONE = "ajourner", "Ajourner à une séance suivante"


# A decision as the reader of the minutes or a session page expects it: its outcome, not the verb chosen.
OUTCOMES = {Decision.PENDING: "À décider", Decision.ACCEPT: "Accepté", Decision.REFUSE: "Refusé",
            Decision.CLOSE: "Classé sans suite", Decision.POSTPONE: "Ajourné"}


class ConventionKind(models.TextChoices):
    CONVENTION = "convention", "Convention de financement"
    AVENANT = "avenant", "Avenant au CPOM"


class AgendaItem(models.Model):
    """One dossier on a session's agenda, with the decision the commission takes on it."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="items")
    dossier = models.ForeignKey("dossiers.Dossier", on_delete=models.PROTECT, related_name="agenda_items")
    order = models.PositiveIntegerField("ordre", default=0)
    decision = models.CharField("décision", max_length=30, choices=Decision.choices, default=Decision.PENDING,
                                blank=True)
    motivation = models.TextField("motivation", blank=True)
    convention_kind = models.CharField("acte", max_length=20, choices=ConventionKind.choices,
                                       default=ConventionKind.CONVENTION)
    applied_at = models.DateTimeField("décision appliquée le", null=True, blank=True)

    class Meta:
        ordering = ["session", "order", "pk"]
        constraints = [models.UniqueConstraint(fields=["session", "dossier"], name="once_per_session")]
        verbose_name = "dossier à l'ordre du jour"
        verbose_name_plural = "dossiers à l'ordre du jour"

    def __str__(self):
        return f"{self.dossier} — {self.session}"

    @property
    def outcome(self) -> str:
        """« Accepté », « Refusé »…: the decision as its readers expect it."""
        return OUTCOMES.get(self.decision, self.get_decision_display())


MONEY = {"max_digits": 14, "decimal_places": 2}


class ActionLine(models.Model):
    """One action of a dossier in the arbitration table: the amounts the applicant asked for (copied
    from the answers when the dossier joins the agenda), the instructor's proposal and the grant."""

    item = models.ForeignKey(AgendaItem, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField("rang dans le dossier")
    title = models.CharField("action", max_length=500)
    establishments = models.CharField("établissements concernés", max_length=1000, blank=True)
    cost = models.DecimalField("coût total (€)", **MONEY)
    eligible_cost = models.DecimalField("coût éligible (€)", **MONEY)
    requested = models.DecimalField("montant demandé (€)", **MONEY)
    proposed = models.DecimalField("montant proposé par l'instruction (€)", null=True, blank=True, **MONEY)
    granted = models.DecimalField("montant accordé (€)", null=True, blank=True, **MONEY)

    class Meta:
        ordering = ["item", "position"]
        constraints = [models.UniqueConstraint(fields=["item", "position"], name="one_line_per_action")]
        verbose_name = "action arbitrée"
        verbose_name_plural = "actions arbitrées"

    def __str__(self):
        return self.title


class EnvelopeChange(models.Model):
    """An administrator raised (or lowered) a call's envelope: who, when, from what, to what, why."""

    call = models.ForeignKey("calls.Call", on_delete=models.CASCADE, related_name="envelope_changes")
    previous = models.DecimalField("enveloppe précédente (€)", null=True, blank=True, **MONEY)
    new = models.DecimalField("nouvelle enveloppe (€)", **MONEY)
    reason = models.TextField("motif")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["call", "changed_at"]
        verbose_name = "modification de l'enveloppe"
        verbose_name_plural = "modifications de l'enveloppe"


class DocumentKind(models.TextChoices):
    LETTER = "lettre", "Lettre de notification"
    CONVENTION = "convention", "Convention de financement"
    AVENANT = "avenant", "Avenant au CPOM"
    SIGNED_CONVENTION = "convention_signee", "Convention signée"
    MINUTES = "proces_verbal", "Procès-verbal de la séance"


class Document(StoredFile):
    """A document of the decision: generated (letters, conventions, minutes) or uploaded back (the signed
    convention). Letters and conventions belong to a dossier; the minutes to a session."""

    kind = models.CharField("document", max_length=30, choices=DocumentKind.choices)
    dossier = models.ForeignKey("dossiers.Dossier", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="decision_documents")
    session = models.ForeignKey(Session, null=True, blank=True, on_delete=models.CASCADE, related_name="documents")

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = "document de décision"
        verbose_name_plural = "documents de décision"
