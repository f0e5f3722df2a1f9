"""What every spreadsheet the platform writes or reads shares: number formats, styles, safe cells and file names,
and the one guard every uploaded workbook goes through before it is read.

Cells are typed (numbers as numbers, dates as dates); whatever a person typed is written as text, so
that « =… » never becomes a formula, without the control characters an XLSX file cannot hold. CSV fields
follow the same rules as far as CSV allows (``csv_field``, ``csv_identifier``).

Reading (``open_xlsx``, ``rows``): an XLSX is a zip, and a few hundred kilobytes of it can unpack into
gigabytes (one huge cell, huge shared strings, millions of rows) that openpyxl would hold in memory. The
zip's directory states each member's uncompressed size, and Python's zipfile never returns more than the
stated size (a member that lies fails its CRC check): so the sizes are checked from the directory, before
openpyxl parses anything, and the rows are then read with a limit on their number, their width and the
length of each cell. Every refusal is a ``SpreadsheetRefused`` whose message is in French.
"""

import datetime as dt
import io
import re
import warnings
import zipfile
from dataclasses import dataclass
from decimal import Decimal

from openpyxl import load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font

EUROS = '#,##0.00 "€"'
TEXT = "@"
DATE = "DD/MM/YYYY"
DATE_TIME = "DD/MM/YYYY HH:MM"
BOLD = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORBIDDEN_IN_FILENAMES = '/\\:*?"<>|'
# What makes a spreadsheet program read a CSV field as a formula (OWASP « CSV injection »).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
IDENTIFIER = re.compile(r"[0-9A-Za-z]+")


def clean(value):
    """A value as it may go into a cell: text without the control characters XLSX refuses."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def style(cell, value, number_format=None, font=None, alignment=None):
    """Type and style ``cell`` holding ``value``: text stays text (never a formula)."""
    if isinstance(value, str):
        cell.data_type = "s"
    if number_format:
        cell.number_format = number_format
    if font:
        cell.font = font
    if alignment:
        cell.alignment = alignment
    return cell


def write_only_cell(ws, value, number_format=None, font=None, alignment=None):
    """A typed cell for a write-only worksheet (large exports)."""
    value = clean(value)
    return style(WriteOnlyCell(ws, value=value), value, number_format, font, alignment)


# XlsxWriter's options for the large exports: a row is written to disk as soon as it is complete (bounded
# memory); text is only ever written with ``write_string``, and these keep even ``write`` from reading a text as a
# formula, a number or a link.
XLSXWRITER_OPTIONS = {"constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
                      "strings_to_urls": False, "default_date_format": DATE}


def streamed_workbook(out):
    """An XlsxWriter workbook writing into the file object ``out``, row by row (``write_streamed_row``): for
    exports of many thousands of rows, where openpyxl's per-cell objects take most of the time."""
    import xlsxwriter  # only the large exports need it

    return xlsxwriter.Workbook(out, XLSXWRITER_OPTIONS)


class StreamedFormats:
    """The XlsxWriter format objects of a workbook, one per number format (created once, shared by cells)."""

    def __init__(self, workbook):
        self.workbook, self.cache = workbook, {}
        self.bold = workbook.add_format({"bold": True})

    def __call__(self, number_format):
        if number_format is None:
            return None
        if number_format not in self.cache:
            self.cache[number_format] = self.workbook.add_format({"num_format": number_format})
        return self.cache[number_format]


def write_streamed_row(ws, row_number, values, formats, defaults):
    """Write ``values`` into row ``row_number`` (from 0) of an XlsxWriter worksheet, typed as ``write_only_cell``
    types them: a text is always a text cell (never a formula), a Decimal a number, a date a date (with its column's
    format, else ``defaults``' date format); nothing is written for an empty value. ``formats`` holds each
    column's format object (or None); ``defaults`` is the ``StreamedFormats`` of the workbook."""
    for column, (value, number_format) in enumerate(zip(values, formats, strict=True)):
        if value is None:
            continue
        kind = type(value)
        if kind is str:
            ws.write_string(row_number, column, clean(value), number_format)
        elif kind is Decimal or kind is int or kind is float:
            ws.write_number(row_number, column, value, number_format)
        elif kind is bool:
            ws.write_boolean(row_number, column, value, number_format)
        elif kind is dt.datetime:
            ws.write_datetime(row_number, column, value, number_format or defaults(DATE_TIME))
        elif kind is dt.date:
            ws.write_datetime(row_number, column, value, number_format or defaults(DATE))
        elif isinstance(value, int | float | Decimal):  # subclasses (an IntEnum…)
            ws.write_number(row_number, column, value, number_format)
        else:
            ws.write_string(row_number, column, clean(str(value)), number_format)


def file_name_part(text: str, limit: int) -> str:
    """``text`` as part of a file name: characters a file name cannot hold replaced by « - »."""
    cleaned = "".join("-" if ch in FORBIDDEN_IN_FILENAMES else ch for ch in text if ch.isprintable())
    return cleaned.strip(" .")[:limit]


