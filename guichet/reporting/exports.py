"""The workspace's current list (tab, filters, search, sort) as a table of one row per dossier, for CSV and XLSX.

The dossiers are exactly those ``guichet.instruction.workspace.queryset`` lists; they are read by batches of
``BATCH`` (a fixed number of queries per batch, whatever the list's length) so that memory stays bounded. The
form's columns are the union of the fields of every version of the call's form, in the latest version's order
(older versions' fields no longer asked come after). Repeatable blocks go to their own table, one row per
row, keyed by the dossier's number and the row's number. Values are typed here (Decimal, date, text); how
each format writes them safely is ``guichet.core.spreadsheets``'s business.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone

from guichet.calls.models import FormKind, FormVersion
from guichet.core.spreadsheets import DATE, DATE_TIME, EUROS, TEXT
from guichet.dossiers.models import Dossier, State
from guichet.establishments.models import LegalStatus, Sector
from guichet.formschema.values import format_for_display, parse_decimal
from guichet.instruction import workspace

BATCH = 500
PERCENT = '0.00" %"'
NUMBER = "0.##"
IDENTIFIER = "identifier"  # FINESS, SIRET: text whose leading zeros matter


@dataclass(frozen=True)
class Column:
    header: str
    number_format: str | None = None  # a spreadsheet format, TEXT, or IDENTIFIER
    part: str = ""  # the form's part (section) the field belongs to; "" for the dossier's own columns


@dataclass
class Table:
    columns: list[Column]
    rows: object  # an iterator of lists of values, one per column
    title: str = ""


@dataclass
class Export:
    main: Table
    repeats: list[Table] = field(default_factory=list)  # one per repeatable block


DOSSIER_COLUMNS = [
    Column("Numéro"), Column("État"), Column("Premier dépôt", DATE_TIME), Column("Dernier dépôt", DATE_TIME),
    Column("Passé en instruction le", DATE_TIME), Column("Décidé le", DATE_TIME),
    Column("Établissement porteur"), Column("FINESS EJ", IDENTIFIER), Column("FINESS ET", IDENTIFIER),
    Column("SIRET", IDENTIFIER), Column("Catégorie"), Column("Secteur"), Column("Département", TEXT),
    Column("Statut juridique"), Column("GHT"), Column("Parties prenantes"), Column("Groupe instructeur"),
    Column("Étiquettes"),
    Column("Montant demandé", EUROS), Column("Montant accordé", EUROS),
]
PRIVATE = "Annotations privées : "


def _local(value):
    """Spreadsheets have no time zones: the Paris wall-clock time."""
    return None if value is None else timezone.localtime(value).replace(tzinfo=None)


def _fields(call, kind=FormKind.FORM, prefix=""):
    """(part title, field) of every top-level field holding a value, latest version first, then older ones'."""
    seen, result = set(), []
    for version in FormVersion.objects.filter(call=call, kind=kind).order_by("-number"):
        for section in version.parsed().sections:
            for f in section.fields:
                if f.holds_value and f.key not in seen:
                    seen.add(f.key)
                    result.append((prefix + section.title, f))
    return result


def _format(f) -> str | None:
    kind = f.opt("format") if f.type == "computed" else f.type
    return {"amount": EUROS, "percentage": PERCENT, "integer": "0", "decimal": NUMBER, "date": DATE,
            "finess": IDENTIFIER, "siret": IDENTIFIER}.get(kind)


def typed(f, value):
    """An answer as a typed cell value: Decimal for numbers, date for dates, text otherwise (as displayed)."""
    if value is None or value == "" or value == []:
        return None
    if f.type in ("integer", "decimal", "percentage", "amount", "computed"):
        try:
            number = parse_decimal(value)
        except Exception:  # noqa: BLE001 - an answer stored before a type change: shown as typed
            return str(value)
        if number is not None and (f.type == "amount" or f.opt("format") == "amount"):
            number = number.quantize(Decimal("0.01"))
        return number
    if f.type == "date":
        try:
            return dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            return str(value)
    if f.type in ("finess", "siret"):
        return str(value)
    return format_for_display(f, value)


def dossier_ids(call, user, tab, filters, sort) -> list[int]:
    """The ids of the list, in its order: the workspace's own query."""
    return list(workspace.queryset(call, user, tab, filters, sort).values_list("pk", flat=True))


def _batches(ids):
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        found = (Dossier.objects.filter(pk__in=chunk)
                 .select_related("establishment", "establishment__legal_entity", "index", "grant",
                                 "instructor_group_link__group")
                 .prefetch_related("partners", "labels"))
        by_id = {d.pk: d for d in found}
        yield [by_id[pk] for pk in chunk if pk in by_id]


def _dossier_values(d) -> list:
    est, states = d.establishment, dict(State.choices)
    entity = est.legal_entity
    index = getattr(d, "index", None)
    return [
        d.number, states.get(d.state, d.state), _local(d.first_filed_at), _local(d.last_filed_at),
        _local(d.instruction_started_at), _local(d.decided_at),
        est.name, entity.finess if entity else "", est.finess, est.siret, est.category,
        dict(Sector.choices).get(est.sector, est.sector), est.department,
        dict(LegalStatus.choices).get(est.legal_status, est.legal_status), est.ght,
        ", ".join(f"{p.name} ({p.finess})" for p in d.partners.all()),
        _group(d),
        ", ".join(label.name for label in d.labels.all()),
        index.amount if index else None,  # the requested amount, as the index reads it from the answers
        _granted(d),
    ]


def _group(d):
    try:
        return d.instructor_group_link.group.name
    except ObjectDoesNotExist:
        return ""


def _granted(d):
    """The grant's total once the commission decided (funding.Grant), else nothing."""
    try:
        return d.grant.total
    except ObjectDoesNotExist:
        return None


def build(call, user, tab, filters, sort, private=False) -> Export:
    """The export of a workspace list. The main table's rows and the repeated rows are computed lazily, batch by
    batch; the repeated rows read the dossiers a second time (two passes keep memory bounded). ``private``: the
    ARS' private annotations too (their own columns, after the form's)."""
    fields = [(part, f, "answers") for part, f in _fields(call)]
    if private:
        fields += [(part, f, "annotations") for part, f in _fields(call, FormKind.ANNOTATIONS, PRIVATE)]
    simple = [(part, f, source) for part, f, source in fields if f.type != "repeat"]
    repeats = [(part, f, source) for part, f, source in fields if f.type == "repeat"]
    ids = dossier_ids(call, user, tab, filters, sort)
    columns = DOSSIER_COLUMNS + [Column(f.label or f.key, _format(f), part) for part, f, _ in simple]

    def main_rows():
        for batch in _batches(ids):
            for d in batch:
                yield _dossier_values(d) + [typed(f, getattr(d, source).get(f.key)) for _, f, source in simple]

    def repeat_table(part, block, source):
        children = [c for c in block.children if c.holds_value]

        def rows():
            for batch in _batches(ids):
                for d in batch:
                    for number, row in enumerate(getattr(d, source).get(block.key) or [], start=1):
                        if isinstance(row, dict):
                            yield [d.number, number] + [typed(c, row.get(c.key)) for c in children]

        cols = [Column("Numéro"), Column("Ligne", "0")] + [Column(c.label or c.key, _format(c), part)
                                                            for c in children]
        return Table(cols, rows(), title=block.label or block.key)

    return Export(Table(columns, main_rows(), title="Dossiers"), [repeat_table(*r) for r in repeats])
