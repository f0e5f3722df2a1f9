"""Grants (*subventions*): what the ARS committed to pay one beneficiary, action by action.

A grant is created when a commission accepts a dossier (or imported for grants decided before the
platform). Its beneficiary is the porteur establishment (*établissement porteur*, the one that
receives the money in a multi-establishment dossier); each action has its ceiling (*plafond*) fixed
by the convention, and the establishments it concerns. The grant is active once the convention
signed by both parties is uploaded back; payments (next step) are made against it.
"""

from django.db import models
from django.db.models import Q

MONEY = {"max_digits": 14, "decimal_places": 2}


class GrantStatus(models.TextChoices):
    AWAITING_SIGNATURE = "a_signer", "Convention à signer"
    ACTIVE = "active", "Active"
    CLOSED = "cloturee", "Clôturée"


class GrantQuerySet(models.QuerySet):
    def visible_to(self, user):
        """ARS staff see their region's grants; an applicant those of the dossiers they are a member of."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        if user.is_ars_staff:
            return self.filter(region_id=user.region_id)
        return self.filter(Q(dossier__members=user) | Q(beneficiary__members=user)).distinct()


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
    decided_at = models.DateTimeField("décidée le", null=True, blank=True)
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

    class Meta:
        ordering = ["grant", "position"]
        constraints = [models.UniqueConstraint(fields=["grant", "position"], name="one_action_per_rank")]
        verbose_name = "action financée"
        verbose_name_plural = "actions financées"

    def __str__(self):
        return self.title
