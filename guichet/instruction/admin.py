"""Admin of the instruction app: labels per call, managed by the region's ARS."""

from django.contrib import admin

from guichet.calls.models import Call

from .models import Label


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ("name", "call", "colour")
    list_filter = ("colour",)
    search_fields = ("name", "call__title")
    filter_horizontal = ()
    exclude = ("dossiers",)

    def _calls(self, request):
        return Call.objects.instructed_by(request.user)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(call__in=self._calls(request))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "call":
            kwargs["queryset"] = self._calls(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _allowed(self, request, obj=None):
        user = request.user
        return user.is_active and user.is_ars_staff and (obj is None or self._calls(request).filter(
            pk=obj.call_id).exists())

    def has_module_permission(self, request):
        return self._allowed(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request, obj)

    def has_add_permission(self, request):
        return self._allowed(request)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request, obj)
