"""Values of form fields: parsing what a person types, and the JSON stored in answers.

Numbers are typed the French way ("1 200,50 €", "12,5 %") and stored as decimal strings;
money is always ``Decimal`` with cents, never float.
"""

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from guichet.core.money import normalize

from .expressions import round_half_up

NUMBER_NOISE = re.compile(r"[\s\u00a0\u202f€%]")
PHONE_RE = re.compile(r"^(?:(?:\+|00)33|0)([1-9]\d{8})$")
INTL_PHONE_RE = re.compile(r"^(?:\+|00)([1-9]\d{6,14})$")
MAX_INTEGER_DIGITS = 15  # beyond, Decimal arithmetic (28 digits) could not keep cents exact


def parse_decimal(raw) -> Decimal | None:
    """Parse "1 200,50 €" or "1200.50"; None when empty; ValidationError when not a number."""
    if raw is None:
        return None
    if isinstance(raw, Decimal):
        return normalize(raw)
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return normalize(Decimal(str(raw)))
    text = NUMBER_NOISE.sub("", str(raw)).replace(",", ".")
    if text == "":
        return None
    if text.count(".") > 1 or not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", text):
        raise ValidationError("Saisissez un nombre, par exemple 1 250,50.", code="invalid")
    if len(text.lstrip("+-").partition(".")[0].lstrip("0")) > MAX_INTEGER_DIGITS:
        raise ValidationError(f"Saisissez un nombre, de {MAX_INTEGER_DIGITS} chiffres au plus avant la virgule.",
                              code="too_large")
    try:
        return normalize(Decimal(text))  # « -0 » is 0, shown « 0 », never « -0 »
    except InvalidOperation:
        raise ValidationError("Saisissez un nombre, par exemple 1 250,50.", code="invalid") from None


def to_decimal(value) -> Decimal:
    """A stored answer as a Decimal for computations: empty or invalid counts as 0."""
    try:
        parsed = parse_decimal(value)
    except ValidationError:
        return Decimal(0)
    return parsed if parsed is not None else Decimal(0)


def format_decimal(value: Decimal, places: int) -> str:
    return str(normalize(round_half_up(value, places)))


def normalize_phone(raw: str) -> str:
    text = re.sub(r"[\s.\-()\u00a0]", "", raw or "")
    if not text:
        return ""
    match = PHONE_RE.match(text)
    if match:
        digits = "0" + match.group(1)
        return " ".join(digits[i:i + 2] for i in range(0, 10, 2))
    match = INTL_PHONE_RE.match(text)
    if match:
        return "+" + match.group(1)
    raise ValidationError(
        "Saisissez un numéro de téléphone à 10 chiffres (par exemple 03 20 00 00 00) "
        "ou au format international (+33 3 20 00 00 00).", code="invalid")


def is_empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def format_for_display(field, value) -> str:
    """A stored value as a person reads it (summary pages, exports)."""
    from . import qvct

    if is_empty(value):
        return ""
    t = field.type
    if t in ("amount",) or (t == "computed" and field.opt("format") == "amount"):
        return format_money(to_decimal(value))
    if t == "percentage" or (t == "computed" and field.opt("format") == "percentage"):
        return f"{_fr_number(to_decimal(value))} %"
    if t in ("decimal", "integer", "computed"):
        return _fr_number(to_decimal(value))
    if t == "yesno":
        return "Oui" if value else "Non"
    if t == "checkbox":
        return "Oui" if value else "Non"
    if t == "date":
        try:
            return dt.date.fromisoformat(value).strftime("%d/%m/%Y")
        except (TypeError, ValueError):
            return str(value)
    if t == "multichoice":
        return ", ".join(value)
    if t == "qvct_theme":
        return ", ".join(qvct.label(code) for code in (value if isinstance(value, list) else [value]))
    if t == "file":
        return value.get("name", "") if isinstance(value, dict) else ""
    return str(value)


def _group_thousands(whole: str) -> str:
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return "\u202f".join(groups) or "0"


def _fr_number(value: Decimal) -> str:
    """French notation: narrow no-break space between thousands, comma before decimals."""
    sign = "-" if value < 0 else ""
    whole, _, frac = f"{abs(value):f}".partition(".")
    frac = frac.rstrip("0")
    return sign + _group_thousands(whole) + ("," + frac if frac else "")


def french_number(value) -> str:
    """A bound as a person reads it: 999999999999.99 → « 999 999 999 999,99 »."""
    return _fr_number(Decimal(str(value)))


def format_money(value: Decimal) -> str:
    """Euros with cents, French notation: "12 500,00 €"."""
    value = normalize(round_half_up(value, 2))
    sign = "-" if value < 0 else ""
    whole, _, cents = f"{abs(value):.2f}".partition(".")
    return f"{sign}{_group_thousands(whole)},{cents} €"
