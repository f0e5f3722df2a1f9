"""Keyset pagination and money for the API's lists (one way for every router)."""

from decimal import Decimal

from ninja import Query
from ninja.errors import HttpError

from guichet.core.ids import parse_id

BAD_CURSOR = "Curseur de pagination invalide."
CENTS = Decimal("0.00")
CURSOR_DESCRIPTION = (
    "Curseur de pagination : la valeur de `next_cursor` de la page précédente, telle quelle (aujourd'hui l'identifiant "
    "du dernier élément vu, en chiffres). Absent pour la première page ; un curseur que le serveur n'a pas donné "
    "est refusé (400).")


def cursor_param():
    """The ``cursor`` query parameter of a paginated list, documented."""
    return Query(None, description=CURSOR_DESCRIPTION, examples=["1234"])


def page(queryset, cursor: str | None, limit: int):
    """Keyset pagination on the id: ``(rows, next_cursor)``; a cursor that is not an id is a 400."""
    if cursor:
        # ASCII digits within a database integer (str.isdigit takes « ² »; SQLite overflows beyond a bigint).
        last = parse_id(cursor)
        if last is None:
            raise HttpError(400, BAD_CURSOR)
        queryset = queryset.filter(id__gt=last)
    rows = list(queryset.order_by("id")[: limit + 1])
    return rows[:limit], (str(rows[limit - 1].id) if len(rows) > limit else None)


def money(value) -> str:
    """A decimal string with cents (« 0.00 » for nothing)."""
    return str((value if value is not None else CENTS).quantize(CENTS))
