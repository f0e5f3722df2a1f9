"""Money as people read and type it: amounts are ``Decimal`` euros with cents, written the French way.

``parse_euros`` is the one reading of a typed amount with its bounds: at most ``MAX_AMOUNT`` (what the
database's money columns hold, 14 digits with 2 decimals), not below ``minimum`` (0 unless said otherwise),
two decimals at most. A zero is always written « 0,00 », never « -0,00 »: « -0 » is read as 0 (``normalize``).
"""

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")  # models' money columns: max_digits=14, decimal_places=2
NOISE = re.compile(r"[\s\u00a0\u202f€]")
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
EXAMPLE = "Saisissez un montant en euros, par exemple 1 250,50."


def normalize(value: Decimal) -> Decimal:
    """``value`` without a negative zero (« -0 », « -0,00 », or a tiny negative rounded to the cent)."""
    return abs(value) if value == 0 else value


def euros(value) -> str:
    """1234567.5 → « 1 234 567,50 € » (narrow no-break spaces); None → ""."""
    if value is None:
        return ""
    amount = normalize(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP))
    text = f"{amount:,.2f}".replace(",", "\u202f").replace(".", ",")
    return f"{text}\u00a0€"


def for_input(value) -> str:
    """An amount as a money input shows it, grouped like every displayed amount but without the sign:
    Decimal("24000") → « 24 000,00 » (narrow no-break spaces, which ``parse_euros`` reads back); None → ""."""
    if value is None or value == "":
        return ""
    return euros(value).removesuffix("\u00a0€")


def parse_euros(raw, *, minimum: Decimal | None = Decimal(0), maximum: Decimal = MAX_AMOUNT) -> Decimal | None:
    """« 1 200,50 € », « 1200.50 » → Decimal("1200.50"); "" → None; anything else, or an amount outside
    [minimum, maximum] or with fractions of a cent, is a ValidationError whose message says why, in French."""
    if raw is None:
        return None
    if isinstance(raw, Decimal):
        number = raw
    else:
        text = NOISE.sub("", str(raw)).replace(",", ".")
        if not text:
            return None
        if len(text) > 40 or not NUMBER.fullmatch(text):
            raise ValidationError(EXAMPLE, code="invalid")
        try:
            number = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only what Decimal reads
            raise ValidationError(EXAMPLE, code="invalid") from None
    if not number.is_finite():
        raise ValidationError(EXAMPLE, code="invalid")
    number = normalize(number)
    if number > maximum:
        raise ValidationError(f"Le montant ne peut pas dépasser {euros(maximum)} (la plus grande somme que la "
                              "plateforme enregistre) : vérifiez-le.", code="max_value")
    if minimum is not None and number < minimum:
        raise ValidationError("Le montant ne peut pas être négatif." if minimum == 0 else
                              f"Le montant doit être d'au moins {euros(minimum)}.", code="min_value")
    if number != number.quantize(CENT):
        raise ValidationError("Le montant s'écrit en euros et centimes, deux décimales au plus.",
                              code="max_decimal_places")
    return number


def percent(rate: Decimal) -> str:
    """Decimal("50.00") → « 50 % »; Decimal("33.5") → « 33,5 % »."""
    text = f"{normalize(Decimal(rate)).normalize():f}".replace(".", ",")
    return f"{text}\u00a0%"
