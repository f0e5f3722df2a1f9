"""The bordereau récapitulatif: the Excel summary sheet of a proofs dossier, listing per funded action the
invoices sent as proofs (seed 001: « un onglet par établissement »).

``workbook(dossier)`` writes it pre-filled: one sheet per establishment concerned by a covered action (the
dossier's own establishment first), a header block naming the legal entity, the establishment (its FINESS
is what the sheet is read back by) and the proofs call, then one table. Each row of the table is one
invoice and is self-contained: columns A–F describe the action (its reference « <convention> / <rank> »,
convention, year, title, ceiling, already paid) and are locked; columns G–K are the invoice to type
(supplier, number, date, amounts HT and TTC); L tells how the ARS judged a line already sent. Each action
has a block of rows (its invoices already on the dossier, then empty rows, at least ten in all); under the
blocks, « Factures supplémentaires » rows take the action reference from a drop-down list. An action
concerning several establishments appears on each of their sheets; one without establishments on its
beneficiary's sheet.

``read(dossier, file)`` reads a filled workbook back, every cell checked, and returns the lines with the
French errors positioned by sheet, row and column (per-line rules come from ``proofs.check_line``).
``import_into(dossier, file, user)`` replaces the dossier's pending lines by the file's in one transaction
when there is no error; lines already judged by the ARS stay and are not duplicated.
"""

import datetime as dt
import io
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Q
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from guichet.core import audit, spreadsheets
from guichet.core.money import MAX_AMOUNT
from guichet.core.spreadsheets import BOLD, DATE, EUROS, TEXT, XLSX, clean, style
from guichet.dossiers.models import Dossier
from guichet.establishments.models import Establishment

from . import proofs
from .models import GrantAction, InvoiceLine, LineStatus
from .proofs import LineInput

ATTACHMENT_PATH = "bordereau"

CENT = Decimal("0.01")
FLOAT_NOISE = Decimal("0.000001")  # a spreadsheet formula's rounding noise on an amount in cents

ROWS_PER_ACTION = 10  # rows of a block (its invoices included)
MIN_EMPTY_ROWS = 3  # empty rows left in a block whatever its invoices
EXTRA_ROWS = 30  # « Factures supplémentaires » rows with a drop-down reference
HEADER_SCAN = 40  # rows searched for the header block and the table's header
MAX_ROWS = 5000  # invoice rows read per sheet
MAX_BYTES = 5 * 1024 * 1024
MAX_UNCOMPRESSED = 60 * 1024 * 1024  # a 5 MB zip may not unpack into gigabytes

FINESS_LABEL = "FINESS géographique"
REFERENCE_LABEL = "Référence de l'action"
SEPARATOR = " / "

TITLE_FONT = Font(bold=True, size=14)
REPEATED = Font(color="808080")  # the action's description repeated on the rows of its block
LOCKED_FILL = PatternFill("solid", fgColor="EEEEEE")
HEADER_FILL = PatternFill("solid", fgColor="DDDDEE")
WRAP = Alignment(wrap_text=True, vertical="top")
BLOCK_TOP = Border(top=Side(style="thin", color="000000"))
UNLOCKED = Protection(locked=False)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int
    number_format: str | None
    filled_in: bool  # typed by the establishment (unlocked); else pre-filled (locked)


COLUMNS = [
    Column("reference", REFERENCE_LABEL, 24, TEXT, False),
    Column("convention", "Convention", 22, TEXT, False),
    Column("year", "Année", 8, "0", False),
    Column("action", "Action", 44, None, False),
    Column("ceiling", "Plafond (€)", 14, EUROS, False),
    Column("paid", "Déjà versé (€)", 14, EUROS, False),
    Column("supplier", "Fournisseur", 28, TEXT, True),
    Column("number", "N° de facture", 16, TEXT, True),
    Column("invoice_date", "Date de la facture", 14, DATE, True),
    Column("amount_ht", "Montant HT (€)", 15, EUROS, True),
    Column("amount_ttc", "Montant TTC (€)", 15, EUROS, True),
    Column("review", "Examen par l'ARS", 30, None, False),
]
BY_KEY = {c.key: c for c in COLUMNS}
LETTER = {c.key: get_column_letter(i) for i, c in enumerate(COLUMNS, start=1)}
INVOICE_KEYS = ["supplier", "number", "invoice_date", "amount_ht", "amount_ttc"]
REQUIRED_KEYS = ["reference", *INVOICE_KEYS]
HELPER_LETTER = get_column_letter(len(COLUMNS) + 1)  # hidden: the sheet's references, for the drop-down list
MAX_LENGTH = proofs.MAX_LENGTH
# One action's block is at least ten rows: 20 000 rows hold far more than MAX_ROWS invoices and any real sheet.
LIMITS = spreadsheets.Limits(max_bytes=MAX_BYTES, max_uncompressed=MAX_UNCOMPRESSED, max_rows=20000,
                             max_columns=len(COLUMNS) + 1)


