"""The instructor's workspace: one function building the list of a call's dossiers for a tab, filters,
search and sort, with keyset pagination — used by the web view and (later) the API.

Tabs (every tab holds filed dossiers only — drafts are never indexed):

- ``a_traiter`` « À traiter »: en construction or en instruction, not archived, followed by nobody;
- ``suivis`` « Suivis par moi »: followed by the user, not archived;
- ``traites`` « Traités »: accepted, refused or closed (classé sans suite), not archived;
- ``tous`` « Tous »: every filed dossier not archived;
- ``archives`` « Archivés »: archived.

A page is one query on ``DossierIndex`` ordered along a composite index ``(call, archived, key, id)``
and cut with a keyset condition ``(key, id) > (value, id)`` — no OFFSET, so page 1 and page 200 cost
the same. The counts of the five tabs are one aggregate query.
"""

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db.models import Count, Exists, OuterRef, Q

from guichet.dossiers.models import Dossier, State
from guichet.messaging.models import AwaitedDocument

from .index import normalize
from .models import DossierGroup, DossierIndex, Label

PAGE_SIZE = 50
OPEN_STATES = (State.EN_CONSTRUCTION, State.EN_INSTRUCTION)
DECIDED_STATES = (State.ACCEPTE, State.REFUSE, State.SANS_SUITE)
TABS = [
    ("a_traiter", "À traiter"),
    ("suivis", "Suivis par moi"),
    ("traites", "Traités"),
    ("tous", "Tous"),
    ("archives", "Archivés"),
]
DEFAULT_TAB = "a_traiter"
# Public sort name → index column. A leading "-" means descending.
SORTS = {
    "numero": "number",
    "etablissement": "establishment_sort",
    "etat": "state",
    "depot": "filed_at",
    "montant": "amount",
}
DEFAULT_SORT = "depot"
MAX_SEARCH_WORDS = 8


@dataclass
class Filters:
    state: str = ""
    sector: str = ""
    department: str = ""
    legal_status: str = ""
    theme: str = ""
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    label: int | None = None
    group: int | None = None  # an instructor group's id; 0: no group
    filed_from: dt.datetime | None = None  # inclusive
    filed_to: dt.datetime | None = None  # exclusive
    q: str = ""
    awaited: bool | None = None  # True: at least one awaited document not received yet; False: none


def followed_by(user):
    return Exists(Dossier.followers.through.objects.filter(dossier_id=OuterRef("pk"), user_id=user.pk))


def tab_q(tab: str, user) -> Q:
    if tab == "a_traiter":
        return Q(state__in=OPEN_STATES, archived=False, followed=False)
    if tab == "suivis":
        return Q(followed_by(user), archived=False)
    if tab == "traites":
        return Q(state__in=DECIDED_STATES, archived=False)
    if tab == "archives":
        return Q(archived=True)
    return Q(archived=False)  # tous


def filter_q(filters: Filters) -> Q:
    q = Q()
    if filters.state:
        q &= Q(state=filters.state)
    if filters.sector:
        q &= Q(sector=filters.sector)
    if filters.department:
        q &= Q(department=filters.department)
    if filters.legal_status:
        q &= Q(legal_status=filters.legal_status)
    if filters.theme:
        q &= Q(themes__contains=f"|{filters.theme}|")
    if filters.amount_min is not None:
        q &= Q(amount__gte=filters.amount_min)
    if filters.amount_max is not None:
        q &= Q(amount__lte=filters.amount_max)
    if filters.label:
        q &= Q(Exists(Label.dossiers.through.objects.filter(dossier_id=OuterRef("pk"), label_id=filters.label)))
    if filters.group is not None:
        if filters.group:
            q &= Q(Exists(DossierGroup.objects.filter(dossier_id=OuterRef("pk"), group_id=filters.group)))
        else:
            q &= ~Q(Exists(DossierGroup.objects.filter(dossier_id=OuterRef("pk"))))
    if filters.filed_from:
        q &= Q(filed_at__gte=filters.filed_from)
    if filters.filed_to:
        q &= Q(filed_at__lt=filters.filed_to)
    if filters.awaited is not None:
        # A correlated EXISTS on (dossier, received_at): no index column to keep in step, no extra query.
        awaited = Exists(AwaitedDocument.objects.filter(dossier_id=OuterRef("pk"), received_at__isnull=True))
        q &= Q(awaited) if filters.awaited else ~Q(awaited)
    for word in normalize(filters.q).split(" ")[:MAX_SEARCH_WORDS]:
        if word:
            q &= Q(search_text__contains=word)
    return q


def base(call, filters: Filters | None = None):
    return DossierIndex.objects.filter(Q(call=call) & filter_q(filters or Filters()))


def tab_counts(call, user, filters: Filters | None = None) -> dict[str, int]:
    """The number of dossiers in each tab (with the filters and search applied), in one query."""
    aggregates = {tab: Count("pk", filter=tab_q(tab, user)) for tab, _ in TABS}
    return base(call, filters).aggregate(**aggregates)


