"""Import of the grants decided before the platform (*reprise des subventions antérieures*), from a workbook.

One row per funded action: call year, FINESS juridique, FINESS géographique, action, ceiling (*plafond*),
co-financing rate, convention reference, convention date, amount already paid (*déjà versé*), and
optionally the act (« convention » or « avenant ») and the convention's total. The rows that share a
convention reference form one grant; its beneficiary is the establishment of its first row, each action
concerns the establishment of its own row; its total is the one the file states (a convention may give
less than the sum of its actions' ceilings; the rules are ``services.check_total``'s), else the sum of
the ceilings. Imported grants are active (their convention was
signed on the convention date) and flagged ``imported``.

Rules:

- headers are recognised whatever their case, accents, units in brackets and order; a missing column is
  an error naming it; other columns are ignored;
- every cell is validated and every error reported by row and column, in French
  (« Ligne 7, colonne « FINESS géographique » : … »);
- a FINESS is validated (Luhn, Corsica 2A/2B); a number cell that lost its leading zero is read back on
  9 digits; the establishment must be in the directory, belong to the row's legal entity and be in the
  importing ARS's region;
- amounts are euros, ≥ 0, at most 2 decimals, from number cells or French text (« 1 200,50 ») — a float
  from Excel is read through its shortest decimal representation, never through binary arithmetic;
- a rate is a percentage: 50, « 50 % », or a cell formatted as a percentage (0,5 shown as 50 %);
- all or nothing: the whole file is checked first, then written in one transaction; a single error and
  nothing is written. A convention reference already on the platform is an error, so importing the same
  file twice reports the duplicates instead of importing them twice.

``import_grants`` is the one way in, for the ``import_grants`` command and the ARS page alike;
``template_workbook`` is the file to fill in.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from io import BytesIO
from pathlib import Path
from typing import NamedTuple

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel
from openpyxl.worksheet.datavalidation import DataValidation

from guichet.accounts.permissions import is_ars_of, is_ars_staff
from guichet.core import audit, spreadsheets
from guichet.core.money import MAX_AMOUNT, euros, percent
from guichet.core.spreadsheets import BOLD, DATE, EUROS, TEXT
from guichet.establishments.identifiers import validate_finess
from guichet.establishments.models import Establishment, LegalEntity, Region
from guichet.formschema.values import parse_decimal

from .models import Grant, GrantAction, GrantStatus
from .services import check_total

__all__ = [
    "COLUMNS",
    "TEMPLATE_COLUMNS",
    "ImportFileError",
    "ImportReport",
    "Row",
    "RowError",
    "can_import_grants",
    "import_grants",
    "parse_amount",
    "parse_date",
    "parse_finess",
    "parse_rate",
    "parse_year",
    "read_rows",
    "template_workbook",
]

CENT = Decimal("0.01")
FLOAT_NOISE = Decimal("0.000001")  # what binary floating point adds to a typed amount (0.1 + 0.2)
FIRST_YEAR, LAST_YEAR = 2015, 2100
EARLIEST_DATE = dt.date(2000, 1, 1)
MAX_ROWS = 5000  # data rows per file
MAX_COLUMNS = 60  # columns read per row
MAX_BYTES = 10 * 1024 * 1024  # the file as uploaded (the page says so)
HEADER_SEARCH_ROWS = 10  # the header row may follow a few title rows
EMPTY_ROWS_STOP = 1000  # consecutive empty rows after which the sheet is considered over
LIMITS = spreadsheets.Limits(max_bytes=MAX_BYTES, max_columns=MAX_COLUMNS)  # spreadsheets' guard
GUIDE_SHEET = "Mode d'emploi"
DATA_SHEET = "Subventions"
TEMPLATE_FILENAME = "modele-import-subventions.xlsx"



# --- columns -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    key: str
    header: str
    required: bool
    help: str
    example: object
    number_format: str | None = None
    width: int = 18
    aliases: tuple[str, ...] = ()


COLUMNS: tuple[Column, ...] = (
    Column("year", "Année de l'appel à projets", True,
           "L'année de l'appel à projets qui a financé l'action, sur 4 chiffres (2015 à 2100).",
           2022, "0", 14,
           ("annee", "annee de l appel", "annee de l aap", "annee aap", "annee de l appel a projet", "annee appel")),
    Column("ej_finess", "FINESS juridique", True,
           "Le FINESS de l'entité juridique (EJ) signataire de la convention : 9 caractères, "
           "« 2A » ou « 2B » en tête pour la Corse. Saisi comme du texte pour garder le zéro initial.",
           "140000035", TEXT, 14,
           ("finess ej", "finess entite juridique", "finess de l entite juridique", "n finess ej")),
    Column("et_finess", "FINESS géographique", True,
           "Le FINESS de l'établissement (ET) bénéficiaire de l'action. Il doit figurer dans l'annuaire "
           "de la plateforme, appartenir à l'entité juridique de la ligne et relever de votre région.",
           "140000027", TEXT, 14,
           ("finess et", "finess etablissement", "finess de l etablissement", "finess geo", "n finess et")),
    Column("title", "Action", True,
           "L'intitulé de l'action financée (500 caractères au plus).",
           "Formation des encadrants à la prévention des risques psychosociaux", None, 48,
           ("intitule", "intitule de l action", "titre de l action", "action financee", "libelle de l action")),
    Column("ceiling", "Plafond (€)", True,
           "Le plafond de l'action fixé par la convention, en euros : au plus 2 décimales, par exemple 12 000,00.",
           Decimal("12000.00"), EUROS, 16,
           ("plafond", "montant plafond", "plafond de l action", "montant accorde", "plafond en euros")),
    Column("rate", "Taux de cofinancement (%)", True,
           "Le taux de cofinancement de l'ARS en pourcentage : 50 pour 50 % (ou une cellule au format "
           "pourcentage). Supérieur à 0 et au plus égal à 100.",
           50, None, 16,
           ("taux", "taux de cofinancement", "taux de financement", "taux de cofinancement ars")),
    Column("reference", "Référence de la convention", True,
           "La référence de la convention ou de l'avenant. Les lignes qui portent la même référence forment "
           "une seule subvention. Une référence déjà enregistrée sur la plateforme n'est pas importée.",
           "CLACT-2022-28-014", TEXT, 22,
           ("reference", "reference convention", "reference de convention", "n de convention",
            "no de convention", "numero de convention", "numero de la convention")),
    Column("signed_on", "Date de la convention", True,
           "La date de signature de la convention, au format jj/mm/aaaa (une cellule date, ou du texte).",
           dt.date(2022, 11, 15), DATE, 14,
           ("date de convention", "date convention", "date de signature", "date de signature de la convention",
            "convention signee le", "signee le")),
    Column("paid_before", "Déjà versé (€)", True,
           "Le montant déjà versé sur l'action avant la plateforme, en euros (0 si rien n'a été versé ; une "
           "cellule vide vaut 0). Il ne peut pas dépasser le plafond.",
           Decimal("6000.00"), EUROS, 16,
           ("deja verse", "montant deja verse", "deja verse avant la plateforme", "verse", "montant verse")),
    Column("kind", "Acte", False,
           "Facultatif : « convention » ou « avenant ». Vide : « avenant » si la référence contient le mot "
           "avenant, sinon « convention ».",
           "convention", None, 14,
           ("type d acte", "nature de l acte", "convention ou avenant", "type")),
    Column("total", "Montant total de la convention (€)", False,
           "Facultatif : le montant total inscrit dans la convention, s'il est inférieur à la somme des plafonds "
           "de ses actions. Vide : la somme des plafonds. Sur une ou plusieurs lignes de la convention (elles "
           "doivent alors concorder) ; au plus la somme des plafonds, au moins le total déjà versé.",
           Decimal("20000.00"), EUROS, 18,
           ("montant total", "total de la convention", "montant total de la convention", "total convention",
            "montant total accorde", "total accorde")),
)
TEMPLATE_COLUMNS: list[str] = [c.header for c in COLUMNS]
BY_KEY = {c.key: c for c in COLUMNS}


def header_key(text) -> str:
    """« Plafond (€) », « PLAFOND », « plafond » → « plafond »: lower case, no accents, no brackets."""
    text = unicodedata.normalize("NFKD", str(text or ""))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = re.sub(r"\([^)]*\)", " ", text)
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


_HEADER_KEYS: dict[str, str] = {}
for _column in COLUMNS:
    for _name in (_column.header, *_column.aliases):
        _HEADER_KEYS.setdefault(header_key(_name), _column.key)


# --- errors and results ------------------------------------------------------------------------------

class RowError(NamedTuple):
    """One error: the spreadsheet row (None: the whole file), the column's header ("" : the whole row)."""

    row: int | None
    column: str
    message: str

    def __str__(self):
        if self.row is not None and self.column:
            return f"Ligne {self.row}, colonne « {self.column} » : {self.message}"
        if self.row is not None:
            return f"Ligne {self.row} : {self.message}"
        if self.column:
            return f"Colonne « {self.column} » : {self.message}"
        return self.message