# --- errors and results ---------------------------------------------------------------------------

@dataclass(frozen=True)
class CellError:
    """One wrong cell (or sheet, or file), with its position as the establishment sees it in Excel."""

    sheet: str
    row: int | None
    column_letter: str
    column_label: str
    message: str

    @property
    def text(self) -> str:
        where = []
        if self.sheet:
            where.append(f"Onglet « {self.sheet} »")
        if self.row:
            where.append(f"ligne {self.row}")
        if self.column_letter:
            where.append(f"colonne {self.column_letter}"
                         + (f" (« {self.column_label} »)" if self.column_label else ""))
        if not where:
            return self.message
        return f"{', '.join(where)} : {self.message}"

    def __str__(self):
        return self.text


@dataclass
class BordereauResult:
    lines: list[LineInput] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)
    positions: list[tuple[str, int]] = field(default_factory=list)  # (sheet, row) of each line
    ignored_sheets: list[str] = field(default_factory=list)  # sheets that are not establishment sheets
    created: int = 0  # after import: lines added
    kept: int = 0  # lines already on the dossier (same invoice), left as they were
    removed: int = 0  # pending lines no longer in the file

    @property
    def ok(self) -> bool:
        return not self.errors


class CellValueError(ValueError):
    """A cell whose value cannot be read as what its column holds; the message is French."""


def _lower_first(message: str) -> str:
    return message[:1].lower() + message[1:] if message else message


# --- reading cell values (pure) -------------------------------------------------------------------

DATE_EXAMPLE = "saisissez une date, par exemple 15/03/2024."
AMOUNT_EXAMPLE = "saisissez un montant en euros, par exemple 1 200,50."
_SPACES = re.compile(r"[\s\u00a0\u202f\u2007\u2009']+")
_CURRENCY = re.compile(r"(€|eur(os?)?)$", re.IGNORECASE)
_FR_DATE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$", re.ASCII)
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2})?)?$", re.ASCII)


def blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_date(value) -> dt.date:
    """A date cell, or a text « 15/03/2024 » (also 15-03-2024, 15.03.2024, 2024-03-15)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise CellValueError(DATE_EXAMPLE)
    text = value.strip()
    if match := _FR_DATE.match(text):
        day, month, year = (int(g) for g in match.groups())
    elif match := _ISO_DATE.match(text):
        year, month, day = (int(g) for g in match.groups())
    else:
        raise CellValueError(DATE_EXAMPLE)
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise CellValueError(f"la date « {text} » n'existe pas ; {DATE_EXAMPLE}") from None


def _from_float(value: float) -> Decimal:
    number = Decimal(repr(value))  # the shortest decimal that reads back as this float
    cents = number.quantize(CENT)
    return cents if number != cents and abs(number - cents) < FLOAT_NOISE else number


def _from_text(text: str) -> Decimal:
    raw = text.strip()
    compact = _CURRENCY.sub("", _SPACES.sub("", raw))
    sign = ""
    if compact.startswith(("+", "-")):
        sign, compact = compact[0].replace("+", ""), compact[1:]
    if not compact or not re.fullmatch(r"[0-9.,]+", compact) or compact[0] in ".,":
        raise CellValueError(AMOUNT_EXAMPLE)
    separators = [ch for ch in compact if ch in ".,"]
    if not separators:
        digits = compact
    elif len(set(separators)) == 2:
        # « 1.200,50 » or « 1,200.50 »: the last separator marks the cents, the other the thousands.
        decimal_sep = compact[max(compact.rfind("."), compact.rfind(","))]
        thousands_sep = "." if decimal_sep == "," else ","
        whole, cents = compact.rsplit(decimal_sep, 1)
        if decimal_sep in whole or not re.fullmatch(rf"\d{{1,3}}(\{thousands_sep}\d{{3}})+", whole) or not cents:
            raise CellValueError(AMOUNT_EXAMPLE)
        digits = whole.replace(thousands_sep, "") + "." + cents
    elif len(separators) > 1:
        # « 1.200.000 » or « 1,200,000 »: thousands only.
        sep = separators[0]
        if not re.fullmatch(rf"\d{{1,3}}(\{sep}\d{{3}})+", compact):
            raise CellValueError(AMOUNT_EXAMPLE)
        digits = compact.replace(sep, "")
    else:
        whole, cents = re.split(r"[.,]", compact)
        if not cents:
            raise CellValueError(AMOUNT_EXAMPLE)
        if len(cents) == 3 and len(whole) <= 3 and not whole.startswith("0"):
            raise CellValueError(f"montant « {raw} » ambigu (milliers ou décimales ?) : écrivez par exemple "
                                 f"{whole}{cents} ou {whole},{cents[:2]}.")
        digits = f"{whole}.{cents}"
    try:
        return Decimal(sign + digits)
    except InvalidOperation:  # pragma: no cover - the patterns above only let digits through
        raise CellValueError(AMOUNT_EXAMPLE) from None


def read_amount(value) -> Decimal:
    """A number cell, or a text « 1 200,50 » (also « 1200.50 », « 1.200,50 € »). The sign and the number
    of decimals are left to ``proofs.check_line``."""
    if isinstance(value, bool) or isinstance(value, dt.date | dt.time | dt.timedelta):
        raise CellValueError(AMOUNT_EXAMPLE)
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise CellValueError(AMOUNT_EXAMPLE)
        if abs(value) > MAX_AMOUNT:
            raise CellValueError("ce montant est trop élevé.")
        number = _from_float(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise CellValueError(AMOUNT_EXAMPLE)
        number = value
    elif isinstance(value, str):
        number = _from_text(value)
    else:
        raise CellValueError(AMOUNT_EXAMPLE)
    if abs(number) > MAX_AMOUNT:
        raise CellValueError("ce montant est trop élevé.")
    return number


def read_text(value) -> str:
    """A text cell; a number typed in a text column (an invoice number) is read as it shows."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime | dt.date):
        value = f"{value:%d/%m/%Y}"
    return str(value).strip()


def _squash(text) -> str:
    """Compare labels and references regardless of case, accents, spaces and apostrophes."""
    text = unicodedata.normalize("NFKD", read_text(text)).replace("’", "'")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", text).strip().casefold()


def _reference_key(text) -> str:
    return re.sub(r"\s+", "", read_text(text)).casefold()


def action_reference(action: GrantAction) -> str:
    """The code of an action in the bordereau: « <convention reference> / <rank> »."""
    return f"{action.grant.convention_reference}{SEPARATOR}{action.position}"


# --- which actions go on which sheet -------------------------------------------------------------

ABBREVIATIONS = [
    ("CENTRE HOSPITALIER UNIVERSITAIRE", "CHU"), ("CENTRE HOSPITALIER REGIONAL", "CHR"),
    ("CENTRE HOSPITALIER INTERCOMMUNAL", "CHI"), ("CENTRE HOSPITALIER SPECIALISE", "CHS"),
    ("CENTRE HOSPITALIER", "CH"), ("GROUPE HOSPITALIER", "GH"),
    ("ETABLISSEMENT D'HEBERGEMENT POUR PERSONNES AGEES DEPENDANTES", "EHPAD"),
]
SMALL_WORDS = {"DE", "DU", "DES", "LA", "LE", "LES", "ET"}
FORBIDDEN_IN_TITLES = "[]:*?/\\"


def short_name(name: str) -> str:
    """« CENTRE HOSPITALIER DE LISIEUX » → « CH LISIEUX »."""
    text = unicodedata.normalize("NFKD", name.upper()).replace("’", "'")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    for long, short in ABBREVIATIONS:
        text = text.replace(long, short)
    words = [re.sub(r"^[DL]'", "", w) for w in text.split() if w not in SMALL_WORDS]
    return " ".join(w for w in words if w) or name


def sheet_title(establishment: Establishment, taken: set[str] | None = None) -> str:
    """« <FINESS> <short name> », at most 31 characters, without the characters Excel refuses."""
    raw = f"{establishment.finess} {short_name(establishment.name)}"
    title = "".join(ch for ch in raw if ch not in FORBIDDEN_IN_TITLES and ch.isprintable())[:31].strip(" '")
    taken = taken if taken is not None else set()
    candidate, n = title, 2
    while candidate.casefold() in taken:
        suffix = f" ({n})"
        candidate, n = title[:31 - len(suffix)] + suffix, n + 1
    taken.add(candidate.casefold())
    return candidate


