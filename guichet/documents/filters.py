"""French formatting filters of the document templates: ``euros``, ``date_fr``, ``pourcent``, ``nombre``,
``sans_article``.

Built into the documents' own template engine (``render.ENGINE``): templates use them without
``{% load %}``, which they may not use anyway. Also plain functions, usable from Python.
"""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django import template

from guichet.core.templatetags.french import pluriel

register = template.Library()
register.filter("pluriel", pluriel)  # « 0 action », « 2 actions »: the site's French plural, in documents too

PARIS = ZoneInfo("Europe/Paris")
NNBSP = "\u202f"  # narrow no-break space: thousands separator, and before € and %
EMPTY = "—"
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value).replace(NNBSP, "").replace("\xa0", "").replace(" ", "").replace(",", "."))
    except InvalidOperation:
        return None


def _group(digits: str) -> str:
    groups = []
    while len(digits) > 3:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    groups.insert(0, digits)
    return NNBSP.join(groups)


def format_number(value: Decimal, places: int | None) -> str:
    """``value`` the French way: thousands grouped by narrow no-break spaces, decimal comma.

    ``places`` None keeps the significant decimals only (50.00 → 50, 12.50 → 12,5).
    """
    if places is None:
        value = value.normalize()
        if value == value.to_integral_value():
            value = value.quantize(Decimal(1))
        text = format(value, "f")
    else:
        text = format(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP), "f")
    sign = "-" if text.startswith("-") else ""
    whole, _, fraction = text.lstrip("-").partition(".")
    return sign + _group(whole) + ("," + fraction if fraction else "")


@register.filter
def euros(value, places=2) -> str:
    """12345.67 → « 12 345,67 € » (narrow no-break spaces); ``|euros:0`` rounds to the euro; None → « — »."""
    number = _decimal(value)
    if number is None:
        return EMPTY
    try:
        places = int(places)
    except (TypeError, ValueError):
        places = 2
    return f"{format_number(number, max(0, min(places, 6)))}{NNBSP}€"


@register.filter
def date_fr(value) -> str:
    """A date or datetime as « 22 novembre 2026 » (« 1er » for the first day), in Paris time; None → « — »."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(PARIS)
        value = value.date()
    if not isinstance(value, dt.date):
        return str(value)
    day = "1er" if value.day == 1 else str(value.day)
    return f"{day} {MONTHS[value.month - 1]} {value.year}"


@register.filter
def pourcent(value) -> str:
    """A percentage: 50 → « 50 % », Decimal("12.50") → « 12,5 % »; None → « — »."""
    number = _decimal(value)
    if number is None:
        return EMPTY
    return f"{format_number(number, None)}{NNBSP}%"


@register.filter
def nombre(value, places=None) -> str:
    """A number the French way: 16.50 → « 16,5 », 12345 → « 12 345 »; ``|nombre:2`` keeps 2 decimals; None → « — »."""
    number = _decimal(value)
    if number is None:
        return EMPTY
    try:
        places = None if places is None else max(0, min(int(places), 6))
    except (TypeError, ValueError):
        places = None
    return format_number(number, places)


ARTICLES = ("le ", "la ", "les ", "l'", "l’")


@register.filter
def sans_article(value) -> str:
    """A title without its leading article, to follow a name: « La directrice générale de l'ARS » →
    « directrice générale de l'ARS » (« Claire Dupont, directrice générale de l'ARS »)."""
    text = str(value or "").strip()
    for article in ARTICLES:
        if text.lower().startswith(article):
            return text[len(article):].lstrip()
    return text