class ImportFileError(Exception):
    """The file cannot be imported at all (unreadable, no header row, missing columns). French messages."""

    def __init__(self, errors: Iterable[RowError] | str):
        if isinstance(errors, str):
            errors = [RowError(None, "", errors)]
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


@dataclass
class Row:
    """One data row of the file, its cells parsed; ``errors`` holds what could not be."""

    line: int
    headers: dict[str, str]  # column key → the header as written in the file
    year: int | None = None
    ej_finess: str = ""
    et_finess: str = ""
    title: str = ""
    ceiling: Decimal | None = None
    rate: Decimal | None = None
    reference: str = ""
    signed_on: dt.date | None = None
    paid_before: Decimal = Decimal("0.00")
    kind: str = ""  # "" when the file does not say
    total: Decimal | None = None  # the convention's total, when the file states it
    errors: list[RowError] = field(default_factory=list)

    def error(self, key: str, message: str) -> RowError:
        error = RowError(self.line, self.headers.get(key, BY_KEY[key].header if key in BY_KEY else ""), message)
        self.errors.append(error)
        return error


@dataclass
class PlannedAction:
    line: int
    position: int
    title: str
    establishment: Establishment
    ceiling: Decimal
    paid_before: Decimal


@dataclass
class PlannedGrant:
    line: int  # first row of the convention
    reference: str
    kind: str
    call_year: int
    rate: Decimal
    signed_on: dt.date
    legal_entity: LegalEntity
    beneficiary: Establishment
    actions: list[PlannedAction] = field(default_factory=list)
    stated_total: Decimal | None = None  # the file's « Montant total de la convention », if any
    total_line: int | None = None  # the row that states it

    @property
    def ceilings(self) -> Decimal:
        return sum((a.ceiling for a in self.actions), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        return self.stated_total if self.stated_total is not None else self.ceilings

    @property
    def paid_before(self) -> Decimal:
        return sum((a.paid_before for a in self.actions), Decimal("0.00"))


@dataclass
class ImportReport:
    """What an import found, and did: the grants planned (created unless a dry run), the errors."""

    region: Region | None = None
    dry_run: bool = False
    rows: int = 0
    grants: list[PlannedGrant] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    grants_created: int = 0
    actions_created: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def grant_count(self) -> int:
        return len(self.grants)

    @property
    def action_count(self) -> int:
        return sum(len(g.actions) for g in self.grants)

    @property
    def total(self) -> Decimal:
        return sum((g.total for g in self.grants), Decimal("0.00"))

    @property
    def ceilings(self) -> Decimal:
        return sum((g.ceilings for g in self.grants), Decimal("0.00"))

    @property
    def paid_before(self) -> Decimal:
        return sum((g.paid_before for g in self.grants), Decimal("0.00"))

    @property
    def summary(self) -> str:
        if self.errors:
            return (f"Import refusé : {_count(len(self.errors), 'erreur')} ; aucune subvention n'a été "
                    "enregistrée. Corrigez le fichier et recommencez.")
        where = f" (région {self.region.name})" if self.region else ""
        amounts = f"plafonds {euros(self.ceilings)}, déjà versé {euros(self.paid_before)}"
        if self.total != self.ceilings:
            amounts = (f"plafonds {euros(self.ceilings)}, montant total des conventions {euros(self.total)}, "
                       f"déjà versé {euros(self.paid_before)}")
        if self.dry_run:
            return (f"Simulation, rien n'est enregistré{where} : {_count(self.grant_count, 'subvention')} et "
                    f"{_count(self.action_count, 'action')} seraient créées ({amounts}).")
        return (f"Import terminé{where} : {_count(self.grants_created, 'subvention')} et "
                f"{_count(self.actions_created, 'action')} créées ({amounts}).")


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n > 1 else ''}"


