"""Grants (*subventions*): what the ARS committed to pay one beneficiary, action by action.

A grant is created when a commission accepts a dossier (or imported for grants decided before the
platform). Its beneficiary is the porteur establishment (*établissement porteur*, the one that
receives the money in a multi-establishment dossier); each action has its ceiling (*plafond*) fixed
by the convention, and the establishments it concerns. The grant is active once the convention
signed by both parties is uploaded back; payments (next step) are made against it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

MONEY = {"max_digits": 14, "decimal_places": 2}


class GrantStatus(models.TextChoices):
    AWAITING_SIGNATURE = "a_signer", "Convention à signer"
    ACTIVE = "active", "Active"
    CLOSED = "cloturee", "Clôturée"


class GrantQuerySet(models.QuerySet):
    def visible_to(self, user):
        """ARS staff see their region's grants; an applicant those of the dossiers they are a member of, and
        those of the legal entities of the establishments they file for (a proofs dossier covers them all)."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        if user.is_ars_staff:
            return self.filter(region_id=user.region_id)
        return self.filter(Q(dossier__members=user) | Q(beneficiary__members=user)
                           | Q(legal_entity__establishments__members=user)).distinct()


class Grant(models.Model):
    region = models.ForeignKey("establishments.Region", on_delete=models.PROTECT, related_name="+",
                               verbose_name="région")
    call = models.ForeignKey("calls.Call", null=True, blank=True, on_delete=models.PROTECT, related_name="grants",
                             verbose_name="appel à projets")
    call_year = models.PositiveIntegerField("année de l'appel à projets")
    dossier = models.OneToOneField("dossiers.Dossier", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="grant")
    session = models.ForeignKey("commission.Session", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="grants", verbose_name="séance de commission")
    beneficiary = models.ForeignKey("establishments.Establishment", on_delete=models.PROTECT, related_name="grants",
                                    verbose_name="établissement porteur (bénéficiaire)")
    legal_entity = models.ForeignKey("establishments.LegalEntity", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="grants", verbose_name="entité juridique")
    rate = models.DecimalField("taux de cofinancement (%)", max_digits=5, decimal_places=2)
    total = models.DecimalField("montant total accordé (€)", **MONEY)
    convention_kind = models.CharField("acte", max_length=20, default="convention")
    convention_reference = models.CharField("référence de la convention", max_length=100, unique=True)
    convention_starts_on = models.DateField("début de la convention", null=True, blank=True)
    convention_ends_on = models.DateField("fin de la convention", null=True, blank=True)
    convention_signed_on = models.DateField("convention signée le", null=True, blank=True)
    status = models.CharField("état", max_length=20, choices=GrantStatus.choices,
                              default=GrantStatus.AWAITING_SIGNATURE)
    # Pay 50 % of the invoices « toutes taxes comprises » unless the beneficiary recovers VAT.
    invoice_basis = models.CharField("base des factures", max_length=3, choices=[("ttc", "TTC"), ("ht", "HT")],
                                     default="ttc")
    imported = models.BooleanField("reprise d'une subvention antérieure à la plateforme", default=False)
    decided_at = models.DateTimeField("décidée le", null=True, blank=True)
    closed_at = models.DateTimeField("clôturée le", null=True, blank=True)
    closing_reason = models.CharField("motif de clôture", max_length=300, blank=True)
    activated_at = models.DateTimeField("active depuis le", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = GrantQuerySet.as_manager()

    class Meta:
        ordering = ["-call_year", "convention_reference"]
        verbose_name = "subvention"
        verbose_name_plural = "subventions"

    def __str__(self):
        return f"{self.convention_reference} — {self.beneficiary.name}"


class GrantAction(models.Model):
    """One funded action and its ceiling (*plafond*): the most the ARS pays for it."""

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="actions")
    position = models.PositiveSmallIntegerField("rang")
    title = models.CharField("action", max_length=500)
    ceiling = models.DecimalField("plafond (€)", **MONEY)
    eligible_cost = models.DecimalField("coût éligible (€)", null=True, blank=True, **MONEY)
    establishments = models.ManyToManyField("establishments.Establishment", blank=True, related_name="+",
                                            verbose_name="établissements concernés")
    establishments_text = models.CharField("établissements concernés (tels que déclarés)", max_length=1000,
                                           blank=True)
    paid_before = models.DecimalField("déjà versé avant la plateforme (€)", default=0, **MONEY)

    class Meta:
        ordering = ["grant", "position"]
        constraints = [models.UniqueConstraint(fields=["grant", "position"], name="one_action_per_rank")]
        verbose_name = "action financée"
        verbose_name_plural = "actions financées"

    def __str__(self):
        return self.title


class Completion(models.TextChoices):
    NOT_STARTED = "non_commencee", "Non commencée"
    IN_PROGRESS = "en_cours", "En cours"
    PARTIAL = "partielle", "Réalisée partiellement"
    DONE = "totale", "Réalisée totalement"


