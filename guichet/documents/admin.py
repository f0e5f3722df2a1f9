"""Admin of document templates: the ARS adapts its letters, conventions and minutes.

Who may do what (by role, as in ``guichet.calls.admin``):

- a platform superuser sees and edits every template, the platform defaults included;
- an ARS administrator sees the defaults (read-only) and their region's own templates, which they
  create (« Personnaliser pour ma région » copies a default), edit and delete (the default then
  applies again); templates of other regions do not exist for them (404);
- anyone else has no access.

Saving checks the body with ``render.validate_body`` (French errors at the body field). The change
page lists the placeholders of the kind and links to « Aperçu PDF »: the template rendered with
``sample_context`` (``<id>/apercu.pdf``; POST: the body typed and not saved yet).
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import BooleanField, Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from . import placeholders
from .models import DocumentKind, DocumentTemplate, administers_templates, can_change_template
from .render import render_template_pdf, sample_context, validate_body


class DocumentTemplateForm(forms.ModelForm):
    user = None  # set per request by DocumentTemplateAdmin.get_form

    class Meta:
        model = DocumentTemplate
        fields = ["kind", "region", "title", "body"]
        widgets = {
            "body": forms.Textarea(attrs={"rows": 32, "spellcheck": "false",  # guichet/admin.css
                                          "class": "guichet-code guichet-code--small"}),
        }
        # The syntax is shown as code (the model's plain help text would read as template syntax left in a page).
        help_texts = {"body": mark_safe(
            "Fragment HTML avec la syntaxe des gabarits Django : <code>{{ variable }}</code>, "
            "<code>{% if … %}</code>, <code>{% for … in … %}</code>, et les filtres <code>euros</code>, "
            "<code>date_fr</code>, <code>pourcent</code> et <code>nombre</code>.")}

    def _kind(self) -> str | None:
        return self.instance.kind if self.instance.pk else self.cleaned_data.get("kind")

    def _region_id(self):
        if self.instance.pk:
            return self.instance.region_id
        if self.user is not None and not self.user.is_superuser:
            return self.user.region_id
        region = self.cleaned_data.get("region")
        return region.pk if region else None

    def clean_body(self):
        body = self.cleaned_data.get("body", "")
        kind = self._kind()
        if kind:
            validate_body(body, kind)
        return body

    def clean(self):
        data = super().clean()
        kind = self._kind()
        if not self.instance.pk and kind:
            region_id = self._region_id()
            self.instance.region_id = region_id
            taken = DocumentTemplate.objects.filter(kind=kind, region_id=region_id) if region_id else \
                DocumentTemplate.objects.filter(kind=kind, region__isnull=True)
            if taken.exists():
                self.add_error("kind", "Ce document a déjà son modèle par défaut." if region_id is None else
                               "Cette région a déjà son propre modèle pour ce document : modifiez-le.")
        return data


def placeholders_table(kind: str) -> str:
    """The placeholders of ``kind`` as an HTML table (admin help)."""
    rows = []
    for name, description in placeholders.PLACEHOLDERS[kind]:
        if placeholders.is_group(kind, name):
            rows.append(format_html('<tr><th colspan="2" class="guichet-group-heading">{}</th></tr>',
                                    description[:1].upper() + description[1:]))
        else:
            rows.append(format_html("<tr><td><code>{}</code></td><td>{}</td></tr>",
                                    placeholders.example(kind, name), description))
    filters = format_html_join("", "<tr><td><code>{}</code></td><td>{}</td></tr>",
                               ((usage, description) for _, usage, description in placeholders.FILTERS))
    return format_html(
        '<table><thead><tr><th>Variable</th><th>Contenu</th></tr></thead><tbody>{}</tbody></table>'
        '<p><strong>Filtres</strong> (en plus de ceux de Django : <code>default</code>, <code>upper</code>, '
        '<code>linebreaksbr</code>, <code>length</code>, <code>pluriel</code>, <code>pluralize</code>…)</p>'
        '<table><tbody>{}</tbody></table>'
        '<p class="help">Balises autorisées : <code>{{% if %}}</code>, <code>{{% for %}}</code> '
        '(<code>{{% empty %}}</code>, <code>{{{{ forloop.counter }}}}</code>), <code>{{% with %}}</code>, '
        '<code>{{% firstof %}}</code>, <code>{{% now %}}</code>, <code>{{% comment %}}</code>. Les données sont '
        'échappées : un nom contenant &lt;b&gt; s\'imprime tel quel.</p>',
        format_html_join("", "{}", ((row,) for row in rows)), filters)


@admin.register(DocumentTemplate)
class DocumentTemplateAdmin(admin.ModelAdmin):
    form = DocumentTemplateForm
    list_display = ("title", "region_label", "usage", "updated_at", "updated_by")
    list_filter = ("kind",)
    list_select_related = ("region", "updated_by")
    search_fields = ("title", "body")
    actions = ["customize_action"]
    empty_value_display = "—"
    save_on_top = True

    # --- Who may reach what ----------------------------------------------------------------------

    def get_queryset(self, request):
        user = request.user
        qs = super().get_queryset(request).filter(pk__in=DocumentTemplate.objects.visible_to(user).values("pk"))
        regional = DocumentTemplate.objects.filter(kind=OuterRef("kind"), region__isnull=False)
        if not user.is_superuser:
            regional = regional.filter(region_id=user.region_id)
        count = regional.order_by().values("kind").annotate(n=Count("pk")).values("n")[:1]
        return qs.annotate(regional_count=Coalesce(Subquery(count, output_field=IntegerField()), 0),
                           seen_by_superuser=Value(user.is_superuser, output_field=BooleanField()))

    def has_module_permission(self, request):
        return administers_templates(request.user)

    def has_view_permission(self, request, obj=None):
        if obj is None:
            return administers_templates(request.user)
        return DocumentTemplate.objects.visible_to(request.user).filter(pk=obj.pk).exists()

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return administers_templates(request.user)
        return can_change_template(request.user, obj)

    def has_add_permission(self, request):
        user = request.user
        return administers_templates(user) and (user.is_superuser or user.region_id is not None)

    def has_delete_permission(self, request, obj=None):
        # The defaults stay: superusers edit them, regions replace them with their own.
        if obj is None:
            return administers_templates(request.user)
        return not obj.is_default and can_change_template(request.user, obj)

    def _visible_or_404(self, request, object_id) -> DocumentTemplate:
        if not self.has_view_permission(request):
            raise PermissionDenied
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404("Ce modèle de document n'existe pas ou ne relève pas de votre région.")
        return obj

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._visible_or_404(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        self._visible_or_404(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self._visible_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)

    # --- What is shown ---------------------------------------------------------------------------

    def get_fieldsets(self, request, obj=None):
        superuser = request.user.is_superuser
        if obj is None:
            head = ["kind", "region", "title"] if superuser else ["kind", "title"]
        else:
            head = ["kind", "region_label", "title"]
        content = ["body", "placeholders_help"]
        if obj is not None and not self.has_change_permission(request, obj):
            content = ["body_source", "placeholders_help"]
        fieldsets = [(None, {"fields": head}), ("Contenu", {"fields": content})]
        if obj is not None:
            fieldsets.append(("Suivi", {"fields": ["updated_at", "updated_by"]}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        readonly = ["placeholders_help", "region_label", "body_source", "updated_at", "updated_by"]
        if obj is not None:
            readonly.append("kind")
        return readonly

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"user": request.user})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "region":
            kwargs["empty_label"] = "Modèle par défaut (toutes les régions)"
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="région", ordering="region__name")
    def region_label(self, obj):
        return obj.region.name if obj.region_id else "Modèle par défaut (toutes les régions)"

    @admin.display(description="usage")
    def usage(self, obj):
        if obj.region_id:
            return "Modèle de la région"
        count = getattr(obj, "regional_count", 0)
        if getattr(obj, "seen_by_superuser", False):
            return f"Personnalisé dans {count} région{'s' if count > 1 else ''}" if count else "Utilisé partout"
        return "Remplacé par le modèle de votre région" if count else "En vigueur dans votre région"

    @admin.display(description="contenu")
    def body_source(self, obj):
        return format_html('<pre class="guichet-pre guichet-pre--small">{}</pre>', obj.body)

    @admin.display(description="variables disponibles")
    def placeholders_help(self, obj):
        if obj is not None and obj.kind:
            return placeholders_table(obj.kind)
        kinds = format_html_join("", "<h4>{}</h4>{}", (
            (", ".join(str(DocumentKind(k).label) for k in group), placeholders_table(group[0]))
            for group in (
                [DocumentKind.LETTRE_ACCEPTATION, DocumentKind.LETTRE_REFUS, DocumentKind.LETTRE_SANS_SUITE,
                 DocumentKind.CONVENTION],
                [DocumentKind.AVENANT],
                [DocumentKind.PROCES_VERBAL])))
        return kinds

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        user = request.user
        context.update({
            "can_preview": obj is not None,
            "can_customize": bool(obj is not None and obj.is_default and user.region_id
                                  and self.has_add_permission(request)),
            "own_template": (DocumentTemplate.objects.filter(kind=obj.kind, region_id=user.region_id).first()
                             if obj is not None and obj.is_default and user.region_id else None),
        })
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        if not change and not request.user.is_superuser:
            obj.region_id = request.user.region_id
        super().save_model(request, obj, form, change)

    # --- Customize and preview -------------------------------------------------------------------

    def _customize(self, request, default: DocumentTemplate) -> DocumentTemplate:
        user = request.user
        if not default.is_default or not user.region_id or not self.has_add_permission(request):
            raise PermissionDenied
        return default.customize_for(user.region, user)

    @admin.action(description="Personnaliser pour ma région")
    def customize_action(self, request, queryset):
        user = request.user
        if not user.region_id:
            self.message_user(request, "Votre compte n'est rattaché à aucune région.", messages.WARNING)
            return None
        defaults = [t for t in queryset if t.is_default]
        if not defaults:
            self.message_user(request, "Sélectionnez un ou plusieurs modèles par défaut.", messages.WARNING)
            return None
        copies = [self._customize(request, t) for t in defaults]
        if len(copies) == 1:
            return HttpResponseRedirect(reverse("admin:documents_documenttemplate_change", args=[copies[0].pk]))
        self.message_user(request, f"{len(copies)} modèles de votre région sont prêts à être adaptés.",
                          messages.SUCCESS)
        return None

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("<path:object_id>/apercu.pdf", self.admin_site.admin_view(self.preview_view),
                 name=f"{prefix}_preview"),
            path("<path:object_id>/personnaliser/", self.admin_site.admin_view(self.customize_view),
                 name=f"{prefix}_customize"),
            *super().get_urls(),
        ]

    def customize_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        default = self._visible_or_404(request, object_id)
        copy = self._customize(request, default)
        self.message_user(request, f"Modèle « {copy.title} » de votre région : adaptez-le puis enregistrez.",
                          messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:documents_documenttemplate_change", args=[copy.pk]))

    def preview_view(self, request, object_id):
        """The template as PDF with sample data; POST: the body typed in the change form, not saved."""
        obj = self._visible_or_404(request, object_id)
        template = obj
        if request.method == "POST":
            if not self.has_change_permission(request, obj):
                raise PermissionDenied
            body = request.POST.get("body", "")
            try:
                validate_body(body, obj.kind)
            except ValidationError as exc:
                return TemplateResponse(request, "admin/documents/documenttemplate/preview_error.html", {
                    **self.admin_site.each_context(request), "opts": self.opts, "original": obj,
                    "title": f"Aperçu impossible : {obj.title}", "errors": exc.messages,
                }, status=400)
            template = DocumentTemplate(kind=obj.kind, region=obj.region, title=obj.title, body=body)
        region = obj.region or request.user.region
        context = sample_context(obj.kind)
        if region is not None:
            context["region"] = region.name
            if "signataire" in context:
                context["signataire"]["qualite"] = f"Directrice générale de l'Agence régionale de santé {region.name}"
        pdf = render_template_pdf(template, context, region=region)
        return HttpResponse(pdf, content_type="application/pdf",
                            headers={"Content-Disposition": f'inline; filename="apercu-{obj.kind}.pdf"'})