# --- cells -------------------------------------------------------------------------------------------

def _shown(value) -> str:
    """A cell's value as the user would recognise it in a message."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, float | Decimal):
        return format(Decimal(repr(value)) if isinstance(value, float) else value, "f").replace(".", ",")
    if isinstance(value, dt.datetime):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    text = str(value).strip()
    return text if len(text) <= 60 else text[:57] + "…"


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _exact(value: float | int | Decimal) -> Decimal:
    """A number cell as a Decimal: a float through its shortest representation (0.1 → 0.1, not 0.1000…055)."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError("Cette cellule ne contient pas un nombre valide.")
        return Decimal(repr(value))
    return Decimal(value)


def _to_cents(value: Decimal, what: str) -> Decimal:
    rounded = value.quantize(CENT, rounding=ROUND_HALF_UP)
    if abs(value - rounded) > FLOAT_NOISE:
        raise ValidationError(f"{what} « {_shown(value)} » a plus de 2 décimales : arrondissez-le au centime.")
    return rounded


def parse_amount(value) -> Decimal | None:
    """An amount in euros from a cell: a number, or French text (« 1 200,50 », « 1200.50 € »).

    None for an empty cell; ValidationError (in French) when not an amount, negative, with more than
    2 decimals, or too large. A float from Excel is read through its shortest representation, so that
    1234.56 stays 1234.56; float noise below a millionth of a euro (0.1 + 0.2) is rounded away."""
    if _blank(value):
        return None
    if isinstance(value, bool) or isinstance(value, dt.date | dt.time):
        raise ValidationError(f"« {_shown(value)} » n'est pas un montant : indiquez un montant en euros, "
                              "par exemple 1 250,50.")
    if isinstance(value, int | float | Decimal):
        amount = _exact(value)
        if not amount.is_finite():
            raise ValidationError("Cette cellule ne contient pas un nombre valide.")
    else:
        text = str(value).strip()
        cleaned = re.sub(r"(?i)\s*(€|eur|euros?)\s*$", "", text)
        try:
            if "%" in cleaned:
                raise ValidationError("percent")
            amount = parse_decimal(cleaned)
        except ValidationError:
            raise ValidationError(f"« {_shown(text)} » n'est pas un montant : indiquez un montant en euros, "
                                  "par exemple 1 250,50.") from None
        if amount is None:
            return None
        if amount != amount.quantize(CENT, rounding=ROUND_HALF_UP):
            raise ValidationError(f"Le montant « {_shown(text)} » a plus de 2 décimales : arrondissez-le au centime.")
    amount = _to_cents(amount, "Le montant")
    if amount < 0:
        raise ValidationError(f"Le montant ne peut pas être négatif (« {_shown(value)} »).")
    if amount > MAX_AMOUNT:
        raise ValidationError(f"Le montant « {_shown(value)} » est trop élevé.")
    return amount + Decimal("0.00")  # never "-0.00"


def parse_rate(value, number_format: str = "") -> Decimal | None:
    """A co-financing rate in percent: 50, « 50 % », « 33,5 % », or 0.5 in a cell formatted as a percentage.

    A bare number below 1 (0,5) is refused as ambiguous (0,5 % or 50 %?), unless written « 0,5 % »."""
    if _blank(value):
        return None
    if isinstance(value, bool) or isinstance(value, dt.date | dt.time):
        raise ValidationError(f"« {_shown(value)} » n'est pas un taux : indiquez un pourcentage, par exemple 50 "
                              "pour 50 %.")
    if isinstance(value, int | float | Decimal):
        rate = _exact(value)
        explicit = "%" in (number_format or "")
        if explicit:
            rate *= 100
    else:
        text = str(value).strip()
        explicit = "%" in text
        try:
            rate = parse_decimal(text.replace("%", ""))
        except ValidationError:
            rate = None
        if rate is None:
            raise ValidationError(f"« {_shown(text)} » n'est pas un taux : indiquez un pourcentage, par exemple 50 "
                                  "pour 50 %.") from None
    shown = f"{_shown(rate.normalize())} %"
    rounded = rate.quantize(CENT, rounding=ROUND_HALF_UP)
    if abs(rate - rounded) > FLOAT_NOISE:
        raise ValidationError(f"Le taux « {shown} » a plus de 2 décimales.")
    rate = rounded
    if not explicit and 0 < rate < 1:
        raise ValidationError(f"Le taux « {_shown(value)} » est ambigu : indiquez le pourcentage, par exemple 50 "
                              "pour 50 % (ou écrivez « 0,5 % » si c'est bien un demi pour cent).")
    if not (0 < rate <= 100):
        raise ValidationError(f"Le taux de cofinancement doit être supérieur à 0 et au plus égal à 100 % ; "
                              f"« {shown} » ne l'est pas.")
    return rate


