"""Templates of the documents the ARS sends: notification letters, conventions, CPOM avenants, minutes.

Each kind has one platform default (``region`` empty), loaded from ``default_templates/<kind>.html``,
and at most one version of its own per region, which then wins over the default for that region
(``render.template_for``). A template body is an HTML fragment in Django template syntax, checked
by ``render.validate_body`` before it is saved, and rendered to PDF by ``render.render_pdf``.
"""

from pathlib import Path

from django.conf import settings
from django.db import models
from django.db.models import Q

DEFAULT_TEMPLATES_DIR = Path(__file__).resolve().parent / "default_templates"


class DocumentKind(models.TextChoices):
    LETTRE_ACCEPTATION = "lettre_acceptation", "Lettre de notification — acceptation"
    LETTRE_REFUS = "lettre_refus", "Lettre de notification — refus"
    LETTRE_SANS_SUITE = "lettre_sans_suite", "Lettre de notification — classement sans suite"
    CONVENTION = "convention", "Convention de financement"
    AVENANT = "avenant", "Avenant au CPOM"
    PROCES_VERBAL = "proces_verbal", "Procès-verbal de commission"


class DocumentTemplateQuerySet(models.QuerySet):
    def visible_to(self, user):
        """A superuser sees every template; an ARS administrator the defaults and their region's own."""
        if not administers_templates(user):
            return self.none()
        if user.is_superuser:
            return self
        return self.filter(Q(region__isnull=True) | Q(region_id=user.region_id))


def administers_templates(user) -> bool:
    """Platform superusers and ARS administrators of a region manage document templates."""
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_ars_admin)


def can_change_template(user, template) -> bool:
    """Superusers change every template, defaults included; an ARS administrator only their region's own."""
    if not administers_templates(user):
        return False
    return user.is_superuser or (template.region_id is not None and template.region_id == user.region_id)


class DocumentTemplate(models.Model):
    region = models.ForeignKey(
        "establishments.Region", null=True, blank=True, on_delete=models.CASCADE, related_name="document_templates",
        verbose_name="région", help_text="Vide : modèle par défaut de la plateforme, pour toutes les régions.")
    kind = models.CharField("document", max_length=30, choices=DocumentKind.choices)
    title = models.CharField("titre", max_length=200)
    body = models.TextField(
        "contenu",
        help_text="Fragment HTML avec la syntaxe des gabarits Django : {{ variable }}, {% if … %}, "
                  "{% for … in … %}, et les filtres euros, date_fr, pourcent et nombre.")
    updated_at = models.DateTimeField("modifié le", auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name="modifié par")

    objects = DocumentTemplateQuerySet.as_manager()

    class Meta:
        verbose_name = "modèle de document"
        verbose_name_plural = "modèles de documents"
        ordering = ["kind", "region__name"]
        constraints = [
            models.UniqueConstraint(fields=["region", "kind"], condition=Q(region__isnull=False),
                                    name="documents_template_one_per_region_kind",
                                    violation_error_message="Cette région a déjà son modèle pour ce document."),
            # NULL is never equal to NULL in a unique index: the one default per kind needs its own constraint.
            models.UniqueConstraint(fields=["kind"], condition=Q(region__isnull=True),
                                    name="documents_template_one_default_per_kind",
                                    violation_error_message="Ce document a déjà son modèle par défaut."),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} — {self.region.name if self.region_id else 'modèle par défaut'}"

    @property
    def is_default(self) -> bool:
        return self.region_id is None

    def customize_for(self, region, user=None) -> "DocumentTemplate":
        """The region's own copy of this default (created from it unless the region already has one)."""
        template, _ = DocumentTemplate.objects.get_or_create(
            region=region, kind=self.kind, defaults={"title": self.title, "body": self.body, "updated_by": user})
        return template


def default_body(kind: str) -> str:
    """The platform default body of ``kind``, as shipped in ``default_templates/<kind>.html``."""
    return (DEFAULT_TEMPLATES_DIR / f"{kind}.html").read_text(encoding="utf-8")


def ensure_defaults(template_model=None, *, overwrite: bool = False) -> None:
    """Create the platform default of every kind that has none (``overwrite``: reset them to the files).

    Used by the data migration (with the historical model), seed code and tests.
    """
    if template_model is None:
        template_model = DocumentTemplate
    for kind, label in DocumentKind.choices:
        values = {"title": label, "body": default_body(kind)}
        if overwrite:
            template_model.objects.update_or_create(region=None, kind=kind, defaults=values)
        else:
            template_model.objects.get_or_create(region=None, kind=kind, defaults=values)