def concerned(action: GrantAction) -> list[Establishment]:
    """The establishments an action concerns; its beneficiary when none is named."""
    return list(action.establishments.all()) or [action.grant.beneficiary]


def _sheet_order(dossier: Dossier, establishments) -> list[Establishment]:
    return sorted(establishments, key=lambda e: (e.pk != dossier.establishment_id, e.finess))


# --- writing ---------------------------------------------------------------------------------------

def _put(ws, row: int, column: int, value, number_format=None, font=None, fill=None, alignment=None,
         unlocked=False, border=None):
    value = clean(value)
    cell = style(ws.cell(row=row, column=column, value=value), value, number_format, font, alignment)
    if fill:
        cell.fill = fill
    if unlocked:
        cell.protection = UNLOCKED
    if border:
        cell.border = border
    return cell


def _header_block(ws, dossier: Dossier, establishment: Establishment) -> int:
    """Rows 1–9: what the sheet is about; returns the table's header row."""
    entity = establishment.legal_entity
    _put(ws, 1, 1, "Bordereau récapitulatif des pièces justificatives", font=TITLE_FONT)
    rows = [
        ("Entité juridique", entity.name if entity else establishment.name),
        ("FINESS juridique", entity.finess if entity else ""),
        ("Établissement", establishment.name),
        (FINESS_LABEL, establishment.finess),
        ("Appel", dossier.call.title),
        ("Dossier", str(dossier)),
    ]
    for index, (label, value) in enumerate(rows, start=2):
        _put(ws, index, 1, label, font=BOLD)
        _put(ws, index, 2, value, number_format=TEXT)
        ws.merge_cells(start_row=index, start_column=2, end_row=index, end_column=6)
    first, last = LETTER["supplier"], LETTER["amount_ttc"]
    _put(ws, 9, 1, (
        f"Une ligne par facture : remplissez les colonnes {first} à {last} (fournisseur, n° de facture, date, "
        "montants HT et TTC) sur une ligne de l'action concernée. Ne modifiez pas les colonnes grisées. "
        "S'il manque des lignes, utilisez les « Factures supplémentaires » en bas du tableau en choisissant la "
        "référence de l'action dans la liste. Les dates s'écrivent 15/03/2024, les montants en euros, par "
        "exemple 1 200,50. Les factures déjà transmises figurent dans le tableau : laissez-les pour les garder."),
        alignment=WRAP)
    ws.merge_cells(start_row=9, start_column=1, end_row=9, end_column=len(COLUMNS))
    ws.row_dimensions[9].height = 60
    return 11


def _write_sheet(ws, dossier: Dossier, establishment: Establishment, blocks: list) -> None:
    """``blocks``: (action summary, its invoice lines on this sheet) in the order of the covered actions."""
    header = _header_block(ws, dossier, establishment)
    for index, column in enumerate(COLUMNS, start=1):
        _put(ws, header, index, column.label, font=BOLD, fill=HEADER_FILL, alignment=WRAP)
        ws.column_dimensions[get_column_letter(index)].width = column.width
    _put(ws, header, len(COLUMNS) + 1, "Références")
    ws.column_dimensions[HELPER_LETTER].hidden = True
    row = header + 1
    first_row = row
    for position, (item, lines) in enumerate(blocks):
        action = item.action
        _put(ws, first_row + position, len(COLUMNS) + 1, action_reference(action))
        described = {"reference": action_reference(action), "convention": action.grant.convention_reference,
                     "year": action.grant.call_year, "action": action.title, "ceiling": item.ceiling,
                     "paid": item.paid}
        count = len(lines) + max(MIN_EMPTY_ROWS, ROWS_PER_ACTION - len(lines))
        for offset in range(count):
            line = lines[offset] if offset < len(lines) else None
            values = {**described}
            if line is not None:
                values.update(supplier=line.supplier, number=line.number, invoice_date=line.invoice_date,
                              amount_ht=line.amount_ht, amount_ttc=line.amount_ttc, review=proofs.explain(line))
            for index, column in enumerate(COLUMNS, start=1):
                _put(ws, row, index, values.get(column.key), number_format=column.number_format,
                     font=REPEATED if offset and not column.filled_in else None,
                     fill=None if column.filled_in else LOCKED_FILL,
                     alignment=WRAP if column.key in ("action", "review") else None,
                     unlocked=column.filled_in, border=BLOCK_TOP if offset == 0 else None)
            row += 1
    _put(ws, row, 1, "Factures supplémentaires", font=BOLD)
    _put(ws, row, 4, "Choisissez la référence de l'action dans la liste (colonne A), puis la facture.",
         alignment=WRAP)
    row += 1
    extra_first = row
    for _ in range(EXTRA_ROWS):
        for index, column in enumerate(COLUMNS, start=1):
            editable = column.filled_in or column.key == "reference"
            _put(ws, row, index, None, number_format=column.number_format,
                 fill=None if editable else LOCKED_FILL, unlocked=editable)
        row += 1
    last = row - 1
    _validations(ws, first_row, last, extra_first, len(blocks))
    ws.freeze_panes = ws.cell(row=header + 1, column=2)
    ws.print_title_rows = f"{header}:{header}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    # Locked description columns, unlocked invoice columns; no password: a clerk who must copy rows may lift it.
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False


