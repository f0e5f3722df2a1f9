"""Admin of calls: the ARS administrator's call management.

Who may do what (by role, not by Django model permissions, as in ``guichet.accounts.admin``):

- a platform superuser sees and edits every call and template;
- an ARS administrator (role ``admin`` with a region) sees the calls of their region and every
  template; edits, creates and deletes only non-template calls of their region (templates are
  read-only for them, to be copied); can only choose their own region;
- anyone else, instructors included, has no access to calls here.

The restrictions are enforced on the queryset (what is listed and reachable by id), on the form
(choices offered) and again when saving.

Extra pages (``admin_views``): ``<id>/apercu/`` previews a call's form with the real form engine,
``<id>/copier/`` copies a call or template into a new call.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join

from guichet.accounts.models import Role
from guichet.accounts.permissions import can_manage_region
from guichet.establishments.models import Region

from . import admin_views
from .forms import CallAdminForm, schema_text
from .models import Call
from .templates_loader import _save_form


def is_ars_admin_only(user) -> bool:
    """An active ARS administrator of a region who is not a platform superuser."""
    return bool(user.is_authenticated and user.is_active and not user.is_superuser
                and user.role == Role.ADMIN and user.region_id)


def administers_calls(user) -> bool:
    return bool(user.is_authenticated and user.is_active and (user.is_superuser or is_ars_admin_only(user)))


def can_view_call(user, call) -> bool:
    if not administers_calls(user):
        return False
    return user.is_superuser or call.is_template or call.region_id == user.region_id


def can_change_call(user, call) -> bool:
    if not administers_calls(user):
        return False
    return user.is_superuser or (not call.is_template and can_manage_region(user, call.region_id))


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    form = CallAdminForm
    change_form_template = "admin/calls/call/change_form.html"
    list_display = ("title", "region", "year", "kind", "opens_at", "deadline_text", "published", "is_template")
    list_filter = ("is_template", "published", "kind", "year", ("region", admin.RelatedOnlyFieldListFilter))
    search_fields = ("title", "slug")
    list_select_related = ("region",)
    prepopulated_fields = {"slug": ("title",)}
    actions = ["copy_call_action"]
    empty_value_display = "—"
    save_on_top = True
    fieldsets = (
        (None, {"fields": ("title", "slug", "region", "year", "kind", "published", "is_template")}),
        ("Calendrier (heure de Paris)", {"fields": ("opens_at", "closes_at")}),
        ("Règles", {"fields": ("eligible_kinds", "envelope", "cofinancing_rate", "contact_email")}),
        ("Notice", {"fields": ("notice",)}),
        ("Pièces demandées et versements", {"fields": ("required_documents", "payment_windows", "covered_years")}),
        ("Formulaire", {"fields": ("form_schema", "form_versions")}),
    )
    readonly_fields = ("form_versions", "current_form_text", "deadline_text")

    # --- Who may reach what ----------------------------------------------------------------------

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        user = request.user
        if user.is_superuser:
            return qs
        if not is_ars_admin_only(user):
            return qs.none()
        return qs.filter(Q(region_id=user.region_id) | Q(is_template=True))

    def has_module_permission(self, request):
        return administers_calls(request.user)

    def has_view_permission(self, request, obj=None):
        return administers_calls(request.user) if obj is None else can_view_call(request.user, obj)

    def has_change_permission(self, request, obj=None):
        return administers_calls(request.user) if obj is None else can_change_call(request.user, obj)

    def has_add_permission(self, request):
        return administers_calls(request.user)

    def has_delete_permission(self, request, obj=None):
        return administers_calls(request.user) if obj is None else can_change_call(request.user, obj)

    # --- What is offered -------------------------------------------------------------------------

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None and not self.has_change_permission(request, obj):
            # Read-only page (a template for an ARS administrator): the schema as text, not a form field,
            # and the deadline as it reads (the stored instant of a day deadline is the next midnight).
            fieldsets[-1] = ("Formulaire", {"fields": ("current_form_text", "form_versions")})
            fieldsets[1] = ("Calendrier (heure de Paris)", {"fields": ("opens_at", "deadline_text")})
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly.append("is_template")
        return readonly

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "region" and not request.user.is_superuser:
            kwargs["queryset"] = Region.objects.filter(pk=request.user.region_id)
            kwargs["initial"] = request.user.region_id
            kwargs["empty_label"] = None
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context.update({
            "can_copy_call": obj is not None and self.has_add_permission(request),
            "can_preview_call": obj is not None and self.has_view_permission(request, obj),
        })
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    # --- Read-only displays ------------------------------------------------------------------------

    @admin.display(description="date limite de dépôt", ordering="closes_at")
    def deadline_text(self, obj):
        return obj.deadline.until_paris

    @admin.display(description="Formulaire (version en vigueur)")
    def current_form_text(self, obj):
        current = obj.current_form if obj and obj.pk else None
        if current is None:
            return "Aucun formulaire."
        return format_html('<pre class="guichet-pre">{}</pre>',
                           schema_text(current.schema))

    @admin.display(description="Versions du formulaire")
    def form_versions(self, obj):
        if obj is None or not obj.pk:
            return "La version 1 sera créée à l'enregistrement."
        versions = (obj.form_versions.filter(kind="form").select_related("created_by")
                    .annotate(dossier_count=Count("dossiers"))
                    .order_by("-number"))
        if not versions:
            return "Aucune version."
        preview = reverse("admin:calls_call_preview", args=[obj.pk])
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><a href=\"{}?version={}\" "
                "target=\"_blank\">Prévisualiser la version {}</a></td></tr>",
            ((v.number, formats.date_format(timezone.localtime(v.created_at), "DATETIME_FORMAT"),
              v.created_by or "—", v.dossier_count, preview, v.number, v.number) for v in versions),
        )
        return format_html(
            '<table><thead><tr><th scope="col">Version</th><th scope="col">Enregistrée le</th>'
            '<th scope="col">Par</th><th scope="col">Dossiers</th><th scope="col">Aperçu</th></tr></thead>'
            "<tbody>{}</tbody></table>", rows)

    # --- What is written ---------------------------------------------------------------------------

    def save_model(self, request, obj, form, change):
        user = request.user
        if not user.is_superuser:
            if not is_ars_admin_only(user) or obj.is_template or not can_manage_region(user, obj.region_id):
                raise PermissionDenied("Vous ne pouvez gérer que les appels à projets de votre région.")
            if change:
                stored = Call.objects.get(pk=obj.pk)
                if not can_change_call(user, stored):
                    raise PermissionDenied("Vous ne pouvez gérer que les appels à projets de votre région.")
        super().save_model(request, obj, form, change)
        schema = form.cleaned_data.get("form_schema")
        if schema is not None:
            version, created = _save_form(obj, schema, user)
            if created and change:
                messages.info(request, f"Nouvelle version {version.number} du formulaire enregistrée. "
                                       "Les dossiers déjà commencés gardent leur version.")
            elif change:
                messages.info(request, f"Formulaire inchangé (version {version.number}).")

    # --- Copy and preview --------------------------------------------------------------------------

    @admin.action(description="Copier dans un nouvel appel")
    def copy_call_action(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Sélectionnez un seul appel ou modèle à copier.", messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:calls_call_copy", args=[queryset.get().pk]))

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("<path:object_id>/apercu/", self.admin_site.admin_view(self.preview_view), name=f"{prefix}_preview"),
            path("<path:object_id>/copier/", self.admin_site.admin_view(self.copy_view), name=f"{prefix}_copy"),
            *super().get_urls(),
        ]

    def preview_view(self, request, object_id):
        return admin_views.preview(self, request, object_id)

    def copy_view(self, request, object_id):
        return admin_views.copy(self, request, object_id)