def parse_year(value) -> int | None:
    """The call's year: a whole number from 2015 to 2100 (a number cell or text)."""
    if _blank(value):
        return None
    year = None
    if isinstance(value, int) and not isinstance(value, bool):
        year = value
    elif isinstance(value, float) and value.is_integer():
        year = int(value)
    elif isinstance(value, Decimal) and value == value.to_integral_value():
        year = int(value)
    elif isinstance(value, str) and re.fullmatch(r"\s*\d{1,6}\s*", value):
        year = int(value)
    if year is None:
        raise ValidationError(f"« {_shown(value)} » n'est pas une année : indiquez l'année sur 4 chiffres, "
                              "par exemple 2022.")
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationError(f"L'année doit être comprise entre {FIRST_YEAR} et {LAST_YEAR} ; "
                              f"« {year} » ne l'est pas.")
    return year


def parse_finess(value) -> str:
    """A FINESS from a cell, normalised and validated. A number cell has lost its leading zero
    (010000024 typed as a number reads 10000024): it is restored on 9 digits."""
    if _blank(value):
        raise ValidationError("Le numéro FINESS est vide.")
    if isinstance(value, bool) or isinstance(value, dt.date | dt.time):
        raise ValidationError(f"« {_shown(value)} » n'est pas un numéro FINESS.")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValidationError(f"« {_shown(value)} » n'est pas un numéro FINESS.")
        value = int(value)
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, int):
        text = str(value)
        if len(text) == 8:  # departments 01 to 09: the leading zero was eaten by the number format
            text = "0" + text
        value = text
    return validate_finess(value)


_DMY = re.compile(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{2,4})(?:\s+\d{1,2}[:h]\d{2}(?::\d{2})?)?")
_YMD = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")


def parse_date(value, epoch=None) -> dt.date | None:
    """A date from a date cell, a serial number left in a General cell, or « jj/mm/aaaa » text."""
    if _blank(value):
        return None
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not 20000 <= value <= 80000:  # 1954 to 2119: anything else is not a date typed as a number
            raise ValidationError(f"« {_shown(value)} » n'est pas une date : indiquez-la au format jj/mm/aaaa, "
                                  "par exemple 15/11/2022.")
        day = from_excel(value, epoch) if epoch else from_excel(value)
        day = day.date() if isinstance(day, dt.datetime) else day
    else:
        text = str(value).strip()
        match = _DMY.fullmatch(text)
        ymd = None
        if match:
            d, m, y = match.groups()
            if len(y) != 4:
                raise ValidationError(f"L'année de la date « {_shown(text)} » doit être écrite sur 4 chiffres, "
                                      "par exemple 15/11/2022.")
            ymd = int(y), int(m), int(d)
        else:
            match = _YMD.fullmatch(text)
            if match:
                y, m, d = match.groups()
                ymd = int(y), int(m), int(d)
        if ymd is None:
            raise ValidationError(f"« {_shown(text)} » n'est pas une date : indiquez-la au format jj/mm/aaaa, "
                                  "par exemple 15/11/2022.")
        try:
            day = dt.date(*ymd)
        except ValueError:
            raise ValidationError(f"La date « {_shown(text)} » n'existe pas.") from None
    if day > timezone.localdate():
        raise ValidationError(f"La date de la convention ({day:%d/%m/%Y}) ne peut pas être dans le futur.")
    if day < EARLIEST_DATE:
        raise ValidationError(f"La date de la convention ({day:%d/%m/%Y}) est antérieure à 2000 : vérifiez-la.")
    return day


def _parse_text(value, max_length: int) -> str:
    if _blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime | dt.date):
        value = _shown(value)
    text = re.sub(r"\s+", " ", str(value)).strip()
    if len(text) > max_length:
        raise ValidationError(f"Le texte fait {len(text)} caractères ; {max_length} au plus sont admis.")
    return text


def parse_kind(value) -> str:
    """« convention », « avenant » (any case or accents); "" when empty."""
    if _blank(value):
        return ""
    key = header_key(value)
    if key.startswith("avenant"):
        return "avenant"
    if key.startswith("convention"):
        return "convention"
    raise ValidationError(f"« {_shown(value)} » n'est pas un acte reconnu : indiquez « convention » ou « avenant ».")


def _kind_of(reference: str) -> str:
    return "avenant" if "avenant" in header_key(reference) else "convention"


# --- reading the workbook ----------------------------------------------------------------------------

def _open_workbook(file):
    """The read-only workbook of a path, bytes or binary file, through ``spreadsheets``' guard."""
    if isinstance(file, str | Path):
        try:
            data = Path(file).read_bytes()
        except FileNotFoundError:
            raise ImportFileError(f"Impossible de lire le fichier « {file} » : fichier introuvable.") from None
        except OSError as exc:
            raise ImportFileError(f"Impossible de lire le fichier « {file} » : {exc.strerror or exc}.") from None
    elif isinstance(file, bytes | bytearray):
        data = bytes(file)
    else:
        if hasattr(file, "seek"):
            file.seek(0)
        data = file.read(LIMITS.max_bytes + 1)
    try:
        return spreadsheets.open_xlsx(data, LIMITS)
    except spreadsheets.SpreadsheetRefused as exc:
        raise ImportFileError(str(exc)) from None


UNREADABLE = spreadsheets.NOT_XLSX


def _cells(sheet):
    """Yield (row number, [(value, number_format), …]) for each row of a read-only sheet, within ``LIMITS``.
    A sheet is parsed as it is read: a broken or oversized one fails here, and is reported in French."""
    try:
        for number, row in spreadsheets.rows(sheet, LIMITS, values_only=False):
            yield number, [(getattr(c, "value", None), getattr(c, "number_format", None) or "") for c in row]
    except spreadsheets.SpreadsheetRefused as exc:
        raise ImportFileError(str(exc)) from None


def _find_header(sheet) -> tuple[int, list] | None:
    """The row among the first ones that names the most known columns (at least 2)."""
    best = None
    for number, cells in _cells(sheet):
        if number > HEADER_SEARCH_ROWS:
            break
        known = len({_HEADER_KEYS[header_key(v)] for v, _ in cells
                     if isinstance(v, str) and header_key(v) in _HEADER_KEYS})
        if known >= 2 and (best is None or known > best[0]):
            best = (known, number, [v for v, _ in cells])
    return (best[1], best[2]) if best else None


def _map_headers(line: int, values: list) -> tuple[dict[str, int], dict[str, str], list[RowError]]:
    positions: dict[str, int] = {}
    headers: dict[str, str] = {}
    errors: list[RowError] = []
    for index, value in enumerate(values):
        if not isinstance(value, str):
            continue
        key = _HEADER_KEYS.get(header_key(value))
        if key is None:
            continue
        if key in positions:
            errors.append(RowError(line, value.strip(), (
                f"Cette colonne est présente deux fois (colonnes {get_column_letter(positions[key] + 1)} et "
                f"{get_column_letter(index + 1)}) : n'en gardez qu'une.")))
            continue
        positions[key] = index
        headers[key] = value.strip()
    for column in COLUMNS:
        if column.required and column.key not in positions:
            errors.append(RowError(line, column.header, (
                "Colonne obligatoire absente du fichier : ajoutez-la (voir le modèle à télécharger).")))
    return positions, headers, errors


def read_rows(file) -> list[Row]:
    """The data rows of a workbook (path, bytes or binary file), each cell parsed and checked on its own.

    Raises ImportFileError when the file cannot be read, has no header row, or lacks a column; per-cell
    errors are left in each row's ``errors``. Cross-row and directory checks are ``import_grants``'s."""
    workbook = _open_workbook(file)
    try:
        found = None
        for sheet in workbook.worksheets:
            if header_key(sheet.title) == header_key(GUIDE_SHEET):
                continue
            found = _find_header(sheet)
            if found:
                break
        if not found:
            raise ImportFileError(
                "Aucune ligne d'en-têtes reconnue : la première ligne de la feuille doit nommer les colonnes "
                f"du modèle ({', '.join(TEMPLATE_COLUMNS[:-1])}). Téléchargez le modèle et recopiez-y vos données.")
        header_line, header_values = found
        positions, headers, errors = _map_headers(header_line, header_values)
        if errors:
            raise ImportFileError(errors)
        epoch = getattr(workbook, "epoch", None)
        rows: list[Row] = []
        empty_run = 0
        for number, cells in _cells(sheet):
            if number <= header_line:
                continue
            if all(_blank(v) for v, _ in cells):
                empty_run += 1
                if empty_run >= EMPTY_ROWS_STOP:
                    break
                continue
            empty_run = 0
            if len(rows) >= MAX_ROWS:
                raise ImportFileError(f"Le fichier contient plus de {MAX_ROWS} lignes : découpez-le en plusieurs "
                                      "fichiers.")
            rows.append(_parse_row(number, cells, positions, headers, epoch))
        return rows
    finally:
        workbook.close()


def _parse_row(line: int, cells: list, positions: dict[str, int], headers: dict[str, str], epoch) -> Row:
    row = Row(line=line, headers=headers)

    def cell(key):
        index = positions.get(key)
        if index is None or index >= len(cells):
            return None, ""
        return cells[index]

    def check(key, parse, *, required=True, empty_message=None):
        value, number_format = cell(key)
        if required and _blank(value):
            row.error(key, empty_message or "Cette cellule est vide ; elle est obligatoire.")
            return None
        try:
            return parse(value, number_format)
        except ValidationError as exc:
            row.error(key, " ".join(exc.messages))
            return None

    row.year = check("year", lambda v, f: parse_year(v))
    row.ej_finess = check("ej_finess", lambda v, f: parse_finess(v)) or ""
    row.et_finess = check("et_finess", lambda v, f: parse_finess(v)) or ""
    row.title = check("title", lambda v, f: _parse_text(v, 500)) or ""
    row.ceiling = check("ceiling", lambda v, f: parse_amount(v))
    if row.ceiling is not None and row.ceiling <= 0:
        row.error("ceiling", "Le plafond d'une action financée doit être supérieur à 0.")
        row.ceiling = None
    row.rate = check("rate", parse_rate)
    row.reference = check("reference", lambda v, f: _parse_text(v, 100)) or ""
    row.signed_on = check("signed_on", lambda v, f: parse_date(v, epoch))
    paid = check("paid_before", lambda v, f: parse_amount(v), required=False)
    row.paid_before = paid if paid is not None else Decimal("0.00")
    if "kind" in positions:
        row.kind = check("kind", lambda v, f: parse_kind(v), required=False) or ""
    if "total" in positions:
        row.total = check("total", lambda v, f: parse_amount(v), required=False)
    if row.ceiling is not None and paid is not None and paid > row.ceiling:
        row.error("paid_before", f"Le montant déjà versé ({euros(paid)}) dépasse le plafond de l'action "
                                 f"({euros(row.ceiling)}).")
    return row