def _validations(ws, first: int, last: int, extra_first: int, references: int) -> None:
    date = DataValidation(type="date", operator="between", formula1="DATE(2000,1,1)", formula2="DATE(2100,12,31)",
                          allow_blank=True, showErrorMessage=True, errorTitle="Date de la facture",
                          error="Saisissez une date, par exemple 15/03/2024.", showInputMessage=True,
                          promptTitle="Date de la facture", prompt="Par exemple 15/03/2024.")
    amount = DataValidation(type="decimal", operator="greaterThan", formula1="0", allow_blank=True,
                            showErrorMessage=True, errorTitle="Montant",
                            error="Saisissez un montant positif en euros, par exemple 1200,50.")
    date.add(f"{LETTER['invoice_date']}{first}:{LETTER['invoice_date']}{last}")
    amount.add(f"{LETTER['amount_ht']}{first}:{LETTER['amount_ttc']}{last}")
    ws.add_data_validation(date)
    ws.add_data_validation(amount)
    if references:
        source = f"${HELPER_LETTER}${first}:${HELPER_LETTER}${first + references - 1}"
        choice = DataValidation(type="list", formula1=source,
                                allow_blank=True, showErrorMessage=True, errorTitle="Référence de l'action",
                                error="Choisissez la référence d'une action de cet établissement dans la liste.")
        choice.add(f"{LETTER['reference']}{extra_first}:{LETTER['reference']}{last}")
        ws.add_data_validation(choice)


def sheets(dossier: Dossier) -> list[tuple[Establishment, list]]:
    """Per sheet, in order: the establishment and its blocks (action summary, its lines on this sheet)."""
    summaries = proofs.summary(dossier, proofs.covered_actions(dossier))
    per_sheet: dict[int, list] = defaultdict(list)
    establishments: dict[int, Establishment] = {}
    for item in summaries:
        targets = concerned(item.action)
        ids = {e.pk for e in targets}
        lines_by_sheet: dict[int, list] = defaultdict(list)
        for line in sorted(item.lines, key=lambda li: (li.invoice_date, li.pk)):
            target = line.establishment_id if line.establishment_id in ids else targets[0].pk
            lines_by_sheet[target].append(line)
        for establishment in targets:
            establishments[establishment.pk] = establishment
            per_sheet[establishment.pk].append((item, lines_by_sheet.get(establishment.pk, [])))
    if not establishments:
        establishments[dossier.establishment_id] = dossier.establishment
    return [(e, per_sheet.get(e.pk, [])) for e in _sheet_order(dossier, establishments.values())]


def workbook(dossier: Dossier) -> bytes:
    """The bordereau of a proofs dossier, pre-filled, as the bytes of an .xlsx file."""
    wb = Workbook()
    wb.remove(wb.active)
    taken: set[str] = set()
    for establishment, blocks in sheets(dossier):
        ws = wb.create_sheet(sheet_title(establishment, taken))
        _write_sheet(ws, dossier, establishment, blocks)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def filename(dossier: Dossier) -> str:
    return f"Bordereau - {dossier.number or f'brouillon {dossier.pk}'}.xlsx"


# --- reading ---------------------------------------------------------------------------------------

