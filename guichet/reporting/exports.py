"""The workspace's current list (tab, filters, search, sort) or a selection, as a table of one row per dossier, for
CSV, XLSX and ODS.

Its columns come from a catalogue (``catalogue``) with stable keys, which export templates choose from: the
dossier's own columns (``dossier.*``: dates, establishment, partners, group, labels, followers, the score for the
ARS, the amounts requested / proposed / granted / paid, read through the commission's scores and the funding
balances), the form's fields (``champ.<key>``) and, for the ARS, the private annotations (``annotation.<key>``).

The dossiers are exactly those ``guichet.instruction.workspace.queryset`` lists; they are read by batches of
``BATCH`` (a fixed number of queries per batch, whatever the list's length) so that memory stays bounded. The
form's columns are the union of the fields of every version of the call's form, in the latest version's order
(older versions' fields no longer asked come after). Repeatable blocks go to their own table, one row per
row, keyed by the dossier's number and the row's number. Values are typed here (Decimal, date, text); how
each format writes them safely is ``guichet.core.spreadsheets``'s business.
"""

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Prefetch
from django.utils import timezone

from guichet.calls.models import FormKind, FormVersion
from guichet.commission import scoring
from guichet.commission.models import ActionLine
from guichet.core.ids import is_ascii_number
from guichet.core.money import normalize
from guichet.core.spreadsheets import DATE, DATE_TIME, EUROS, TEXT
from guichet.dossiers.models import Dossier, State
from guichet.establishments.models import Establishment, LegalStatus, Sector
from guichet.formschema import qvct
from guichet.formschema.values import format_for_display, parse_decimal
from guichet.funding import balances
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
    key: str = ""  # the catalogue's stable key (``Entry.key``)


@dataclass
class Table:
    columns: list[Column]
    rows: object  # an iterator of lists of values, one per column
    title: str = ""


@dataclass
class Export:
    main: Table
    repeats: list[Table] = field(default_factory=list)  # one per repeatable block


@dataclass(frozen=True)
class Entry:
    """A column of the catalogue an export (or an export template) chooses from. ``key`` is stable across form
    versions: ``dossier.<name>`` for the dossier's own columns, ``champ.<field key>`` for the form's fields,
    ``annotation.<field key>`` for the ARS' private annotations."""

    key: str
    header: str
    number_format: str | None = None
    part: str = ""
    read: Callable | None = None  # (dossier, batch context) -> value, for the dossier's own columns
    needs: str = ""  # the batch context the column reads (followers, score, proposed, paid)
    field: object = None  # the form's field, for ``champ.`` and ``annotation.`` columns
    source: str = ""  # "answers" or "annotations"
    private: bool = False  # ARS staff only

    @property
    def repeat(self) -> bool:
        return self.field is not None and self.field.type == "repeat"

    def column(self, header: str | None = None) -> Column:
        return Column(header or self.header, self.number_format, self.part, self.key)


PRIVATE = "Annotations privées : "
SCORE_HEADER = "Note moyenne (sur 20)"


def _dossier_entries() -> list[Entry]:
    states, sectors, statuses = dict(State.choices), dict(Sector.choices), dict(LegalStatus.choices)

    def est(d):
        return d.establishment

    rows = [
        ("numero", "Numéro", None, lambda d, c: d.number, ""),
        ("etat", "État", None, lambda d, c: states.get(d.state, d.state), ""),
        ("premier_depot", "Premier dépôt", DATE_TIME, lambda d, c: _local(d.first_filed_at), ""),
        ("dernier_depot", "Dernier dépôt", DATE_TIME, lambda d, c: _local(d.last_filed_at), ""),
        ("instruction", "Passé en instruction le", DATE_TIME, lambda d, c: _local(d.instruction_started_at), ""),
        ("decision", "Décidé le", DATE_TIME, lambda d, c: _local(d.decided_at), ""),
        ("etablissement", "Établissement porteur", None, lambda d, c: est(d).name, ""),
        ("finess_ej", "FINESS EJ", IDENTIFIER,
         lambda d, c: est(d).legal_entity.finess if est(d).legal_entity else "", ""),
        ("finess_et", "FINESS ET", IDENTIFIER, lambda d, c: est(d).finess, ""),
        ("siret", "SIRET", IDENTIFIER, lambda d, c: est(d).siret, ""),
        ("categorie", "Catégorie", None, lambda d, c: est(d).category, ""),
        ("secteur", "Secteur", None, lambda d, c: sectors.get(est(d).sector, est(d).sector), ""),
        ("departement", "Département", TEXT, lambda d, c: est(d).department, ""),
        ("statut_juridique", "Statut juridique", None,
         lambda d, c: statuses.get(est(d).legal_status, est(d).legal_status), ""),
        ("ght", "GHT", None, lambda d, c: est(d).ght, ""),
        ("parties_prenantes", "Parties prenantes", None,
         lambda d, c: ", ".join(f"{p.name} ({p.finess})" for p in _partners(d)), ""),
        ("groupe", "Groupe instructeur", None, lambda d, c: _group(d), ""),
        ("etiquettes", "Étiquettes", None, lambda d, c: ", ".join(label.name for label in _related(d, "labels")), ""),
        ("suivi_par", "Suivi par", None, lambda d, c: ", ".join(_person(u) for u in _related(d, "followers")), ""),
        ("note", SCORE_HEADER, NUMBER, lambda d, c: _score(c, d), "score"),
        # The requested amount as the workspace's index reads it from the answers.
        ("montant_demande", "Montant demandé", EUROS,
         lambda d, c: d.index.amount if getattr(d, "index", None) else None, ""),
        ("montant_propose", "Montant proposé", EUROS, lambda d, c: c["proposed"].get(d.pk), "proposed"),
        ("montant_accorde", "Montant accordé", EUROS, lambda d, c: _granted(d), ""),
        ("montant_verse", "Montant versé", EUROS, lambda d, c: _paid(c, d), "paid"),
    ]
    return [Entry(f"dossier.{name}", header, number_format, read=read, needs=needs, private=needs == "score")
            for name, header, number_format, read, needs in rows]