# --- checking against the directory and the platform, then writing ----------------------------------

def can_import_grants(user, region=None) -> bool:
    """ARS staff import into their own region; a platform superuser into any."""
    if not is_ars_staff(user):
        return False
    return region is None or is_ars_of(user, region)


def _establishment_label(et: Establishment) -> str:
    return f"« {et.name} » (FINESS {et.finess})"


def _check_directory(rows: list[Row], region: Region | None, report: ImportReport):
    """Establishments and legal entities from the directory; errors on the rows that do not fit.
    Returns the region (given, or that of every establishment of the file) and the lookups."""
    et_numbers = {r.et_finess for r in rows if r.et_finess}
    ej_numbers = {r.ej_finess for r in rows if r.ej_finess}
    establishments = Establishment.objects.select_related("legal_entity", "region").in_bulk(
        list(et_numbers), field_name="finess")
    legal_entities = LegalEntity.objects.in_bulk(list(ej_numbers), field_name="finess")

    if region is None:
        regions = {et.region for et in establishments.values() if et.region is not None}
        if len(regions) == 1:
            region = regions.pop()
        elif len(regions) > 1:
            names = ", ".join(sorted(r.name for r in regions))
            report.errors.append(RowError(None, "", (
                f"Les établissements du fichier relèvent de plusieurs régions ({names}) : indiquez la région "
                "de l'ARS qui importe ; seuls ses établissements peuvent figurer dans le fichier.")))
    report.region = region

    for row in rows:
        et = establishments.get(row.et_finess) if row.et_finess else None
        ej = legal_entities.get(row.ej_finess) if row.ej_finess else None
        if row.ej_finess and ej is None:
            row.error("ej_finess", (
                f"L'entité juridique de FINESS « {row.ej_finess} » n'est pas dans l'annuaire de la plateforme : "
                "importez d'abord l'annuaire des établissements (table SAE), ou faites saisir l'établissement "
                "par son déposant (« Mes établissements »), puis recommencez."))
        if row.et_finess and et is None:
            row.error("et_finess", (
                f"L'établissement de FINESS « {row.et_finess} » n'est pas dans l'annuaire de la plateforme : "
                "importez d'abord l'annuaire des établissements (table SAE), ou faites saisir l'établissement "
                "par son déposant (« Mes établissements »), puis recommencez. Il n'est pas créé par l'import."))
            continue
        if et is None:
            continue
        if ej is not None and et.legal_entity_id != ej.pk:
            if et.legal_entity is None:
                row.error("et_finess", (
                    f"L'établissement {_establishment_label(et)} n'est rattaché à aucune entité juridique dans "
                    f"l'annuaire, et non à celle de FINESS « {ej.finess} » : faites compléter l'annuaire avant "
                    "l'import."))
            else:
                row.error("et_finess", (
                    f"L'établissement {_establishment_label(et)} n'appartient pas à l'entité juridique de FINESS "
                    f"« {ej.finess} » : dans l'annuaire, il relève de « {et.legal_entity.name} » (FINESS "
                    f"{et.legal_entity.finess}). Vérifiez les deux numéros."))
        if region is not None and et.region_id != region.pk:
            if et.region is None:
                row.error("et_finess", (
                    f"L'établissement {_establishment_label(et)} n'a pas de région dans l'annuaire : il ne peut "
                    f"pas être rattaché à la région {region.name}."))
            else:
                row.error("et_finess", (
                    f"L'établissement {_establishment_label(et)} relève de la région {et.region.name}, pas de la "
                    f"région {region.name} : seule l'ARS de sa région peut importer ses subventions."))
    return region, establishments, legal_entities


_SAME = [  # what the rows of one convention share, how to show it
    ("ej_finess", "un FINESS juridique différent", lambda v: f"« {v} »"),
    ("year", "une année d'appel à projets différente", str),
    ("rate", "un taux de cofinancement différent", percent),
    ("signed_on", "une date de convention différente", lambda v: f"{v:%d/%m/%Y}"),
    ("kind", "un acte différent", lambda v: f"« {v} »"),
]