class _Context:
    """What a bordereau is checked against: the dossier's covered actions, the legal entity's actions and
    establishments."""

    def __init__(self, dossier: Dossier):
        self.dossier = dossier
        covered = proofs.covered_actions(dossier)
        self.allowed = {a.pk for a in covered}
        self.concerned = {a.pk: concerned(a) for a in covered}
        establishment = dossier.establishment
        scope = (Q(grant__legal_entity_id=establishment.legal_entity_id) if establishment.legal_entity_id
                 else Q(grant__beneficiary=establishment))
        known = GrantAction.objects.filter(scope | Q(pk__in=self.allowed)).select_related("grant")
        self.known = {_reference_key(action_reference(a)): a for a in known}
        sites = list(establishment.legal_entity.establishments.all()) if establishment.legal_entity_id else []
        sites += [establishment, *(e for targets in self.concerned.values() for e in targets)]
        self.establishments = {e.finess: e for e in sites}
        self.entity_name = (establishment.legal_entity.name if establishment.legal_entity_id
                            else establishment.name)
        self.judged = {_line_key(li) for li in dossier.invoice_lines.exclude(status=LineStatus.PENDING)}
        self.titles: dict[int, str] = {}
        taken: set[str] = set()
        for e in _sheet_order(dossier, {e.pk: e for targets in self.concerned.values() for e in targets}.values()):
            self.titles[e.pk] = sheet_title(e, taken)

    def resolve(self, cells: dict, establishment: Establishment) -> tuple[GrantAction | None, str | None]:
        text = read_text(cells.get("reference"))
        action = self.known.get(_reference_key(text))
        if action is None:
            return None, (f"référence d'action inconnue « {text} » : choisissez la référence dans la liste, "
                          "sans la modifier.")
        grant = action.grant
        if action.pk not in self.allowed:
            return None, (f"l'action « {action.title} » (convention {grant.convention_reference}, année "
                          f"{grant.call_year}) n'est pas couverte par cet appel de justificatifs.")
        convention = read_text(cells.get("convention"))
        title = cells.get("action")
        if (convention and _squash(convention) != _squash(grant.convention_reference)) or (
                not blank(title) and _squash(title) != _squash(clean(action.title))):
            return None, (f"la référence « {text} » ne correspond pas à la convention et à l'action écrites sur "
                          "la ligne : ne modifiez pas les colonnes grisées, choisissez la référence dans la liste.")
        if establishment.pk not in {e.pk for e in self.concerned[action.pk]}:
            where = ", ".join(f"« {self.titles[e.pk]} »" for e in self.concerned[action.pk] if e.pk in self.titles)
            return None, (f"l'action « {action.title} » ne concerne pas l'établissement de cet onglet "
                          f"(FINESS {establishment.finess}) : reportez la facture dans l'onglet {where}.")
        return action, None


def _line_key(line) -> tuple:
    """The same invoice: action, supplier, number, date and amounts."""
    action_id = line.action.pk if isinstance(line, LineInput) else line.action_id
    return (action_id, line.supplier.strip(), line.number.strip(), line.invoice_date, Decimal(line.amount_ht),
            Decimal(line.amount_ttc))


def _read_bytes(file) -> bytes | None:
    if isinstance(file, bytes | bytearray):
        return bytes(file)
    if hasattr(file, "seek"):
        file.seek(0)
    data = file.read(MAX_BYTES + 1)
    if hasattr(file, "seek"):
        file.seek(0)
    return data


NOT_XLSX = ("Le fichier déposé n'est pas un classeur Excel (.xlsx) lisible : téléchargez le bordereau, "
            "remplissez-le et enregistrez-le au format « Classeur Excel (.xlsx) » avant de le déposer.")


def _open(data: bytes, result: BordereauResult):
    """The workbook, or None with the French reason in ``result`` (``spreadsheets``' guard, before parsing)."""
    try:
        return spreadsheets.open_xlsx(data, LIMITS)
    except spreadsheets.SpreadsheetRefused as exc:
        message = NOT_XLSX if str(exc) == spreadsheets.NOT_XLSX else str(exc)
        result.errors.append(CellError("", None, "", "", message))
        return None


def _column_map(values) -> tuple[dict[str, int], list[str]]:
    labels = {_squash(c.label): c.key for c in COLUMNS}
    found: dict[str, int] = {}
    for index, value in enumerate(values):
        key = labels.get(_squash(value)) if isinstance(value, str) else None
        if key and key not in found:
            found[key] = index
    return found, [k for k in REQUIRED_KEYS if k not in found]


