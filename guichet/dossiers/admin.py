"""Dossiers in the admin: read-only, scoped like every page (``Dossier.objects.visible_to``), with the
instruction events that need no message as admin actions — applied through the same batch function,
hence the same guarded transitions, as the workspace and the API."""

from django.contrib import admin, messages

from guichet.core.text import count
from guichet.dossiers import workflow

from .models import Dossier

SIMPLE_EVENTS = [t for t in workflow.TRANSITIONS.values()
                 if t.actor == workflow.INSTRUCTOR and not t.motivation_required]


def _make_action(transition):
    def action(modeladmin, request, queryset):
        from guichet.instruction import batch

        result = batch.run(list(queryset.values_list("pk", flat=True)[: batch.MAX_DOSSIERS + 1]),
                           transition.event, request.user)
        modeladmin.message_user(request, f"« {transition.label} » : {count(len(result.done), 'dossier traité')}.",
                                messages.SUCCESS)
        for dossier, reason in result.skipped:
            modeladmin.message_user(request, f"Dossier {dossier} non traité : {reason}", messages.WARNING)

    action.__name__ = f"event_{transition.event}"
    action.short_description = f"{transition.label} (dossiers sélectionnés)"
    return action


@admin.register(Dossier)
class DossierAdmin(admin.ModelAdmin):
    list_display = ("__str__", "call", "establishment", "state", "archived", "first_filed_at")
    list_filter = ("state", "archived")
    search_fields = ("number", "establishment__finess", "establishment__name")
    list_select_related = ("call", "establishment")
    actions = [_make_action(t) for t in SIMPLE_EVENTS]

    def get_queryset(self, request):
        return Dossier.objects.visible_to(request.user).select_related("call", "establishment")

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_ars_staff

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None):
        return False  # answers and states change only through the dossier pages and the state machine

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions
