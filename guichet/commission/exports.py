"""The arbitration table of a commission session as an XLSX workbook, for the commission's papers.

One row per action of each dossier on the agenda, then a totals row; a second sheet « Synthèse » with
the call's envelope, what is committed on it and what remains. Amounts are numeric cells (Decimal
values, euro format) so that the sheet computes; FINESS and SIRET are text cells so that leading zeros
and Corsica's 2A/2B survive. Every text a user typed is written as a text cell, never as a formula.
Ceilings, scores and totals come from the domain (``arbitration``, ``scoring``): nothing is computed
here that the pages would compute differently. A fixed number of queries, whatever the agenda's size.
"""

import datetime as dt
from decimal import Decimal
from io import BytesIO

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from guichet.core.spreadsheets import BOLD, DATE_TIME, EUROS, TEXT, WRAP, file_name_part
from guichet.core.spreadsheets import write_only_cell as _cell

from . import arbitration, scoring
from .models import Session

MARK = "0.00"

# (header, width in characters, number format; None: plain text)
COLUMNS = [
    ("N° dossier", 18, None),
    ("Établissement", 36, None),
    ("FINESS", 12, TEXT),
    ("SIRET", 17, TEXT),
    ("Action", 40, None),
    ("Établissements concernés", 36, None),
    ("Coût total", 15, EUROS),
    ("Coût éligible", 15, EUROS),
    ("Montant demandé", 17, EUROS),
    ("Plafond", 15, EUROS),
    ("Note /20", 10, MARK),
    ("Montant proposé", 17, EUROS),
    ("Montant accordé", 17, EUROS),
    ("Décision", 24, None),
    ("Motivation", 60, None),
]
MONEY_COLUMNS = [index for index, (_, _, fmt) in enumerate(COLUMNS) if fmt == EUROS]
GRANTED = [header for header, _, _ in COLUMNS].index("Montant accordé")


def export_filename(session: Session) -> str:
    """« Arbitrage - <session title>.xlsx », without the characters a file name cannot hold."""
    return f"Arbitrage - {file_name_part(session.title, 150) or session.pk}.xlsx"



def _local(value: dt.datetime | None):
    """Excel has no time zones: the Paris wall-clock time."""
    return None if value is None else timezone.localtime(value).replace(tzinfo=None)


def _agenda(session: Session) -> list:
    return list(session.items.select_related("dossier__establishment")
                .defer("dossier__answers", "dossier__pending").prefetch_related("lines"))


def _rows(session: Session, items: list):
    """The arbitration table: one tuple of COLUMNS values per action, in agenda order."""
    call = session.call
    marks = scoring.scores_of([item.dossier_id for item in items], list(call.criteria.all()))
    for item in items:
        establishment = item.dossier.establishment
        mark = marks[item.dossier_id].mean
        for line in item.lines.all():
            yield (item.dossier.number or "", establishment.name, establishment.finess, establishment.siret,
                   line.title, line.establishments, line.cost, line.eligible_cost, line.requested,
                   arbitration.line_ceiling(line, call.cofinancing_rate), mark, line.proposed, line.granted,
                   item.outcome, item.motivation)


def _table_sheet(wb: Workbook, rows: list[tuple]):
    ws = wb.create_sheet("Arbitrage")
    for index, (_, width, _) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{len(rows) + 1}"
    ws.append([_cell(ws, header, font=BOLD, alignment=WRAP) for header, _, _ in COLUMNS])
    for row in rows:
        ws.append([_cell(ws, value, fmt, alignment=WRAP if fmt is None else None)
                   for value, (_, _, fmt) in zip(row, COLUMNS, strict=True)])
    totals = [None] * len(COLUMNS)
    totals[0] = "Total"
    for index in MONEY_COLUMNS:
        totals[index] = sum((row[index] or Decimal(0) for row in rows), Decimal("0.00"))
    ws.append([_cell(ws, value, fmt, font=BOLD) for value, (_, _, fmt) in zip(totals, COLUMNS, strict=True)])


def _summary_sheet(wb: Workbook, session: Session, items: list, rows: list[tuple]):
    ws = wb.create_sheet("Synthèse")
    ws.column_dimensions["A"].width = 40
    ws.column_dimensions["B"].width = 60
    totals = arbitration.totals(session.call)
    granted_here = sum((row[GRANTED] or Decimal(0) for row in rows), Decimal("0.00"))
    for label, value, fmt in [
        ("Séance", session.title, None),
        ("Appel à projets", session.call.title, None),
        ("Date de la séance", _local(session.held_on), DATE_TIME),
        ("Lieu", session.place, None),
        ("État", session.get_status_display(), None),
        ("Dossiers à l'ordre du jour", len(items), "0"),
        ("Actions", len(rows), "0"),
        ("Accordé dans cette séance", granted_here, EUROS),
        ("Enveloppe de l'appel", totals.envelope, EUROS),
        ("Engagé sur l'appel (toutes séances)", totals.committed, EUROS),
        ("Reste disponible", totals.remaining, EUROS),
    ]:
        ws.append([_cell(ws, label, font=BOLD), _cell(ws, value, fmt)])


def arbitration_workbook(session: Session) -> bytes:
    """The session's arbitration table as the bytes of an .xlsx file."""
    items = _agenda(session)
    rows = list(_rows(session, items))
    wb = Workbook(write_only=True)
    _table_sheet(wb, rows)
    _summary_sheet(wb, session, items, rows)
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