def _read_sheet(ws, ctx: _Context, result: BordereauResult, seen: dict) -> None:
    title = ws.title

    def error(row, key_or_index, message, label=None):
        if isinstance(key_or_index, int):
            letter = get_column_letter(key_or_index + 1)
        elif key_or_index:
            letter = get_column_letter(columns[key_or_index] + 1)
            label = label or BY_KEY[key_or_index].label
        else:
            letter = ""
        result.errors.append(CellError(title, row, letter, label or "", message))

    finess = finess_row = header_row = None
    columns: dict[str, int] = {}
    establishment = None
    invoice_rows = 0
    for index, values in spreadsheets.rows(ws, LIMITS):
        values = list(values)
        if header_row is None:
            if index > HEADER_SCAN:
                break
            if values and _squash(values[0]) == _squash(FINESS_LABEL):
                finess, finess_row = (values[1] if len(values) > 1 else None), index
            if any(isinstance(v, str) and _squash(v) == _squash(REFERENCE_LABEL) for v in values):
                header_row = index
                columns, missing = _column_map(values)
                if finess_row is None:
                    error(None, None, f"la cellule « {FINESS_LABEL} » de l'établissement est introuvable au-dessus "
                                      "du tableau : déposez le bordereau téléchargé sur la plateforme.")
                    return
                code = read_text(finess)
                if isinstance(finess, int | float):
                    code = code.zfill(9)
                establishment = ctx.establishments.get(code.upper())
                if establishment is None:
                    error(finess_row, 1, f"le FINESS « {code} » n'est pas celui d'un établissement de l'entité "
                                         f"juridique « {ctx.entity_name} » : chaque onglet correspond à un de ses "
                                         "établissements.", label=FINESS_LABEL)
                    return
                if missing:
                    for key in missing:
                        error(header_row, None, f"la colonne « {BY_KEY[key].label} » est introuvable : ne modifiez "
                                                "pas la ligne d'en-tête du tableau.")
                    return
            continue
        cells = {key: values[i] if i < len(values) else None for key, i in columns.items()}
        if all(blank(cells.get(k)) for k in INVOICE_KEYS):
            continue
        invoice_rows += 1
        if invoice_rows > MAX_ROWS:
            error(index, None, f"un onglet compte au plus {MAX_ROWS} factures.")
            return
        _read_row(index, cells, establishment, ctx, result, seen, error, title)
    if header_row is None and finess_row is not None:
        error(None, None, f"le tableau des factures est introuvable (ligne d'en-tête « {REFERENCE_LABEL} »…) : "
                          "déposez le bordereau téléchargé sur la plateforme.")
    elif header_row is None:
        result.ignored_sheets.append(title)  # a sheet of the establishment's own (notes…), not a bordereau sheet


def _read_row(index, cells, establishment, ctx: _Context, result: BordereauResult, seen, error, title) -> None:
    errors: dict[str, str] = {}
    action = None
    if blank(cells.get("reference")):
        errors["reference"] = "choisissez la référence de l'action dans la liste."
    else:
        action, message = ctx.resolve(cells, establishment)
        if message:
            errors["reference"] = message
    supplier, number = read_text(cells["supplier"]), read_text(cells["number"])
    for key, text in (("supplier", supplier), ("number", number)):
        if len(text) > MAX_LENGTH[key]:
            errors[key] = f"{MAX_LENGTH[key]} caractères au plus."
    invoice_date = amount_ht = amount_ttc = None
    if not blank(cells["invoice_date"]):
        try:
            invoice_date = read_date(cells["invoice_date"])
        except CellValueError as exc:
            errors["invoice_date"] = str(exc)
    amounts = {}
    for key in ("amount_ht", "amount_ttc"):
        if not blank(cells[key]):
            try:
                amounts[key] = read_amount(cells[key])
            except CellValueError as exc:
                errors[key] = str(exc)
    amount_ht, amount_ttc = amounts.get("amount_ht"), amounts.get("amount_ttc")
    data = LineInput(action=action, supplier=supplier, number=number, invoice_date=invoice_date,
                     amount_ht=amount_ht, amount_ttc=amount_ttc, establishment=establishment)
    for key, message in proofs.check_line(data, ctx.allowed).items():
        if key == "action" or key in errors:
            continue
        errors[key] = _lower_first(message)
    if not errors and _line_key(data) not in ctx.judged:
        duplicate = (action.pk, _squash(supplier), _squash(number))
        if duplicate in seen:
            sheet, row = seen[duplicate]
            errors["number"] = (f"cette facture de « {supplier} » figure déjà pour cette action (onglet « {sheet} », "
                                f"ligne {row}) : ne la comptez qu'une fois.")
        else:
            seen[duplicate] = (title, index)
    if errors:
        for key in [c.key for c in COLUMNS if c.key in errors]:
            error(index, key, errors[key])
        return
    result.lines.append(data)
    result.positions.append((title, index))


