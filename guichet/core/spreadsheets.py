"""What every spreadsheet the platform writes shares: number formats, styles, safe cells and file names.

Cells are typed (numbers as numbers, dates as dates); whatever a person typed is written as text, so
that « =… » never becomes a formula, without the control characters an XLSX file cannot hold. CSV fields
follow the same rules as far as CSV allows (``csv_field``, ``csv_identifier``).
"""

import datetime as dt
import re
from decimal import Decimal

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
