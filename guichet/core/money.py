"""Money as people read it: amounts are ``Decimal`` euros with cents, written the French way."""

from decimal import Decimal


def euros(value) -> str:
    """1234567.5 → « 1 234 567,50 € » (narrow no-break spaces); None → ""."""
    if value is None:
        return ""
    text = f"{Decimal(value):,.2f}".replace(",", "\u202f").replace(".", ",")
    return f"{text}\u00a0€"


def percent(rate: Decimal) -> str:
    """Decimal("50.00") → « 50 % »; Decimal("33.5") → « 33,5 % »."""
    text = f"{Decimal(rate).normalize():f}".replace(".", ",")
    return f"{text}\u00a0%"
