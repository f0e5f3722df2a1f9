"""The scoring grid of a call, edited in the admin by the region's ARS."""

from django.contrib import admin

from guichet.instruction.admin import CallScopedAdmin

from .models import Criterion


@admin.register(Criterion)
class CriterionAdmin(CallScopedAdmin):
    list_display = ("label", "call", "weight", "scale_max", "order")
    list_editable = ("order",)
    search_fields = ("label", "call__title")