def _group(rows: list[Row], establishments, legal_entities) -> list[PlannedGrant]:
    """Rows → grants, by convention reference in the order of the file; errors on rows that disagree
    with the first row of their convention."""
    plans: dict[str, PlannedGrant] = {}
    firsts: dict[str, Row] = {}
    seen_actions: dict[tuple, int] = {}
    for row in rows:
        if row.errors:
            continue
        kind = row.kind or _kind_of(row.reference)
        first = firsts.get(row.reference)
        if first is None:
            firsts[row.reference] = row
            plans[row.reference] = PlannedGrant(
                line=row.line, reference=row.reference, kind=kind, call_year=row.year, rate=row.rate,
                signed_on=row.signed_on, legal_entity=legal_entities[row.ej_finess],
                beneficiary=establishments[row.et_finess])
        else:
            first_kind = first.kind or _kind_of(first.reference)
            differs = False
            for key, what, show in _SAME:
                mine, theirs = (kind, first_kind) if key == "kind" else (getattr(row, key), getattr(first, key))
                if mine != theirs:
                    row.error(key, (
                        f"Cette ligne porte la même référence de convention « {row.reference} » que la ligne "
                        f"{first.line}, mais {what} ({show(mine)} au lieu de {show(theirs)}) : les "
                        "lignes d'une même convention doivent concorder."))
                    differs = True
            if differs:
                continue
        action_key = (row.reference, header_key(row.title), row.et_finess)
        if action_key in seen_actions:
            row.error("title", (
                f"L'action « {row.title} » de cet établissement figure déjà ligne {seen_actions[action_key]} "
                f"pour la convention « {row.reference} » : supprimez le doublon."))
            continue
        seen_actions[action_key] = row.line
        plan = plans[row.reference]
        if row.total is not None:
            if plan.stated_total is not None and plan.stated_total != row.total:
                row.error("total", (
                    f"Cette ligne porte la même référence de convention « {row.reference} » que la ligne "
                    f"{plan.total_line}, mais un montant total différent ({euros(row.total)} au lieu de "
                    f"{euros(plan.stated_total)}) : les lignes d'une même convention doivent concorder."))
                continue
            plan.stated_total, plan.total_line = row.total, row.line
        plan.actions.append(PlannedAction(
            line=row.line, position=len(plan.actions) + 1, title=row.title,
            establishment=establishments[row.et_finess], ceiling=row.ceiling, paid_before=row.paid_before))
    by_line = {row.line: row for row in rows}
    for plan in plans.values():
        if plan.ceilings > MAX_AMOUNT:
            firsts[plan.reference].error("ceiling", (
                f"Le total des plafonds de la convention « {plan.reference} » ({euros(plan.ceilings)}) est trop "
                "élevé."))
        elif plan.stated_total is not None:
            try:
                check_total(plan.stated_total, plan.ceilings, plan.paid_before)
            except ValidationError as exc:
                by_line[plan.total_line].error("total", f"Convention « {plan.reference} » : "
                                                        f"{_lower_first(exc.message_dict['total'][0])}")
    return [p for p in plans.values() if p.actions]


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _already_there(plans: list[PlannedGrant], firsts_by_reference: dict[str, Row]) -> None:
    existing = set(Grant.objects.filter(convention_reference__in=[p.reference for p in plans])
                   .values_list("convention_reference", flat=True))
    for reference in sorted(existing, key=lambda r: firsts_by_reference[r].line):
        firsts_by_reference[reference].error("reference", (
            f"La convention « {reference} » est déjà enregistrée sur la plateforme : elle n'est pas importée "
            "une seconde fois. Retirez ses lignes du fichier."))


BATCH = 500


def _write(plans: list[PlannedGrant], region: Region, user, report: ImportReport, file_name: str) -> None:
    """Grants, actions and their establishments in bulk, in one transaction, with one audit record."""
    now = timezone.now()
    with transaction.atomic():
        grants = Grant.objects.bulk_create([
            Grant(region=region, call=None, call_year=plan.call_year, beneficiary=plan.beneficiary,
                  legal_entity=plan.legal_entity, rate=plan.rate, total=plan.total, convention_kind=plan.kind,
                  convention_reference=plan.reference, convention_signed_on=plan.signed_on,
                  status=GrantStatus.ACTIVE, activated_at=now, imported=True)
            for plan in plans], batch_size=BATCH)
        if any(g.pk is None for g in grants):  # pragma: no cover - a database that returns no ids
            ids = dict(Grant.objects.filter(convention_reference__in=[p.reference for p in plans])
                       .values_list("convention_reference", "pk"))
            for grant in grants:
                grant.pk = ids[grant.convention_reference]
        planned = [(grant, action) for grant, plan in zip(grants, plans, strict=True) for action in plan.actions]
        actions = GrantAction.objects.bulk_create([
            GrantAction(grant=grant, position=a.position, title=a.title, ceiling=a.ceiling, paid_before=a.paid_before,
                        establishments_text=f"{a.establishment.name} ({a.establishment.finess})"[:1000])
            for grant, a in planned], batch_size=BATCH)
        if any(a.pk is None for a in actions):  # pragma: no cover - a database that returns no ids
            ids = {(g, p): pk for g, p, pk in GrantAction.objects.filter(grant__in=grants)
                   .values_list("grant_id", "position", "pk")}
            for action in actions:
                action.pk = ids[(action.grant_id, action.position)]
        through = GrantAction.establishments.through
        through.objects.bulk_create([
            through(grantaction_id=action.pk, establishment_id=a.establishment.pk)
            for action, (_, a) in zip(actions, planned, strict=True)], batch_size=BATCH)
        report.grants_created, report.actions_created = len(grants), len(actions)
        audit.record(user, "grants:import", object_type="funding.grant", region=region.code,
                     file=file_name[:200], grants=report.grants_created, actions=report.actions_created,
                     total=report.total, paid_before=report.paid_before,
                     references=[p.reference for p in plans][:200])


def import_grants(file, region: Region | None, user, dry_run: bool = False, *, file_name: str = "") -> ImportReport:
    """Check a workbook of grants decided before the platform and, if every row is right and this is not
    a dry run, create its grants and actions in one transaction. ``region`` None: the user's region, else
    (a superuser, the command) the one region of the file's establishments. ``user`` None: a command run
    from the server's shell; otherwise the user must be ARS staff of the region (PermissionDenied)."""
    if region is None and user is not None and getattr(user, "region_id", None) and not user.is_superuser:
        region = user.region
    if user is not None and not can_import_grants(user, region):
        raise PermissionDenied("Seuls les agents de l'ARS de la région peuvent importer ses subventions.")
    report = ImportReport(region=region, dry_run=dry_run)
    try:
        rows = read_rows(file)
    except ImportFileError as exc:
        report.errors = exc.errors
        return report
    report.rows = len(rows)
    if not rows:
        report.errors.append(RowError(None, "", "Le fichier ne contient aucune ligne de données sous les en-têtes."))
        return report

    region, establishments, legal_entities = _check_directory(rows, region, report)
    plans = _group(rows, establishments, legal_entities)
    firsts = {}
    for row in rows:
        firsts.setdefault(row.reference, row)
    _already_there(plans, firsts)
    report.errors += [e for row in rows for e in row.errors]
    report.errors.sort(key=lambda e: (e.row or 0, _column_rank(e.column)))
    if report.errors:
        return report
    if region is None:  # no establishment could tell (cannot happen once every row is valid)
        report.errors.append(RowError(None, "", "Indiquez la région de l'ARS qui importe."))
        return report
    report.grants = plans
    if dry_run:
        return report
    try:
        name = file_name or str(file if isinstance(file, str | Path) else getattr(file, "name", "") or "")
        _write(plans, region, user, report, name)
    except IntegrityError:
        report.grants_created = report.actions_created = 0
        report.errors.append(RowError(None, "", (
            "Une des conventions du fichier vient d'être enregistrée par un autre import : rien n'a été "
            "enregistré. Vérifiez à nouveau le fichier.")))
    return report


