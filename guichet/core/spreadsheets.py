"""What every spreadsheet the platform writes shares: number formats, styles, safe cells and file names.

Cells are typed (numbers as numbers, dates as dates); whatever a person typed is written as text, so
that « =… » never becomes a formula, without the control characters an XLSX file cannot hold.
"""

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
