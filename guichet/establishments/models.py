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
        settings.AUTH_USER_MODEL, through="EstablishmentAccess", related_name="establishments", blank=True
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


class EstablishmentAccess(models.Model):
    """An applicant's link to an establishment they file for."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    establishment = models.ForeignKey(Establishment, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "establishment"], name="unique_establishment_access")]
