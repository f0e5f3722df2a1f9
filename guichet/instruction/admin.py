"""Admin of the instruction app: labels and instructor groups per call, managed by the region's ARS."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from guichet.accounts.models import Role, User
from guichet.calls.models import Call

from .groups import normalize_department
from .models import InstructorGroup, Label


class CallScopedAdmin(admin.ModelAdmin):
    """Admin of objects that belong to a call (field ``call``): ARS staff reach those of their region's calls."""

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


@admin.register(Label)
class LabelAdmin(CallScopedAdmin):
    list_display = ("name", "call", "colour")
    list_filter = ("colour",)
    search_fields = ("name", "call__title")
    exclude = ("dossiers",)


class InstructorGroupForm(forms.ModelForm):
    departments = forms.CharField(
        label="Départements", required=False, max_length=1000,
        help_text="Codes séparés par des virgules (ex. 57, 54, 2A) : les dossiers déposés par un établissement "
                  "de ces départements sont confiés à ce groupe.")

    class Meta:
        model = InstructorGroup
        fields = ["call", "name", "members", "departments", "is_default"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["departments"] = ", ".join(self.instance.departments or [])

    def clean_departments(self):
        raw = self.cleaned_data.get("departments") or ""
        codes = []
        for part in raw.replace(";", ",").replace(" ", ",").split(","):
            code = normalize_department(part)
            if not code:
                continue
            if not (code.isdigit() or code in ("2A", "2B")) or len(code) > 3:
                raise ValidationError(f"« {part.strip()} » n'est pas un code de département.")
            if code not in codes:
                codes.append(code)
        return codes

    def clean(self):
        data = super().clean()
        call, members, codes = data.get("call"), data.get("members"), data.get("departments") or []
        if call is None:
            return data
        if members is not None:
            strangers = [m.email for m in members if m.region_id != call.region_id
                         or m.role not in (Role.INSTRUCTOR, Role.ADMIN)]
            if strangers:
                self.add_error("members", "Ces personnes ne sont pas de l'ARS de la région de l'appel : "
                               + ", ".join(strangers) + ".")
        others = InstructorGroup.objects.filter(call=call).exclude(pk=self.instance.pk)
        taken = sorted({c for g in others for c in g.departments or [] if c in codes})
        if taken:
            self.add_error("departments", "Déjà confiés à un autre groupe de cet appel : " + ", ".join(taken) + ".")
        if data.get("is_default") and others.filter(is_default=True).exists():
            self.add_error("is_default", "Cet appel a déjà un groupe par défaut.")
        return data


@admin.register(InstructorGroup)
class InstructorGroupAdmin(LabelAdmin):
    form = InstructorGroupForm
    list_display = ("name", "call", "department_list", "is_default", "member_count")
    list_filter = ("is_default",)
    search_fields = ("name", "call__title", "members__email")
    filter_horizontal = ("members",)
    exclude = ()

    @admin.display(description="départements")
    def department_list(self, obj):
        return ", ".join(obj.departments or []) or "—"

    @admin.display(description="membres")
    def member_count(self, obj):
        return obj.members.count()

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "members":
            staff = User.objects.filter(role__in=(Role.INSTRUCTOR, Role.ADMIN), is_active=True)
            if not request.user.is_superuser:
                staff = staff.filter(region_id=request.user.region_id)
            kwargs["queryset"] = staff.order_by("email")
        return super().formfield_for_manytomany(db_field, request, **kwargs)