def parse_sort(sort: str) -> tuple[str, bool]:
    """(public name, descending); unknown → the default."""
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    if name not in SORTS:
        return DEFAULT_SORT, False
    return name, descending


def queryset(call, user, tab: str = DEFAULT_TAB, filters: Filters | None = None, sort: str = DEFAULT_SORT):
    """The ordered queryset of one tab (no pagination): for the view, the API, exports."""
    name, descending = parse_sort(sort)
    column = SORTS[name]
    order = [f"-{column}", "-pk"] if descending else [column, "pk"]
    return base(call, filters).filter(tab_q(tab, user)).order_by(*order)


def neighbours(call, user, pk: int, tab: str = DEFAULT_TAB, filters: Filters | None = None,
               sort: str = DEFAULT_SORT) -> tuple[int | None, int | None]:
    """(previous, next) dossier ids around ``pk`` in the list of ``tab`` with ``filters`` and ``sort``: the
    instructor's « Dossier précédent / suivant ». Three queries whatever the list's length: the dossier's sort
    value, then one keyset step each way. A dossier that left the list (just decided) keeps its place in the order.
    """
    name, descending = parse_sort(sort)
    column = SORTS[name]
    found = DossierIndex.objects.filter(call=call, pk=pk).values_list(column, flat=True).first()
    if found is None:
        return None, None
    listed = base(call, filters).filter(tab_q(tab, user))
    after = Q(**{f"{column}__gt": found}) | Q(**{column: found, "pk__gt": pk})
    before = Q(**{f"{column}__lt": found}) | Q(**{column: found, "pk__lt": pk})
    ascending_order, descending_order = [column, "pk"], [f"-{column}", "-pk"]
    if descending:
        after, before = before, after
        ascending_order, descending_order = descending_order, ascending_order
    following = listed.filter(after).order_by(*ascending_order).values_list("pk", flat=True).first()
    previous = listed.filter(before).order_by(*descending_order).values_list("pk", flat=True).first()
    return previous, following


# --- keyset cursors ---------------------------------------------------------------------------------

def _dump(value):
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _load(column: str, raw):
    if column == "filed_at":
        return dt.datetime.fromisoformat(raw)
    if column == "amount":
        return Decimal(raw)
    if not isinstance(raw, str):
        raise ValueError
    return raw


def encode_cursor(sort: str, direction: str, value, pk: int) -> str:
    payload = json.dumps([sort, direction, _dump(value), pk], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str):
    """(direction, value, pk) or None if the cursor is invalid or made for another sort."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, direction, value, pk = json.loads(raw)
        if cursor_sort != sort or direction not in ("n", "p") or not isinstance(pk, int):
            return None
        name, _ = parse_sort(sort)
        return direction, _load(SORTS[name], value), pk
    except (ValueError, TypeError, binascii.Error, InvalidOperation, UnicodeDecodeError):
        return None


ROW_FIELDS = ("pk", "number", "establishment_name", "category", "department", "state", "filed_at", "amount",
              "label_ids", "sector", "establishment_sort")


@dataclass
class Page:
    rows: list[dict] = field(default_factory=list)
    next_cursor: str | None = None
    previous_cursor: str | None = None


def page(call, user, tab: str = DEFAULT_TAB, filters: Filters | None = None, sort: str = DEFAULT_SORT,
         cursor: str = "", size: int = PAGE_SIZE) -> Page:
    """One page of a tab: a single query, whatever its depth (keyset, never OFFSET)."""
    name, descending = parse_sort(sort)
    sort = f"-{name}" if descending else name
    column = SORTS[name]
    decoded = decode_cursor(cursor, sort)
    direction = decoded[0] if decoded else "n"
    # Walking backwards (« page précédente ») reverses the order, then the rows are put back.
    forward = (direction == "n") != descending  # True: ascending walk on (column, pk)
    qs = base(call, filters).filter(tab_q(tab, user))
    if decoded:
        _, value, pk = decoded
        if forward:
            qs = qs.filter(Q(**{f"{column}__gte": value}) & (Q(**{f"{column}__gt": value}) | Q(pk__gt=pk)))
        else:
            qs = qs.filter(Q(**{f"{column}__lte": value}) & (Q(**{f"{column}__lt": value}) | Q(pk__lt=pk)))
    order = [column, "pk"] if forward else [f"-{column}", "-pk"]
    rows = list(qs.order_by(*order).values(*ROW_FIELDS)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if direction == "p":
        rows.reverse()
    result = Page(rows=rows)
    if rows:
        first, last = rows[0], rows[-1]
        has_next = more if direction == "n" else True
        has_previous = bool(decoded) if direction == "n" else more
        if has_next:
            result.next_cursor = encode_cursor(sort, "n", last[column], last["pk"])
        if has_previous:
            result.previous_cursor = encode_cursor(sort, "p", first[column], first["pk"])
    return result

