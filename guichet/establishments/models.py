"""The establishment directory: ARS regions, legal entities (EJ) and sites (ET).

- EJ, *entité juridique*: the legal entity, identified by its FINESS juridique and SIREN.
- ET, *établissement*: a site, identified by its FINESS géographique and SIRET; it is what
  files a dossier. Sanitaire = health establishment (hospital, clinic); médico-social =
  social-care establishment (EHPAD, disability services).
"""

from django.conf import settings
from django.db import models


class Region(models.Model):
    """One of the 18 French regions, each with its ARS (agence régionale de santé)."""

    code = models.CharField("code INSEE", max_length=2, unique=True)
    name = models.CharField("nom", max_length=100)
    slug = models.SlugField(unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "région"

    def __str__(self):
        return self.name

    @property
    def ars_name(self) -> str:
        return f"ARS {self.name}"


class LegalStatus(models.TextChoices):
    PUBLIC = "public", "Public"
    PRIVE = "prive", "Privé"
    ESPIC = "espic", "Privé d'intérêt collectif (ESPIC)"


class Sector(models.TextChoices):
    SANITAIRE = "sanitaire", "Sanitaire"
    MEDICO_SOCIAL = "medico_social", "Médico-social"


class Source(models.TextChoices):
    DIRECTORY = "directory", "Annuaire"
    MANUAL = "manual", "Saisie manuelle"


class LegalEntity(models.Model):
    """EJ: the legal entity that holds one or several sites."""

    finess = models.CharField("FINESS juridique", max_length=9, unique=True)
    siren = models.CharField("SIREN", max_length=9, blank=True)
    name = models.CharField("raison sociale", max_length=255)
    legal_status = models.CharField("statut juridique", max_length=10, choices=LegalStatus.choices, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.DIRECTORY)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "entité juridique"
        verbose_name_plural = "entités juridiques"

    def __str__(self):
        return f"{self.name} ({self.finess})"


class Establishment(models.Model):
    """ET: a site (FINESS géographique), the unit that files dossiers."""

    finess = models.CharField("FINESS géographique", max_length=9, unique=True)
    legal_entity = models.ForeignKey(
        LegalEntity, verbose_name="entité juridique", on_delete=models.PROTECT, null=True, blank=True,
        related_name="establishments",
    )
    siret = models.CharField("SIRET", max_length=14, blank=True)
    name = models.CharField("raison sociale", max_length=255)
    category_code = models.CharField("code catégorie", max_length=10, blank=True)
    category = models.CharField("catégorie", max_length=255, blank=True)
    sector = models.CharField("secteur", max_length=20, choices=Sector.choices, default=Sector.SANITAIRE)
    legal_status = models.CharField("statut juridique", max_length=10, choices=LegalStatus.choices, blank=True)
    department = models.CharField("département", max_length=3, blank=True)
    region = models.ForeignKey(Region, verbose_name="région", on_delete=models.PROTECT, null=True, blank=True)
    city = models.CharField("commune", max_length=255, blank=True)
    ght = models.CharField("GHT", max_length=255, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.DIRECTORY)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="EstablishmentAccess", through_fields=("establishment", "user"),
        related_name="establishments", blank=True,
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "établissement"
        ordering = ["name"]
        indexes = [models.Index(fields=["name"])]

    def __str__(self):
        return f"{self.name} ({self.finess})"

    @property
    def eligibility_kind(self) -> str:
        """The kind a call's eligibility is expressed in (see calls.EligibleKind)."""
        if self.sector == Sector.MEDICO_SOCIAL:
            return "medico_social"
        return f"sanitaire_{self.legal_status or 'public'}"


class MembershipRole(models.TextChoices):
    REFERENT = "referent", "Référent"
    MEMBER = "membre", "Membre"


class GrantedVia(models.TextChoices):
    """How a confirmed membership came to be (see ``guichet.establishments.claims``)."""

    ARS = "ars", "Confirmation par l'ARS de la région"
    REFERENT = "referent", "Acceptation par un référent"
    PROCONNECT = "proconnect", "Identité ProConnect de l'organisation"
    MIGRATION = "migration", "Reprise d'un rattachement antérieur"
    ADMIN = "admin", "Administration de la plateforme"


class EstablishmentAccess(models.Model):
    """A CONFIRMED membership: the user acts for the establishment (files dossiers, sees its grants).

    Only confirmed memberships are rows here, so that every query through ``Establishment.members`` /
    ``user.establishments`` is right by construction; a claim still to be decided is a ``MembershipRequest``.
    A referent (*référent*) also decides who else joins (``guichet.establishments.claims``).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    establishment = models.ForeignKey(Establishment, on_delete=models.CASCADE)
    role = models.CharField("rôle", max_length=10, choices=MembershipRole.choices, default=MembershipRole.MEMBER)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="accordé par", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    granted_via = models.CharField("accordé par la voie de", max_length=12, choices=GrantedVia.choices,
                                   default=GrantedVia.ADMIN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "rattachement confirmé"
        verbose_name_plural = "rattachements confirmés"
        constraints = [models.UniqueConstraint(fields=["user", "establishment"], name="unique_establishment_access")]

    @property
    def is_referent(self) -> bool:
        return self.role == MembershipRole.REFERENT


class RequestStatus(models.TextChoices):
    PENDING = "pending", "En attente"
    ACCEPTED = "accepted", "Acceptée"
    REFUSED = "refused", "Refusée"
    WITHDRAWN = "withdrawn", "Retirée"
    CANCELLED = "cancelled", "Sans objet"


FUNCTION_MAX = 150
MESSAGE_MAX = 1000
REASON_MAX = 1000


class MembershipRequest(models.Model):
    """A claim to act for an establishment, until someone entitled decides it. It gives NO access at all:
    only the ``EstablishmentAccess`` created on acceptance does."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership_requests")
    establishment = models.ForeignKey(Establishment, on_delete=models.CASCADE, related_name="membership_requests",
                                      verbose_name="établissement")
    status = models.CharField("état", max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    function = models.CharField("fonction du demandeur", max_length=FUNCTION_MAX, blank=True)
    message = models.CharField("message", max_length=MESSAGE_MAX, blank=True)
    created_at = models.DateTimeField("demandée le", auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="décidée par", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField("décidée le", null=True, blank=True)
    reason = models.CharField("motif", max_length=REASON_MAX, blank=True)

    class Meta:
        verbose_name = "demande de rattachement"
        verbose_name_plural = "demandes de rattachement"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "establishment"], condition=models.Q(status="pending"),
                                    name="one_pending_membership_request"),
            models.CheckConstraint(condition=~models.Q(status="refused") | ~models.Q(reason=""),
                                   name="membership_refusal_has_reason"),
        ]

    def __str__(self):
        return f"{self.user} → {self.establishment} ({self.get_status_display()})"

    @property
    def is_pending(self) -> bool:
        return self.status == RequestStatus.PENDING