class ActionProgress(models.Model):
    """How far an action was carried out, as the establishment declares it in a proofs dossier."""

    dossier = models.ForeignKey("dossiers.Dossier", on_delete=models.CASCADE, related_name="action_progress")
    action = models.ForeignKey(GrantAction, on_delete=models.PROTECT, related_name="progress")
    completion = models.CharField("degré de réalisation", max_length=20, choices=Completion.choices,
                                  default=Completion.IN_PROGRESS)
    comment = models.TextField("commentaire", blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dossier", "action"], name="one_progress_per_action")]
        verbose_name = "réalisation d'une action"
        verbose_name_plural = "réalisations des actions"


class LineStatus(models.TextChoices):
    PENDING = "a_valider", "À valider"
    ACCEPTED = "acceptee", "Acceptée"
    PARTIAL = "partielle", "Acceptée en partie"
    REJECTED = "rejetee", "Rejetée"


class InvoiceLine(models.Model):
    """One invoice sent as proof for one funded action, typed online or read from the bordereau, and
    the instructor's validation of it."""

    dossier = models.ForeignKey("dossiers.Dossier", on_delete=models.CASCADE, related_name="invoice_lines")
    action = models.ForeignKey(GrantAction, on_delete=models.PROTECT, related_name="invoice_lines")
    establishment = models.ForeignKey("establishments.Establishment", null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="+",
                                      verbose_name="établissement")
    supplier = models.CharField("fournisseur", max_length=255)
    number = models.CharField("n° de facture", max_length=100)
    invoice_date = models.DateField("date de la facture")
    amount_ht = models.DecimalField("montant HT (€)", **MONEY)
    amount_ttc = models.DecimalField("montant TTC (€)", **MONEY)
    attachment = models.ForeignKey("dossiers.Attachment", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name="facture")
    source = models.CharField(max_length=20, choices=[("online", "saisie en ligne"), ("bordereau", "bordereau")],
                              default="online")
    # When the invoice reached the ARS: the filing (or the filing of the corrections) that brought it; empty
    # until then. Its payment window follows this instant (Europe/Paris), not the dossier's first filing.
    received_at = models.DateTimeField("reçue par l'ARS le", null=True, blank=True)
    status = models.CharField("validation", max_length=20, choices=LineStatus.choices, default=LineStatus.PENDING)
    accepted_amount = models.DecimalField("montant retenu (€)", null=True, blank=True, **MONEY)
    reason = models.CharField("motif", max_length=1000, blank=True)
    validated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    validated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dossier", "action", "invoice_date", "pk"]
        indexes = [models.Index(fields=["action", "status"])]
        verbose_name = "facture justificative"
        verbose_name_plural = "factures justificatives"

    def __str__(self):
        return f"{self.supplier} n° {self.number}"

    @property
    def basis_amount(self):
        """The amount the rate applies to: TTC, or HT when the beneficiary recovers VAT."""
        return self.amount_ht if self.action.grant.invoice_basis == "ht" else self.amount_ttc


class PaymentStatus(models.TextChoices):
    SCHEDULED = "prevu", "Prévu"
    ORDERED = "ordonnance", "Ordonnancé"
    PAID = "verse", "Versé"
    CANCELLED = "annule", "Annulé"


class PaymentOrder(models.Model):
    """A payment order (*ordre de paiement*) for one payment window of a proofs call: the amounts sent to
    the finance service together, then marked paid with a date and a reference."""

    call = models.ForeignKey("calls.Call", on_delete=models.PROTECT, related_name="payment_orders")
    window_index = models.PositiveSmallIntegerField("fenêtre")
    window_label = models.CharField("fenêtre de versement", max_length=200)
    pay_by = models.DateField("versement au plus tard le")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    paid_on = models.DateField("versé le", null=True, blank=True)
    reference = models.CharField("référence du paiement", max_length=100, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "ordre de paiement"
        verbose_name_plural = "ordres de paiement"

    def __str__(self):
        return f"{self.window_label} — ordre n° {self.pk}"


class Payment(models.Model):
    """An amount to pay on one action, computed from one proofs dossier, in the window of the receipt of
    its invoices: one dossier may pay one action in two windows (invoices sent with the corrections)."""

    action = models.ForeignKey(GrantAction, on_delete=models.PROTECT, related_name="payments")
    dossier = models.ForeignKey("dossiers.Dossier", on_delete=models.PROTECT, related_name="payments")
    call = models.ForeignKey("calls.Call", on_delete=models.PROTECT, related_name="+")
    window_index = models.PositiveSmallIntegerField("fenêtre")
    window_label = models.CharField("fenêtre de versement", max_length=200)
    pay_by = models.DateField("versement au plus tard le")
    amount = models.DecimalField("montant (€)", **MONEY)
    status = models.CharField("état", max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.SCHEDULED)
    order = models.ForeignKey(PaymentOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="payments")
    paid_on = models.DateField("versé le", null=True, blank=True)
    reference = models.CharField("référence du paiement", max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["action", "created_at", "pk"]
        indexes = [models.Index(fields=["call", "window_index", "status"])]
        # What is merely scheduled is one amount per dossier, action and window (recomputed in place); orders
        # and payments made stay as they are, next to it.
        constraints = [models.UniqueConstraint(fields=["dossier", "action", "call", "window_index"],
                                               condition=Q(status="prevu"), name="one_scheduled_payment_per_window")]
        verbose_name = "versement"
        verbose_name_plural = "versements"
