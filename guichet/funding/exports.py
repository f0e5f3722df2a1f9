"""What the finance service reads of payments: the rows of a payment order or of a payment window (one
per legal entity and action), and the order as XLSX and CSV files.

Nothing is computed here that ``payments`` decides: the amounts are the stored payments (computed by
``payments.schedule``), only summed per action for reading.

Spreadsheet cells are typed: amounts are numbers with a euro format, dates are dates, FINESS, SIREN,
SIRET and references are text cells (leading zeros and Corsica's 2A/2B survive), and whatever a user
typed stays text, never a formula. A fixed number of queries, whatever the number of rows.
"""

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from guichet.core.spreadsheets import (
    BOLD,
    DATE,
    DATE_TIME,
    EUROS,
    TEXT,
    WRAP,
    csv_field,
    csv_identifier,
    file_name_part,
)
from guichet.core.spreadsheets import write_only_cell as _cell

from .models import PaymentOrder
from .payees import payee_ids

ZERO = Decimal("0.00")
# The beneficiary's dossiers come too: they hold its SIREN and SIRET when the directory does not (``payees``).
PAYMENT_RELATIONS = ("action__grant__legal_entity", "action__grant__beneficiary__legal_entity",
                     "action__grant__dossier__form_version", "dossier__form_version")


# --- the rows of an order or of a window ----------------------------------------------------------

@dataclass
class OrderRow:
    """What is paid on one action of one grant: the sum of its payments in the order (or the window)."""

    legal_entity: str
    legal_entity_finess: str
    siren: str
    establishment: str
    establishment_finess: str
    siret: str
    convention_reference: str
    grant_id: int
    action: str
    position: int
    dossiers: list[str] = field(default_factory=list)
    amount: Decimal = ZERO


def order_rows(payments) -> list[OrderRow]:
    """One row per action, in the order of the legal entity, the convention and the action's rank;
    ``payments`` are Payment rows with ``PAYMENT_RELATIONS`` selected."""
    payments = list(payments)
    proofs_dossiers: dict[int, list] = {}
    for p in payments:
        proofs_dossiers.setdefault(p.action.grant_id, []).append(p.dossier)
    rows: dict[int, OrderRow] = {}
    for p in payments:
        row = rows.get(p.action_id)
        if row is None:
            grant = p.action.grant
            beneficiary = grant.beneficiary
            entity = grant.legal_entity or beneficiary.legal_entity
            ids = payee_ids(grant, proofs_dossiers[grant.pk])
            row = rows[p.action_id] = OrderRow(
                legal_entity=entity.name if entity else beneficiary.name,
                legal_entity_finess=entity.finess if entity else "", siren=ids.siren,
                establishment=beneficiary.name, establishment_finess=beneficiary.finess, siret=ids.siret,
                convention_reference=grant.convention_reference, grant_id=grant.pk, action=p.action.title,
                position=p.action.position)
        row.amount += p.amount
        number = p.dossier.number or str(p.dossier_id)
        if number not in row.dossiers:
            row.dossiers.append(number)
    return sorted(rows.values(), key=lambda r: (r.legal_entity.casefold(), r.legal_entity_finess,
                                                r.convention_reference, r.position))


def by_legal_entity(rows: list[OrderRow]) -> list[dict]:
    """``[{"name", "finess", "rows", "total"}]``: the rows of each legal entity and their subtotal."""
    groups: list[dict] = []
    for row in rows:
        if not groups or (groups[-1]["name"], groups[-1]["finess"]) != (row.legal_entity, row.legal_entity_finess):
            groups.append({"name": row.legal_entity, "finess": row.legal_entity_finess, "rows": [], "total": ZERO})
        groups[-1]["rows"].append(row)
        groups[-1]["total"] += row.amount
    return groups


def order_payments(order: PaymentOrder):
    return order.payments.select_related(*PAYMENT_RELATIONS).order_by("pk")


# --- files ----------------------------------------------------------------------------------------

