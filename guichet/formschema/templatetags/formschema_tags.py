"""Template helpers of the form engine."""

import json

from django import template
from django.utils.html import escape

from guichet.formschema.values import format_for_display

register = template.Library()


@register.simple_tag
def display_value(field, value):
    return format_for_display(field, value) or "—"


@register.filter
def json_attr(value):
    """JSON for a single-quoted HTML attribute."""
    return escape(json.dumps(value))


@register.filter
def dictget(mapping, key):
    return (mapping or {}).get(key)
