"""Template filters reading days and deadlines as ``calls.deadlines`` does (Paris time, days included).

``{% load deadlines %}`` then ``{{ some_date|notice_day }}`` (« 1er juin 2024 ») or
``{{ closing_instant|deadline }}`` (« jusqu'au 31 juillet 2024 inclus (heure de Paris) »).
"""

import datetime as dt

from django import template

from guichet.calls import deadlines as rule

register = template.Library()


@register.filter
def notice_day(value):
    """A date as the notices write it; a date-time gives its Paris day."""
    if not value:
        return ""
    if isinstance(value, dt.datetime):
        value = rule.paris_day(value)
    return rule.day_text(value)


@register.filter
def deadline(value):
    """A closing instant (excluded) as a person reads it."""
    return str(rule.Deadline(value)) if value else ""
