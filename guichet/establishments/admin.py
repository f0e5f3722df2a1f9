"""Admin of the establishment directory: regions (read-only), legal entities, establishments."""

from django.contrib import admin

from .models import Establishment, EstablishmentAccess, LegalEntity, Region


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
    extra = 0
    raw_id_fields = ("user",)
    readonly_fields = ("created_at",)


@admin.register(Establishment)
class EstablishmentAdmin(admin.ModelAdmin):
    list_display = ("finess", "name", "legal_entity", "sector", "legal_status", "department", "region", "source")
    list_filter = ("sector", "legal_status", "source", "region")
    search_fields = ("finess", "name", "siret", "city", "legal_entity__finess", "legal_entity__name")
    autocomplete_fields = ("legal_entity",)
    list_select_related = ("legal_entity", "region")
    readonly_fields = ("updated_at",)
    inlines = [AccessInline]
