"""Admin of the establishment directory: regions (read-only), legal entities, establishments with their
confirmed members, and the claims (read-only: they are decided on the site, through ``claims``)."""

from django.contrib import admin

from . import claims
from .models import Establishment, EstablishmentAccess, GrantedVia, LegalEntity, MembershipRequest, Region


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "slug")
    search_fields = ("code", "name")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EstablishmentInline(admin.TabularInline):
    model = Establishment
    fields = ("finess", "name", "siret", "department")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(LegalEntity)
class LegalEntityAdmin(admin.ModelAdmin):
    list_display = ("finess", "name", "siren", "legal_status", "source", "updated_at")
    list_filter = ("legal_status", "source")
    search_fields = ("finess", "name", "siren")
    readonly_fields = ("updated_at",)
    inlines = [EstablishmentInline]


class AccessInline(admin.TabularInline):
    model = EstablishmentAccess
    fk_name = "establishment"
    extra = 0
    fields = ("user", "role", "granted_via", "granted_by", "created_at")
    raw_id_fields = ("user",)
    readonly_fields = ("granted_via", "granted_by", "created_at")


@admin.register(Establishment)
class EstablishmentAdmin(admin.ModelAdmin):
    list_display = ("finess", "name", "legal_entity", "sector", "legal_status", "department", "region", "source")
    list_filter = ("sector", "legal_status", "source", "region")
    search_fields = ("finess", "name", "siret", "city", "legal_entity__finess", "legal_entity__name")
    autocomplete_fields = ("legal_entity",)
    list_select_related = ("legal_entity", "region")
    readonly_fields = ("updated_at",)
    inlines = [AccessInline]

    def save_formset(self, request, form, formset, change):
        """Memberships changed here are recorded and told like those decided on the site (``claims``)."""
        if formset.model is not EstablishmentAccess:
            return super().save_formset(request, form, formset, change)
        instances = formset.save(commit=False)
        for access in formset.deleted_objects:
            claims.admin_deleted(request.user, access, request=request)
            access.delete()
        for access in instances:
            created = access.pk is None
            if created:
                access.granted_by, access.granted_via = request.user, GrantedVia.ADMIN
            access.save()
            claims.admin_saved(request.user, access, created, request=request)
        formset.save_m2m()


@admin.register(MembershipRequest)
class MembershipRequestAdmin(admin.ModelAdmin):
    """Read-only: a claim is decided by the referents or the region's ARS on the site, where the decision is
    checked, audited and e-mailed (``guichet.establishments.claims``)."""

    list_display = ("establishment", "user", "status", "created_at", "decided_by", "decided_at")
    list_filter = ("status", "establishment__region")
    search_fields = ("establishment__finess", "establishment__name", "user__email")
    list_select_related = ("establishment", "user", "decided_by")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
