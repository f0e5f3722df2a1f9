"""Admin of API tokens: list, rename, revoke. No secret is ever shown (only its prefix).

Tokens are issued with ``manage.py create_api_token``, the only place where the clear token is
printed, so the admin cannot add one. An ARS administrator sees the tokens of their region's staff.
"""

from django.contrib import admin, messages
from django.utils import timezone

from guichet.api.models import ApiToken
from guichet.core import text


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "name", "user", "scope", "expires_at", "last_used_at", "revoked_at", "is_active")
    list_filter = ("scope",)
    search_fields = ("prefix", "name", "user__email")
    list_select_related = ("user",)
    fields = ("name", "user", "prefix", "scope", "expires_at", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("user", "prefix", "scope", "expires_at", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    @admin.display(boolean=True, description="actif")
    def is_active(self, obj):
        return obj.is_usable()

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        if request.user.is_ars_admin:
            return queryset.filter(user__region_id=request.user.region_id)
        return queryset.none()

    def has_add_permission(self, request):
        return False

    @admin.action(description="Révoquer les jetons sélectionnés")
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{text.count(count, 'jeton révoqué')}.", messages.SUCCESS)