def csv_field(value) -> str:
    """A CSV field as French Excel reads it: decimal comma, dd/mm/yyyy dates; a text that would start a
    formula gets a leading apostrophe (it is shown as typed, never computed)."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}".replace(".", ",")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_identifier(value) -> str:
    """An identifier (FINESS, SIREN, SIRET) as a CSV field that a spreadsheet program opens, with its
    default settings, as the same text.

    CSV has no types: Excel (and LibreOffice) read « 046620241 » as the number 46620241 — the leading zero
    of a SIREN, of a FINESS of the Ain… is lost, and a SIRET shows in scientific notation (4,66202E+12). A leading
    apostrophe is shown as part of the value by Excel when it opens a CSV file, and a « text » column type
    needs the import wizard. Written as the formula ``="046620241"``, the cell is computed by Excel as
    that very text, whatever its locale (LibreOffice too when it evaluates formulas; when it does not, it
    shows the characters themselves, zeros included), and a program reads it back by stripping ``="`` and
    ``"``. Only strings of letters and digits are written this way — the identifiers the directory
    checked —, so nothing a person typed can become a formula: anything else is an ordinary text field."""
    text = "" if value is None else str(value)
    if text and IDENTIFIER.fullmatch(text):
        return f'="{text}"'
    return csv_field(text)


# --- reading an uploaded workbook -----------------------------------------------------------------

MB = 1024 * 1024
SHARED_STRINGS = "xl/sharedStrings.xml"
NOT_XLSX = ("Le fichier n'est pas un classeur Excel (.xlsx) lisible : enregistrez-le au format « Classeur Excel "
            "(.xlsx) » et déposez-le à nouveau.")


class SpreadsheetRefused(Exception):
    """An uploaded workbook refused before or while it is read; the message is in French."""


@dataclass(frozen=True)
class Limits:
    """What a reader accepts. The defaults fit the platform's own templates many times over."""

    max_bytes: int = 10 * MB  # the file as uploaded
    max_uncompressed: int = 60 * MB  # all the zip's members once unpacked
    max_shared_strings: int = 20 * MB  # the workbook's text table, which openpyxl loads whole
    max_rows: int = 20000  # rows of a sheet, empty ones included (openpyxl fills the gaps)
    max_columns: int = 60  # columns read per row; further ones are not read
    max_cell_length: int = 5000  # five times the longest text a reader keeps (a validation reason, 1 000)


DEFAULT_LIMITS = Limits()


def _mb(size: int) -> str:
    return f"{size / MB:.0f} Mo"


def check_xlsx(data: bytes, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse, from its zip directory only, a file that is not an XLSX or would unpack beyond ``limits``."""
    if not data:
        raise SpreadsheetRefused("Le fichier déposé est vide.")
    if len(data) > limits.max_bytes:
        raise SpreadsheetRefused(f"Le fichier dépasse {_mb(limits.max_bytes)} : déposez un classeur sans images ni "
                                 "onglets volumineux, ou découpez-le en plusieurs fichiers.")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise SpreadsheetRefused("Le fichier est au format Excel 97-2003 (.xls) : ouvrez-le et enregistrez-le au "
                                 "format « Classeur Excel (.xlsx) » avant de le déposer.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            names = {m.filename for m in members}
            if "mimetype" in names and b"opendocument" in archive.read("mimetype")[:200]:
                raise SpreadsheetRefused("Le fichier est au format OpenDocument (.ods) : enregistrez-le au format "
                                         "« Classeur Excel (.xlsx) » avant de le déposer.")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise SpreadsheetRefused(NOT_XLSX) from None
    strings = sum(m.file_size for m in members if m.filename == SHARED_STRINGS)
    if strings > limits.max_shared_strings:
        raise SpreadsheetRefused(
            f"Le texte du classeur occuperait {_mb(strings)} ({_mb(limits.max_shared_strings)} au plus) : une "
            "cellule ou un onglet contient sans doute un texte démesuré. Gardez seulement les données demandées.")
    unpacked = sum(m.file_size for m in members)
    if unpacked > limits.max_uncompressed:
        raise SpreadsheetRefused(
            f"Le classeur occuperait {_mb(unpacked)} une fois décompressé ({_mb(limits.max_uncompressed)} au plus) : "
            "il contient sans doute des images, des onglets ou des lignes en trop. Gardez seulement les données "
            "demandées et déposez-le à nouveau.")


def open_xlsx(data: bytes, limits: Limits = DEFAULT_LIMITS):
    """A read-only workbook (values, not formulas) of an uploaded file, once ``check_xlsx`` accepted it.
    The caller closes it. Any failure of openpyxl on a broken file is a ``SpreadsheetRefused``."""
    check_xlsx(data, limits)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about extensions it does not keep
            return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - any failure to parse an uploaded file means « not a readable xlsx »
        raise SpreadsheetRefused(NOT_XLSX) from None


def rows(sheet, limits: Limits = DEFAULT_LIMITS, *, values_only: bool = True):
    """The rows of a read-only sheet, numbered from 1, at most ``limits.max_columns`` wide; a sheet longer than
    ``limits.max_rows`` or a cell longer than ``limits.max_cell_length`` is refused as soon as it is met.
    A sheet openpyxl cannot parse is refused as unreadable."""
    from openpyxl.utils import get_column_letter

    if hasattr(sheet, "reset_dimensions"):
        sheet.reset_dimensions()  # the size a file claims is not trusted: rows are read as they come
    iterator = iter(sheet.iter_rows(max_col=limits.max_columns, values_only=values_only))
    number = 0
    while True:
        try:
            row = next(iterator)
        except StopIteration:
            return
        except Exception:  # noqa: BLE001 - XML or zip errors of a damaged sheet, whatever their class
            raise SpreadsheetRefused(NOT_XLSX) from None
        number += 1
        if number > limits.max_rows:
            raise SpreadsheetRefused(
                f"L'onglet « {sheet.title} » compte plus de {limits.max_rows} lignes : supprimez les lignes en trop "
                "(ou découpez le fichier) et déposez-le à nouveau.")
        for index, cell in enumerate(row, start=1):
            value = cell if values_only else getattr(cell, "value", None)
            if isinstance(value, str) and len(value) > limits.max_cell_length:
                raise SpreadsheetRefused(
                    f"Onglet « {sheet.title} », cellule {get_column_letter(index)}{number} : le texte fait "
                    f"{len(value)} caractères ; {limits.max_cell_length} au plus sont admis.")
        yield number, row