DOSSIER_ENTRIES = _dossier_entries()
# The dossier's own columns an export without a template holds (the score only for the ARS).
DOSSIER_COLUMNS = [e.column() for e in DOSSIER_ENTRIES]


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


# A number as the form stores it (« 1200.50 »): read without ``parse_decimal``'s checks, to the same Decimal.
PLAIN_NUMBER = re.compile(r"-?\d{1,15}(\.\d+)?")
# Types whose text answer is displayed as stored (``format_for_display`` ends with ``str(value)`` for them).
AS_STORED = frozenset({"text", "textarea", "email", "phone", "choice", "establishment"})
_qvct_labels: tuple = (None, {})


def _qvct_label(code) -> str:
    """``qvct.label``, its table built once per set of themes (an export reads it for every action)."""
    global _qvct_labels
    themes = qvct.themes()
    if _qvct_labels[0] is not themes:
        _qvct_labels = (themes, dict(qvct.choices()))
    return _qvct_labels[1].get(code, code)


def typed(f, value):
    """An answer as a typed cell value: Decimal for numbers, date for dates, text otherwise (as displayed)."""
    if value is None or value == "" or value == []:
        return None
    if f.type in AS_STORED and isinstance(value, str):
        return value
    if f.type == "qvct_theme" and isinstance(value, list | str):
        return ", ".join(_qvct_label(code) for code in (value if isinstance(value, list) else [value]))
    if f.type in ("integer", "decimal", "percentage", "amount", "computed"):
        try:
            if isinstance(value, str) and PLAIN_NUMBER.fullmatch(value):
                number = normalize(Decimal(value))
            else:
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


def selection_ids(call, raw_ids, limit: int) -> list[int]:
    """The ids of a selection (« Télécharger la sélection »), kept only if they are among the call's dossiers the
    workspace lists (the call is one the user instructs); in the order given (the checkboxes', which is the order of
    the page the instructor was viewing). At most ``limit``."""
    wanted = list(dict.fromkeys(int(x) for x in raw_ids if is_ascii_number(x) and len(x) < 19))
    if not wanted or len(wanted) > limit:
        return []
    found = set(workspace.base(call).filter(pk__in=wanted).values_list("pk", flat=True))
    return [pk for pk in wanted if pk in found]


def _batches(ids, related=True):
    """The dossiers of ``ids`` by batches, in order; ``related``: with what the main table reads of them."""
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        found = Dossier.objects.filter(pk__in=chunk)
        if related:
            # Lists (``to_attr``), not querysets: no queryset built per dossier. The partners unordered in SQL (with
            # the establishments' default ORDER BY name, SQLite scans the whole directory along its name index).
            found = (found.select_related("establishment", "establishment__legal_entity", "index", "grant",
                                          "instructor_group_link__group")
                     .prefetch_related(
                         Prefetch("partners", queryset=Establishment.objects.order_by(), to_attr="export_partners"),
                         Prefetch("labels", to_attr="export_labels"),
                         Prefetch("followers", to_attr="export_followers")))
        else:
            found = found.only("pk", "number", "answers", "annotations")
        by_id = {d.pk: d for d in found}
        yield [by_id[pk] for pk in chunk if pk in by_id]


def _related(d, name):
    """A many-to-many relation of the dossier: the batch's prefetched list, else the query."""
    found = getattr(d, f"export_{name}", None)
    return found if found is not None else getattr(d, name).all()


def _partners(d):
    """The partner establishments by name (the establishments' default order)."""
    found = getattr(d, "export_partners", None)
    return sorted(found, key=lambda e: (e.name, e.pk)) if found is not None else d.partners.all()


def _person(user) -> str:
    return user.get_full_name() or user.email


def _group(d):
    try:
        return d.instructor_group_link.group.name
    except ObjectDoesNotExist:
        return ""


def _grant(d):
    try:
        return d.grant
    except ObjectDoesNotExist:
        return None