# (header, width in characters, XLSX number format; None: plain text)
COLUMNS = [
    ("Entité juridique", 36, None),
    ("FINESS juridique", 12, TEXT),
    ("SIREN", 11, TEXT),
    ("Établissement bénéficiaire", 36, None),
    ("FINESS géographique", 12, TEXT),
    ("SIRET", 16, TEXT),
    ("Référence de la convention", 22, TEXT),
    ("Action", 40, None),
    ("Dossiers de justificatifs", 22, TEXT),
    ("Montant", 15, EUROS),
    ("Fenêtre de versement", 30, None),
    ("Versement au plus tard le", 14, DATE),
    ("Versé le", 12, DATE),
    ("Référence du paiement", 22, TEXT),
]
AMOUNT = [header for header, _, _ in COLUMNS].index("Montant")
# Identifiers whose leading zeros a spreadsheet program would drop from a CSV file (``csv_identifier``).
IDENTIFIERS = {"FINESS juridique", "SIREN", "FINESS géographique", "SIRET"}


def export_filename(order: PaymentOrder, extension: str) -> str:
    """« Ordre de paiement <n°> - <window>.<extension> », without the characters a file name cannot hold."""
    return f"Ordre de paiement {order.pk} - {file_name_part(order.window_label, 120)}.{extension}"


def _values(order: PaymentOrder, rows: list[OrderRow]):
    for r in rows:
        yield (r.legal_entity, r.legal_entity_finess, r.siren, r.establishment, r.establishment_finess, r.siret,
               r.convention_reference, r.action, ", ".join(r.dossiers), r.amount, order.window_label, order.pay_by,
               order.paid_on, order.reference)



def order_workbook(order: PaymentOrder, rows: list[OrderRow]) -> bytes:
    """The order as the bytes of an .xlsx file: « Lignes » (one row per legal entity and action, then the
    total) and « Ordre » (the window, the dates, the payment's reference)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Lignes")
    for index, (_, width, _) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{len(rows) + 1}"
    ws.append([_cell(ws, header, font=BOLD, alignment=WRAP) for header, _, _ in COLUMNS])
    for values in _values(order, rows):
        ws.append([_cell(ws, value, fmt) for value, (_, _, fmt) in zip(values, COLUMNS, strict=True)])
    total = sum((r.amount for r in rows), ZERO)
    ws.append([_cell(ws, "Total", font=BOLD)] + [None] * (AMOUNT - 1) + [_cell(ws, total, EUROS, font=BOLD)])

    info = wb.create_sheet("Ordre")
    info.column_dimensions["A"].width = 34
    info.column_dimensions["B"].width = 60
    created = timezone.localtime(order.created_at).replace(tzinfo=None)  # Excel has no time zones: Paris time
    for label, value, fmt in [
        ("Ordre de paiement n°", order.pk, "0"),
        ("Appel à projets", order.call.title, None),
        ("Fenêtre de versement", order.window_label, None),
        ("Versement au plus tard le", order.pay_by, DATE),
        ("Créé le", created, DATE_TIME),
        ("Créé par", order.created_by.email, None),
        ("Versé le", order.paid_on, DATE),
        ("Référence du paiement", order.reference, TEXT),
        ("Lignes", len(rows), "0"),
        ("Total", total, EUROS),
    ]:
        info.append([_cell(info, label, font=BOLD), _cell(info, value, fmt)])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def order_csv(order: PaymentOrder, rows: list[OrderRow]) -> bytes:
    """The order's rows as CSV for French Excel: « ; » as separator (the comma is the decimal mark),
    UTF-8 with a byte-order mark (else Excel reads it as Windows-1252), amounts with a decimal comma and
    no thousands separator (so they stay numbers), dates as dd/mm/yyyy; FINESS, SIREN and SIRET as
    ``="…"`` so that they open as text with their leading zeros (see ``csv_identifier``). One header row,
    then one row per legal entity and action; no total row."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([header for header, _, _ in COLUMNS])
    write = [csv_identifier if header in IDENTIFIERS else csv_field for header, _, _ in COLUMNS]
    for values in _values(order, rows):
        writer.writerow([w(v) for w, v in zip(write, values, strict=True)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
