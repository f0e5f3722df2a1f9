"""Keyset pagination and money for the API's lists (one way for every router)."""

from decimal import Decimal

from ninja.errors import HttpError

from guichet.core.ids import parse_id

BAD_CURSOR = "Curseur de pagination invalide."
CENTS = Decimal("0.00")


def page(queryset, cursor: str | None, limit: int):
    """Keyset pagination on the id: ``(rows, next_cursor)``; a cursor that is not an id is a 400."""
    if cursor:
        # 19 digits may still exceed a bigint (and SQLite raises OverflowError on it): compare the value.
        last = parse_id(cursor)
        if last is None:
            raise HttpError(400, BAD_CURSOR)
        queryset = queryset.filter(id__gt=last)
    rows = list(queryset.order_by("id")[: limit + 1])
    return rows[:limit], (str(rows[limit - 1].id) if len(rows) > limit else None)


def money(value) -> str:
    """A decimal string with cents (« 0.00 » for nothing)."""
    return str((value if value is not None else CENTS).quantize(CENTS))