def _granted(d):
    """The grant's total once the commission decided (funding.Grant), else nothing."""
    grant = _grant(d)
    return grant.total if grant else None


def _score(context, d):
    found = context["score"].get(d.pk)
    return found.mean if found else None


def _paid(context, d):
    """What was paid on the dossier's grant (before the platform and through orders marked paid), as the funding
    balances count it."""
    grant = _grant(d)
    balance = context["paid"].get(grant.pk) if grant else None
    return balance.paid if balance else None


def _proposed(ids) -> dict[int, Decimal]:
    """The amount the instruction proposed for each dossier: the sum of its actions' proposals on its latest
    commission agenda (a dossier postponed to a later session has its proposal there). One query."""
    result, current = {}, {}
    lines = (ActionLine.objects.filter(item__dossier_id__in=ids)
             .order_by("item__session__held_on", "item_id", "position")
             .values_list("item__dossier_id", "item_id", "proposed"))
    for dossier_id, item_id, proposed in lines:
        if current.get(dossier_id) != item_id:  # a later agenda replaces the earlier one
            current[dossier_id] = item_id
            result.pop(dossier_id, None)
        if proposed is not None:
            result[dossier_id] = result.get(dossier_id, Decimal("0.00")) + proposed
    return result


def _context(batch, needs: set, criteria) -> dict:
    """What the batch's columns read beyond the dossiers themselves: a fixed number of queries per batch."""
    ids = [d.pk for d in batch]
    context = {}
    if "score" in needs:
        context["score"] = scoring.scores_of(ids, criteria) if criteria else {}
    if "proposed" in needs:
        context["proposed"] = _proposed(ids)
    if "paid" in needs:
        grants = [g.pk for d in batch if (g := _grant(d))]
        context["paid"] = balances.compute(grants)[0]
    return context


def catalogue(call, private=False) -> list[Entry]:
    """Every column an export of ``call`` may hold, in their default order: the dossier's own, the form's fields
    (union of its versions, latest first; a repeatable block is one entry: its own sheet), then, for the ARS
    (``private``), the score and the private annotations."""
    entries = [e for e in DOSSIER_ENTRIES if private or not e.private]
    entries += [Entry(f"champ.{f.key}", f.label or f.key, _format(f), part, field=f, source="answers")
                for part, f in _fields(call)]
    if private:
        entries += [Entry(f"annotation.{f.key}", f.label or f.key, _format(f), part, field=f, source="annotations",
                          private=True)
                    for part, f in _fields(call, FormKind.ANNOTATIONS, PRIVATE)]
    return entries


def choose(entries: list[Entry], columns) -> tuple[list[tuple[Entry, str]], list[str]]:
    """The entries a template's ``columns`` ([{key, header}]) name, with their headers, and the keys it names
    that the catalogue no longer has (a field removed from the form, a column this user may not read)."""
    by_key = {e.key: e for e in entries}
    chosen, missing = [], []
    for column in columns:
        entry = by_key.get(column.get("key"))
        if entry is None:
            missing.append(column.get("key"))
        else:
            chosen.append((entry, column.get("header") or entry.header))
    return chosen, missing


def build(call, user, tab, filters, sort, private=False, ids=None, columns=None) -> Export:
    """The export of a workspace list (or of ``ids``, already scoped). The main table's rows and the repeated rows
    are computed lazily, batch by batch; the repeated rows read the dossiers a second time (two passes keep memory
    bounded). ``private``: the ARS' score and private annotations too. ``columns``: a template's [{key, header}],
    in its order (default: the whole catalogue)."""
    entries = catalogue(call, private)
    chosen = choose(entries, columns)[0] if columns is not None else [(e, e.header) for e in entries]
    simple = [(e, header) for e, header in chosen if not e.repeat]
    repeats = [(e, header) for e, header in chosen if e.repeat]
    needs = {e.needs for e, _ in simple if e.needs}
    criteria = list(call.criteria.all()) if "score" in needs else []
    if ids is None:
        ids = dossier_ids(call, user, tab, filters, sort)

    def value(entry, d, context):
        if entry.read is not None:
            return entry.read(d, context)
        return typed(entry.field, getattr(d, entry.source).get(entry.field.key))

    def main_rows():
        for batch in _batches(ids):
            context = _context(batch, needs, criteria)
            for d in batch:
                yield [value(e, d, context) for e, _ in simple]

    def repeat_table(entry, title):
        block = entry.field
        children = [c for c in block.children if c.holds_value]

        def rows():
            for batch in _batches(ids, related=False):
                for d in batch:
                    for number, row in enumerate(getattr(d, entry.source).get(block.key) or [], start=1):
                        if isinstance(row, dict):
                            yield [d.number, number] + [typed(c, row.get(c.key)) for c in children]

        cols = [Column("Numéro"), Column("Ligne", "0")] + [Column(c.label or c.key, _format(c), entry.part)
                                                            for c in children]
        return Table(cols, rows(), title=title)

    return Export(Table([e.column(header) for e, header in simple], main_rows(), title="Dossiers"),
                  [repeat_table(e, header) for e, header in repeats])
