"""Writing an ``exports.Export`` as CSV (streamed, French Excel's dialect), XLSX (XlsxWriter, row by row) or
ODS (streamed by stream-write-ods: the file is zipped as it is sent, never held whole).

CSV: UTF-8 with a BOM (so that Excel reads the accents), « ; » between fields, decimal comma, dd/mm/yyyy dates,
FINESS / SIRET kept as text, the main table only (a CSV file has one sheet: the repeated rows are in the XLSX
and ODS files). XLSX and ODS: one sheet per table, a first header row with the form's parts, a second with the
columns' labels, typed cells (ODS cells carry no number formats here: amounts are plain numbers, exact to the
cent). In every format, whatever a person typed is text, never a formula (``guichet.core.spreadsheets``).
"""

import csv
import datetime as dt
import tempfile
from decimal import Decimal

from stream_write_ods import stream_write_ods

from guichet.core.spreadsheets import (
    EUROS,
    TEXT,
    StreamedFormats,
    clean,
    csv_field,
    csv_identifier,
    streamed_workbook,
    write_streamed_row,
)

from .exports import IDENTIFIER, Export, Table

BOM = "\ufeff"
SHEET_TITLE_FORBIDDEN = "[]:*?/\\"


class _Line:
    """A file-like object whose ``write`` returns what it was given: the csv module then yields lines."""

    def write(self, text):
        return text


def csv_value(value, number_format) -> str:
    if number_format == IDENTIFIER:
        return csv_identifier(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, Decimal) and number_format != EUROS:
        return format(value, "f").replace(".", ",")
    return csv_field(value)


def csv_lines(export: Export):
    """The CSV file, line by line (for a StreamingHttpResponse)."""
    writer = csv.writer(_Line(), delimiter=";", lineterminator="\r\n")
    table = export.main
    yield BOM + writer.writerow([csv_field(c.header) for c in table.columns])
    formats = [c.number_format for c in table.columns]
    for row in table.rows:
        yield writer.writerow([csv_value(v, f) for v, f in zip(row, formats, strict=True)])


def _sheet_title(title: str, taken: set) -> str:
    base = "".join(" " if ch in SHEET_TITLE_FORBIDDEN else ch for ch in title).strip()[:28] or "Feuille"
    name, n = base, 2
    while name.lower() in taken:
        name, n = f"{base[:26]} {n}", n + 1
    taken.add(name.lower())
    return name


def _write_table(wb, styles: StreamedFormats, table: Table, taken: set):
    ws = wb.add_worksheet(_sheet_title(table.title, taken))
    ws.freeze_panes(2, 1)  # the dossier's number and the two header rows stay in view
    # In constant memory, a row is written out once a later row is begun: each row is written whole, in order.
    previous = None
    for index, column in enumerate(table.columns):
        if column.part and column.part != previous:
            ws.write_string(0, index, clean(column.part), styles.bold)
        previous = column.part
    for index, column in enumerate(table.columns):
        ws.write_string(1, index, clean(column.header), styles.bold)
    formats = [styles(TEXT if c.number_format == IDENTIFIER else c.number_format) for c in table.columns]
    for number, row in enumerate(table.rows, start=2):
        write_streamed_row(ws, number, row, formats, styles)


def xlsx_file(export: Export):
    """The XLSX workbook in a temporary file (in memory while small, on disk beyond), positioned at its start.
    XlsxWriter writes each sheet's rows to a temporary file as they come (bounded memory), then zips them."""
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    wb = streamed_workbook(out)
    styles = StreamedFormats(wb)
    taken = set()
    _write_table(wb, styles, export.main, taken)
    for table in export.repeats:
        _write_table(wb, styles, table, taken)
    wb.close()
    out.seek(0)
    return out


ODS = "application/vnd.oasis.opendocument.spreadsheet"
# stream-write-ods' types, plus Decimal written as its exact digits (a float would round cents). A text cell of
# ODS is never a formula (a formula is a table:formula attribute, which is never written).
ODS_ENCODERS = (
    (bool, ("boolean", "office:boolean-value", None, lambda v: str(v).lower())),
    (dt.date, ("date", "office:date-value", "date", lambda v: v.isoformat())),
    (dt.datetime, ("date", "office:date-value", None, lambda v: v.isoformat(timespec="seconds"))),
    (int, ("float", "office:value", None, str)),
    (float, ("float", "office:value", None, str)),
    (Decimal, ("float", "office:value", None, lambda v: format(v, "f"))),
    (str, ("string", None, None, str)),
    (type(None), (None, None, None, lambda _: None)),
)


def _ods_value(value):
    return clean(value) if isinstance(value, str) else value


def _ods_sheet(table: Table, taken: set):
    parts, previous = [], None
    for column in table.columns:
        parts.append(clean(column.part) if column.part and column.part != previous else "")
        previous = column.part

    def rows():
        yield [clean(c.header) for c in table.columns]
        for row in table.rows:
            yield [_ods_value(v) for v in row]

    return _sheet_title(table.title, taken), parts, rows()


def ods_chunks(export: Export):
    """The ODS file as chunks of bytes (for a StreamingHttpResponse)."""
    taken = set()

    def sheets():
        yield _ods_sheet(export.main, taken)
        for table in export.repeats:
            yield _ods_sheet(table, taken)

    return stream_write_ods(sheets(), encoders=ODS_ENCODERS)