def read(dossier: Dossier, file) -> BordereauResult:
    """Read a filled bordereau: its invoice lines, or every wrong cell with its position."""
    result = BordereauResult()
    data = _read_bytes(file)
    wb = _open(data, result)
    if wb is None:
        return result
    ctx = _Context(dossier)
    seen: dict = {}
    try:
        for ws in wb.worksheets:
            if getattr(ws, "iter_rows", None) is None:  # a chart sheet
                result.ignored_sheets.append(ws.title)
                continue
            _read_sheet(ws, ctx, result, seen)
    except spreadsheets.SpreadsheetRefused as exc:
        result.errors.append(CellError("", None, "", "", NOT_XLSX if str(exc) == spreadsheets.NOT_XLSX else str(exc)))
    except Exception:  # noqa: BLE001 - a sheet openpyxl cannot parse: the file is not a readable xlsx
        result.errors.append(CellError("", None, "", "", NOT_XLSX))
    finally:
        wb.close()
    if not result.errors and not result.lines:
        result.errors.append(CellError("", None, "", "", (
            "Le bordereau ne contient aucune facture : remplissez au moins une ligne (fournisseur, n° de facture, "
            "date, montants HT et TTC) dans l'onglet de l'établissement concerné.")))
    return result


# --- import ----------------------------------------------------------------------------------------

def import_into(dossier: Dossier, file, user) -> BordereauResult:
    """Replace the dossier's pending invoice lines by the bordereau's, all or nothing.

    With any wrong cell nothing changes. Otherwise, in one transaction: a file line that is an invoice already
    on the dossier (same action, supplier, number, date and amounts) keeps that line — judged by the ARS or
    still pending, with its attached invoice —; the other file lines are added (source « bordereau »); the
    pending lines of the covered actions the file no longer holds are removed; the file is kept as the
    dossier's attachment « bordereau »."""
    from guichet.dossiers.services import store_attachment

    proofs._require_editor(dossier, user)
    result = read(dossier, file)
    if result.errors:
        return result
    with transaction.atomic():
        Dossier.objects.select_for_update().filter(pk=dossier.pk).values_list("pk").first()  # one import at a time
        proofs._require_editor(dossier, user)
        existing = list(InvoiceLine.objects.filter(dossier=dossier).order_by("pk"))
        pool: dict[tuple, list[InvoiceLine]] = defaultdict(list)
        for line in existing:
            pool[_line_key(line)].append(line)
        kept: set[int] = set()
        for data in result.lines:
            matches = pool.get(_line_key(data))
            if matches:
                # Prefer the ARS's judged line, then a pending one; each existing line matches one file row.
                matches.sort(key=lambda li: li.status == LineStatus.PENDING)
                line = matches.pop(0)
                kept.add(line.pk)
                result.kept += 1
                if line.status == LineStatus.PENDING and line.establishment_id != data.establishment.pk:
                    line.establishment = data.establishment
                    line.save(update_fields=["establishment"])
                continue
            proofs.add_line(dossier, user, data, source="bordereau")
            result.created += 1
        covered = {a.pk for a in proofs.covered_actions(dossier)}  # lines of other actions are not in the file
        for line in existing:
            if line.status == LineStatus.PENDING and line.pk not in kept and line.action_id in covered:
                proofs.delete_line(line, user)
                result.removed += 1
        upload = file
        if not hasattr(file, "chunks"):
            upload = SimpleUploadedFile(getattr(file, "name", None) or "bordereau.xlsx", _read_bytes(file),
                                        content_type=XLSX)
        attachment = store_attachment(dossier, ATTACHMENT_PATH, upload, user)
        audit.record(user, "proofs:bordereau", dossier=dossier, obj=attachment, lines=len(result.lines),
                     created=result.created, kept=result.kept, removed=result.removed)
    return result

