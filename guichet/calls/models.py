"""Calls for applications (*appels à projets*, a *démarche* on the platform the seeds name).

A call belongs to one ARS region and carries its dates (Europe/Paris), rules and a versioned
form schema (see ``guichet.formschema``). Templates are calls with ``is_template`` set: the
seed procedures, with their own dates, that an administrator copies into a new call.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from . import deadlines


class CallKind(models.TextChoices):
    APPLICATION = "application", "Dépôt des candidatures"
    PROOFS = "proofs", "Justificatifs de réalisation"


class EligibleKind(models.TextChoices):
    SANITAIRE_PUBLIC = "sanitaire_public", "Sanitaire public"
    SANITAIRE_PRIVE = "sanitaire_prive", "Sanitaire privé"
    SANITAIRE_ESPIC = "sanitaire_espic", "Sanitaire privé d'intérêt collectif (ESPIC)"
    MEDICO_SOCIAL = "medico_social", "Médico-social"


REGION_UNKNOWN = ("La région où est implanté l'établissement {name} (FINESS {finess}) n'est pas connue : "
                  "indiquez-la pour vérifier qu'il peut déposer sur cet appel à projets.")


class CallQuerySet(models.QuerySet):
    def calls(self):
        return self.filter(is_template=False)

    def templates(self):
        return self.filter(is_template=True)

    def open_at(self, when=None):
        when = when or timezone.now()
        return self.calls().filter(deadlines.within_q(when), published=True)

    def administered_by(self, user):
        """Calls an ARS administrator may manage: those of their region (all for a superuser)."""
        if user.is_superuser:
            return self
        if user.is_authenticated and user.is_ars_admin:
            return self.filter(region_id=user.region_id)
        return self.none()

    def instructed_by(self, user):
        if user.is_superuser:
            return self.calls()
        if user.is_authenticated and user.is_ars_staff:
            return self.calls().filter(region_id=user.region_id)
        return self.none()


class Call(models.Model):
    region = models.ForeignKey("establishments.Region", verbose_name="région", on_delete=models.PROTECT)
    year = models.PositiveIntegerField("année")
    kind = models.CharField("nature", max_length=20, choices=CallKind.choices, default=CallKind.APPLICATION)
    title = models.CharField("titre", max_length=255)
    slug = models.SlugField("identifiant d'adresse", max_length=120, unique=True)
    notice = models.TextField("notice", blank=True)
    opens_at = models.DateTimeField("ouverture")
    # The closing instant, excluded (see calls.deadlines): a deadline given as a day D is midnight, Paris
    # time, at the start of D + 1.
    closes_at = models.DateTimeField("clôture", help_text=deadlines.HELP_TEXT)
    eligible_kinds = models.JSONField("établissements éligibles", default=list, blank=True)
    envelope = models.DecimalField("enveloppe (€)", max_digits=14, decimal_places=2, null=True, blank=True)
    cofinancing_rate = models.DecimalField(
        "taux de cofinancement (%)", max_digits=5, decimal_places=2, default=Decimal("50.00"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    required_documents = models.JSONField("pièces demandées", default=list, blank=True)
    # Proofs calls: [{label, received_from, received_until, paid_by}] — when proofs received are paid.
    payment_windows = models.JSONField("fenêtres de versement", default=list, blank=True)
    # Proofs calls: the years of the application calls whose grants they pay (e.g. [2020, 2021, 2022, 2024]).
    covered_years = models.JSONField("appels à projets couverts (années)", default=list, blank=True)
    # The call's calendar after filing: [{kind, label, starts_at, ends_at}] (ISO dates or date-times, Paris).
    phases = models.JSONField("calendrier", default=list, blank=True)
    is_template = models.BooleanField("modèle", default=False)
    published = models.BooleanField("publié", default=True)
    # Opt-in by the region's ARS: the call's aggregated figures on a public page (reporting.public).
    public_statistics = models.BooleanField("chiffres publics", default=False)
    contact_email = models.EmailField("contact", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CallQuerySet.as_manager()

    class Meta:
        verbose_name = "appel à projets"
        verbose_name_plural = "appels à projets"
        ordering = ["-year", "title"]

    def __str__(self):
        return self.title

    def is_open(self, when=None) -> bool:
        when = when or timezone.now()
        return self.published and not self.is_template and deadlines.is_within(self.opens_at, self.closes_at, when)

    @property
    def deadline(self) -> deadlines.Deadline:
        """The filing deadline as a person reads it (« jusqu'au 31 juillet 2024 inclus »)."""
        return deadlines.Deadline(self.closes_at)

    @property
    def opening_text(self) -> str:
        """« 26 janvier 2024 » (from the start of that day, Paris), or with its time."""
        return deadlines.moment_text(self.opens_at)

    @property
    def current_form(self):
        return self.form_versions.filter(kind=FormKind.FORM).order_by("-number").first()

    def calendar(self) -> list[dict]:
        """The call's phases in order, the filing period first, with dates as aware datetimes."""
        from .calendar import calendar

        return calendar(self)

    def eligible_kind_labels(self):
        labels = dict(EligibleKind.choices)
        return [labels.get(k, k) for k in self.eligible_kinds]

    def refusal(self, establishment) -> str | None:
        """Why ``establishment`` may not file on (or take part in a dossier of) this call, in French, or None.

        Seeds 000 and 001: the establishments concerned are those « implantés dans la région » — the
        region rule holds whatever the eligible kinds; an establishment whose region is unknown is
        refused until its region is given (``REGION_UNKNOWN`` lets a page ask for it). Then the eligible
        kinds, when the call lists some."""
        if establishment.region_id is None:
            return REGION_UNKNOWN.format(name=establishment.name, finess=establishment.finess)
        if establishment.region_id != self.region_id:
            return (f"L'établissement {establishment.name} (FINESS {establishment.finess}) est implanté dans "
                    f"la région {establishment.region.name} : cet appel à projets de l'{self.region.ars_name} est "
                    f"réservé aux établissements implantés dans la région {self.region.name}.")
        if self.eligible_kinds and establishment.eligibility_kind not in self.eligible_kinds:
            return (f"L'établissement {establishment.name} n'est pas éligible à cet appel à projets "
                    f"(établissements éligibles : {', '.join(self.eligible_kind_labels())}).")
        return None

    def accepts(self, establishment) -> bool:
        return self.refusal(establishment) is None


class FormKind(models.TextChoices):
    FORM = "form", "Formulaire du déposant"
    ANNOTATIONS = "annotations", "Annotations privées de l'ARS"


class FormVersion(models.Model):
    """One saved version of a call's form schema (the applicant's form, or the ARS' private
    annotations); a filed dossier keeps its version."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="form_versions")
    kind = models.CharField("nature", max_length=20, choices=FormKind.choices, default=FormKind.FORM)
    number = models.PositiveIntegerField("version")
    schema = models.JSONField("schéma")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = "version du formulaire"
        verbose_name_plural = "versions du formulaire"
        constraints = [models.UniqueConstraint(fields=["call", "kind", "number"], name="unique_form_version")]
        ordering = ["call", "-number"]

    def __str__(self):
        return f"{self.call} — v{self.number}"

    def parsed(self):
        """The parsed schema. A saved version never changes, so it is parsed once per process."""
        from guichet.formschema.schema import parse_schema

        if self.pk is None:
            return parse_schema(self.schema)
        key = (self.pk, self.call_id, self.number, self.created_at)  # ids alone may be reused after a rollback
        cached = _PARSED.get(key)
        if cached is None:
            if len(_PARSED) >= _PARSED_MAX:
                _PARSED.pop(next(iter(_PARSED)))
            cached = _PARSED[key] = parse_schema(self.schema)
        return cached


_PARSED: dict = {}
_PARSED_MAX = 256
