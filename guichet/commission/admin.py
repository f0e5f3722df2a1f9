"""The scoring grid of a call, edited in the admin by the region's ARS."""

from django import forms
from django.contrib import admin

from guichet.instruction.admin import CallScopedAdmin

from .models import Criterion


class CriterionRowForm(forms.ModelForm):
    """A row of the criteria list: Django leaves its editable « ordre » without a label; it is named after
    its criterion, for a screen reader."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "order" in self.fields:
            self.fields["order"].widget.attrs["aria-label"] = f"Ordre du critère « {self.instance.label} »"


@admin.register(Criterion)
class CriterionAdmin(CallScopedAdmin):
    list_display = ("label", "call", "weight", "scale_max", "order")
    list_editable = ("order",)
    search_fields = ("label", "call__title")

    def get_changelist_form(self, request, **kwargs):
        return super().get_changelist_form(request, form=CriterionRowForm, **kwargs)
