"""Read-only admin of the audit trail.

A platform superuser sees every record; ARS staff (instructors and administrators) see the records
of the dossiers of their region. Nobody adds, changes or deletes a record here (nor anywhere).
"""

from django.contrib import admin

from .models import AuditRecord


def _is_regional_staff(user) -> bool:
    return bool(user.is_authenticated and user.is_active and not user.is_superuser
                and getattr(user, "is_ars_staff", False) and user.region_id)


def _may_read(user) -> bool:
    return bool(user.is_authenticated and user.is_active and (user.is_superuser or _is_regional_staff(user)))


@admin.register(AuditRecord)
class AuditRecordAdmin(admin.ModelAdmin):
    list_display = ("seq", "at", "actor_email", "action", "dossier_number", "object_type", "object_id", "ip")
    list_filter = ("action",)
    search_fields = ("actor_email", "dossier_number", "action", "ip")
    date_hierarchy = "at"
    ordering = ("-seq",)
    show_full_result_count = False
    fields = ("seq", "at", "actor_email", "actor_ref", "action", "dossier_number", "dossier_id", "region_id",
              "object_type", "object_id", "details", "ip", "user_agent", "prev_hash", "hash", "hash_version", "key_id")
    readonly_fields = fields

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        if _is_regional_staff(request.user):
            return queryset.filter(region_id=request.user.region_id)
        return queryset.none()

    def has_module_permission(self, request):
        return _may_read(request.user)

    def has_view_permission(self, request, obj=None):
        if not _may_read(request.user):
            return False
        return obj is None or request.user.is_superuser or obj.region_id == request.user.region_id

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