def _column_rank(header: str) -> int:
    key = _HEADER_KEYS.get(header_key(header))
    return list(BY_KEY).index(key) if key else len(COLUMNS)


# --- the template file -------------------------------------------------------------------------------

HEADER_FILL = PatternFill("solid", fgColor="DDE5F4")
WRAP = Alignment(wrap_text=True, vertical="top")


def template_workbook() -> bytes:
    """The workbook to fill in: the « Subventions » sheet (headers in bold, FINESS and references as text,
    amounts in euros, dates as dates, input checks) and the « Mode d'emploi » sheet (each column explained
    with an example, the rules of the import)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = DATA_SHEET
    last_row = MAX_ROWS + 1
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        cell = sheet.cell(row=1, column=index, value=column.header)
        cell.font, cell.fill, cell.alignment = BOLD, HEADER_FILL, WRAP
        dimension = sheet.column_dimensions[letter]
        dimension.width = column.width
        if column.number_format:
            dimension.number_format = column.number_format
    sheet.freeze_panes = "A2"
    sheet.row_dimensions[1].height = 32

    def check(letter, validation):
        validation.showErrorMessage = True
        validation.errorTitle = "Valeur refusée"
        sheet.add_data_validation(validation)
        validation.add(f"{letter}2:{letter}{last_row}")

    letters = {c.key: get_column_letter(i) for i, c in enumerate(COLUMNS, start=1)}
    check(letters["year"], DataValidation(type="whole", operator="between", formula1=str(FIRST_YEAR),
                                          formula2=str(LAST_YEAR), error="Une année de 2015 à 2100."))
    for key in ("ej_finess", "et_finess"):
        check(letters[key], DataValidation(type="textLength", operator="equal", formula1="9",
                                           error="Un numéro FINESS de 9 caractères."))
    for key in ("ceiling", "paid_before", "total"):
        check(letters[key], DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0",
                                           error="Un montant en euros, positif ou nul."))
    check(letters["signed_on"], DataValidation(type="date", operator="greaterThan", formula1="36526",
                                               error="Une date au format jj/mm/aaaa."))
    check(letters["kind"], DataValidation(type="list", formula1='"convention,avenant"', allow_blank=True,
                                          error="« convention » ou « avenant »."))

    guide = workbook.create_sheet(GUIDE_SHEET)
    guide.column_dimensions["A"].width = 30
    guide.column_dimensions["B"].width = 13
    guide.column_dimensions["C"].width = 80
    guide.column_dimensions["D"].width = 28
    title = guide.cell(row=1, column=1, value="Reprise des subventions antérieures à la plateforme")
    title.font = Font(bold=True, size=14)
    rules = [
        "Remplissez la feuille « Subventions » : une ligne par action financée, sous la ligne d'en-têtes.",
        "Les lignes qui portent la même référence de convention forment une seule subvention : même FINESS "
        "juridique, même année, même taux et même date de convention.",
        "Le bénéficiaire de la subvention est l'établissement de la première ligne de la convention ; chaque "
        "action concerne l'établissement de sa ligne. Le montant total est la somme des plafonds, sauf si la "
        "colonne facultative « Montant total de la convention (€) » en indique un plus bas (celui de la "
        "convention) : les versements ne le dépasseront jamais.",
        "Les établissements doivent figurer dans l'annuaire de la plateforme, appartenir à l'entité juridique "
        "de la ligne et relever de votre région.",
        "Le fichier est vérifié en entier : tant qu'une ligne contient une erreur, rien n'est enregistré. Les "
        "erreurs sont signalées par ligne et par colonne.",
        "Une référence de convention déjà enregistrée sur la plateforme est signalée et n'est pas importée une "
        "seconde fois.",
        "Les subventions importées sont actives : leur convention est considérée signée à la date indiquée.",
    ]
    for offset, rule in enumerate(rules, start=3):
        cell = guide.cell(row=offset, column=1, value=f"• {rule}")
        guide.merge_cells(start_row=offset, start_column=1, end_row=offset, end_column=4)
        cell.alignment = WRAP
        guide.row_dimensions[offset].height = 30
    start = len(rules) + 4
    for index, header in enumerate(("Colonne", "Obligatoire", "Contenu attendu", "Exemple"), start=1):
        cell = guide.cell(row=start, column=index, value=header)
        cell.font, cell.fill = BOLD, HEADER_FILL
    for offset, column in enumerate(COLUMNS, start=start + 1):
        guide.cell(row=offset, column=1, value=column.header).font = BOLD
        guide.cell(row=offset, column=2, value="oui" if column.required else "non")
        guide.cell(row=offset, column=3, value=column.help).alignment = WRAP
        example = guide.cell(row=offset, column=4, value=column.example)
        example.alignment = Alignment(horizontal="left", vertical="top")
        if isinstance(column.example, str):
            example.data_type = "s"
        if column.number_format:
            example.number_format = column.number_format
        guide.row_dimensions[offset].height = 45
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
