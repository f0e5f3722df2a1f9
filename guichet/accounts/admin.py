"""Admin of the user accounts.

A platform superuser manages every account. An ARS administrator (role ``admin``, made staff
automatically) may use the admin site to manage the ARS staff of their own region only:
instructors and administrators of that region, never applicants, superusers, or anyone
elsewhere. The restrictions are enforced on the queryset (what is listed and reachable by id),
on the form (choices offered) and again when saving (what is written).
"""

from django.contrib import admin
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import forms as auth_forms
from django.core.exceptions import PermissionDenied

from guichet.accounts.models import Role, User
from guichet.accounts.permissions import can_manage_region, can_manage_user
from guichet.establishments.models import Region

ARS_ROLES = (Role.INSTRUCTOR, Role.ADMIN)
REGION_REQUIRED = "Une région est obligatoire pour un gestionnaire instructeur ou un administrateur ARS."


class RegionRequiredForArsRolesMixin:
    """An ARS role (instructor, administrator) needs a region."""

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("role") in ARS_ROLES and not cleaned.get("region"):
            self.add_error("region", REGION_REQUIRED)
        return cleaned


class UserCreationForm(RegionRequiredForArsRolesMixin, auth_forms.AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "role", "region")
        field_classes: dict = {}


class UserChangeForm(RegionRequiredForArsRolesMixin, auth_forms.UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes: dict = {}


def is_ars_admin_only(user) -> bool:
    """An ARS administrator who is not a platform superuser."""
    return bool(user.is_active and not user.is_superuser and user.role == Role.ADMIN and user.region_id)


@admin.register(User)
class UserAdmin(auth_admin.UserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    list_display = ("email", "role", "region", "is_active", "is_staff", "last_login")
    list_filter = ("role", ("region", admin.RelatedOnlyFieldListFilter), "is_active", "is_staff", "is_superuser")
    search_fields = ("email", "first_name", "last_name")
    ordering = ("email",)
    list_select_related = ("region",)
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Identité", {"fields": ("first_name", "last_name")}),
        ("Rôle", {"fields": ("role", "region")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates importantes", {"fields": ("last_login", "date_joined")}),
    )
    ars_fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Identité", {"fields": ("first_name", "last_name")}),
        ("Rôle", {"fields": ("role", "region", "is_active")}),
        ("Dates importantes", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {"classes": ("wide",), "fields": ("email", "role", "region", "usable_password", "password1", "password2")},
        ),
    )

    # --- What an ARS administrator may reach -------------------------------------------------

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        user = request.user
        if user.is_superuser:
            return qs
        if not is_ars_admin_only(user):
            return qs.none()
        return qs.filter(region_id=user.region_id, role__in=ARS_ROLES, is_superuser=False)

    def has_module_permission(self, request):
        return is_ars_admin_only(request.user) or super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        if is_ars_admin_only(request.user):
            return obj is None or can_manage_user(request.user, obj)
        return super().has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        if is_ars_admin_only(request.user):
            return obj is None or can_manage_user(request.user, obj)
        return super().has_change_permission(request, obj)

    def has_add_permission(self, request):
        return is_ars_admin_only(request.user) or super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        # ARS administrators deactivate accounts (is_active) rather than deleting them.
        if is_ars_admin_only(request.user):
            return False
        return super().has_delete_permission(request, obj)

    # --- What an ARS administrator is offered --------------------------------------------------

    def get_fieldsets(self, request, obj=None):
        if obj is not None and not request.user.is_superuser:
            return self.ars_fieldsets
        return super().get_fieldsets(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "region" and not request.user.is_superuser:
            kwargs["queryset"] = Region.objects.filter(pk=request.user.region_id)
            kwargs["initial"] = request.user.region_id
            kwargs["empty_label"] = None
            kwargs["required"] = True
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "role" and not request.user.is_superuser:
            kwargs["choices"] = [(role.value, role.label) for role in ARS_ROLES]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if not request.user.is_superuser:
            # Fields that could grant more than the ARS administrator has are never in the form.
            for name in ("is_superuser", "is_staff", "groups", "user_permissions"):
                form.base_fields.pop(name, None)
        return form

    # --- What is written -----------------------------------------------------------------------

    def save_model(self, request, obj, form, change):
        user = request.user
        if not user.is_superuser:
            if not is_ars_admin_only(user):
                raise PermissionDenied
            if obj.role not in ARS_ROLES or not can_manage_region(user, obj.region_id):
                raise PermissionDenied("Vous ne pouvez gérer que les agents ARS de votre région.")
            if change:
                stored = User.objects.get(pk=obj.pk)
                if not can_manage_user(user, stored):
                    raise PermissionDenied
            obj.is_superuser = False
        super().save_model(request, obj, form, change)
