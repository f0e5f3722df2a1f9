"""A proofs dossier (*dossier de justificatifs*): the invoices an establishment sends, action by action,
for the grants of its legal entity, and how far each action was carried out. The one way in for the
pages, the bordereau (the summary spreadsheet) and the API; the computation is in ``payments``.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from guichet.calls.models import CallKind
from guichet.core import audit
from guichet.core.money import MAX_AMOUNT, euros
from guichet.dossiers.models import Dossier, State
from guichet.formschema.engine import Missing

from . import balances as balances_module
from . import payments
from .models import ActionProgress, Completion, GrantAction, InvoiceLine, LineStatus, PaymentStatus
from .payments import ProofsError

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
# What an invoice line holds (the columns of InvoiceLine) and the days it may bear: CLACT calls exist since the
# 2000s, so an earlier date is a typo (01/01/1900, 0202…) caught at the field rather than stored.
MAX_LENGTH = {"supplier": 255, "number": 100}
EARLIEST_INVOICE = dt.date(2000, 1, 1)
MAX_COMMENT = 2000


def is_proofs(dossier: Dossier) -> bool:
    return dossier.call.kind == CallKind.PROOFS


def covered_actions(dossier: Dossier) -> list[GrantAction]:
    """The funded actions this dossier may send proofs for, grant by grant."""
    grants = payments.grants_for(dossier.establishment, dossier.call)
    return list(GrantAction.objects.filter(grant__in=grants).select_related("grant__beneficiary")
                .prefetch_related("establishments").order_by("grant__call_year", "grant__convention_reference",
                                                             "position"))


def _require_editor(dossier: Dossier, user):
    if not Dossier.objects.editable_by(user).filter(pk=dossier.pk).exists():
        raise PermissionDenied("Seuls les membres du dossier le modifient, tant qu'il est modifiable.")


@dataclass
class LineInput:
    """One invoice as typed online or read from the bordereau; errors are keyed by field."""

    action: GrantAction | None
    supplier: str
    number: str
    invoice_date: dt.date | None
    amount_ht: Decimal | None
    amount_ttc: Decimal | None
    establishment: object = None
    errors: dict = field(default_factory=dict)


def check_line(data: LineInput, allowed: set[int], today: dt.date | None = None) -> dict[str, str]:
    """The French message for each wrong field of an invoice (empty when it is right)."""
    today = today or timezone.localdate()
    errors = {}
    if data.action is None or data.action.pk not in allowed:
        errors["action"] = "Choisissez une action de vos conventions."
    if not (data.supplier or "").strip():
        errors["supplier"] = "Indiquez le fournisseur."
    if not (data.number or "").strip():
        errors["number"] = "Indiquez le numéro de la facture."
    for key, what in (("supplier", "Le nom du fournisseur"), ("number", "Le numéro de facture")):
        length = len((getattr(data, key) or "").strip())
        if length > MAX_LENGTH[key]:
            errors[key] = f"{what} compte {length} caractères : {MAX_LENGTH[key]} au plus."
    if data.invoice_date is None:
        errors["invoice_date"] = "Indiquez la date de la facture."
    elif data.invoice_date > today:
        errors["invoice_date"] = "La date de la facture ne peut pas être dans le futur."
    elif data.invoice_date < EARLIEST_INVOICE:
        errors["invoice_date"] = (f"La date de la facture ne peut pas être antérieure au {EARLIEST_INVOICE:%d/%m/%Y} : "
                                  "vérifiez l'année.")
    for key, label in (("amount_ht", "hors taxes"), ("amount_ttc", "toutes taxes comprises")):
        value = getattr(data, key)
        if value is None:
            errors[key] = f"Indiquez le montant {label}."
        elif value <= 0:
            errors[key] = "Le montant doit être positif."
        elif value > MAX_AMOUNT:
            errors[key] = f"Le montant ne peut pas dépasser {euros(MAX_AMOUNT)} : vérifiez-le."
        elif value != value.quantize(CENT):
            errors[key] = "Le montant s'écrit en euros et centimes, deux décimales au plus."
    if "amount_ht" not in errors and "amount_ttc" not in errors and data.amount_ttc < data.amount_ht:
        errors["amount_ttc"] = "Le montant TTC ne peut pas être inférieur au montant HT."
    return errors


def add_line(dossier: Dossier, user, data: LineInput, upload=None, source: str = "online",
             attachment=None) -> InvoiceLine:
    """Add one invoice; its file is ``upload`` or an ``attachment`` of the dossier already stored (a file
    kept while the other fields were being corrected)."""
    from guichet.dossiers.services import store_attachment

    _require_editor(dossier, user)
    errors = check_line(data, {a.pk for a in covered_actions(dossier)})
    if errors:
        raise ProofsError(errors)
    with transaction.atomic():
        line = InvoiceLine.objects.create(
            dossier=dossier, action=data.action, establishment=data.establishment, supplier=data.supplier.strip(),
            number=data.number.strip(), invoice_date=data.invoice_date, amount_ht=data.amount_ht,
            amount_ttc=data.amount_ttc, source=source)
        if upload is not None:
            attachment = store_attachment(dossier, f"factures.{line.pk}", upload, user)
        if attachment is not None:
            attachment.field_path = f"factures.{line.pk}"
            attachment.save(update_fields=["field_path"])
            line.attachment = attachment
            line.save(update_fields=["attachment"])
        audit.record(user, "proofs:line_add", dossier=dossier, line=line.pk, source=source)
    return line


def delete_line(line: InvoiceLine, user) -> None:
    _require_editor(line.dossier, user)
    if line.status != LineStatus.PENDING:
        raise ProofsError("Une facture déjà examinée par l'ARS ne se supprime pas.")
    audit.record(user, "proofs:line_delete", dossier=line.dossier, line=line.pk)
    line.delete()


def set_progress(dossier: Dossier, user, action: GrantAction, completion: str, comment: str = "") -> ActionProgress:
    _require_editor(dossier, user)
    if action.pk not in {a.pk for a in covered_actions(dossier)}:
        raise ProofsError({"action": "Choisissez une action de vos conventions."})
    if completion not in Completion.values:
        raise ProofsError({"completion": "Choisissez le degré de réalisation dans la liste."})
    if len((comment or "").strip()) > MAX_COMMENT:
        raise ProofsError({"comment": f"Le commentaire compte {len(comment.strip())} caractères : {MAX_COMMENT} au "
                                      "plus."})
    progress, _ = ActionProgress.objects.update_or_create(dossier=dossier, action=action, defaults={
        "completion": completion, "comment": (comment or "").strip()})
    return progress


def lines_without_file(dossier: Dossier) -> list[InvoiceLine]:
    """The dossier's invoices still waiting for their file: none attached (a bordereau gives the amounts,
    not the invoices), or the one attached was refused by the antivirus and must be replaced."""
    from guichet.core.models import ScanStatus

    return list(dossier.invoice_lines.filter(Q(attachment__isnull=True)
                                             | Q(attachment__scan_status=ScanStatus.INFECTED))
                .select_related("action", "attachment").order_by("action__grant_id", "action__position",
                                                                  "invoice_date", "pk"))


def file_anchor(line: InvoiceLine) -> str:
    """Where the invoices page lets the establishment attach the file of ``line``."""
    return f"fichier-facture-{line.pk}"


def missing_with_anchors(dossier: Dossier) -> list[tuple[str, str]]:
    """What stops a proofs dossier from being filed, beyond its form, each with where to fix it on the
    invoices page (an anchor, or "" for the top): a receipt date inside one of the budget year's payment
    windows, at least one invoice, the file of each invoice (« les pièces justificatives correspondantes
    à chaque action »), and the degree of completion of each action it sends invoices for."""
    if dossier.state == State.BROUILLON and dossier.call.payment_windows:
        today = timezone.localdate()
        if payments.window_for(dossier.call, today) is None:
            return [(payments.why_out_of_windows(dossier.call, today), "")]
    if not dossier.invoice_lines.exists():
        return [("Ajoutez au moins une facture justificative.", "")]
    items = [(f"Joignez {'un nouveau fichier' if line.attachment_id else 'le fichier'} de la facture "
              f"n° {line.number} de {line.supplier} ({euros(line.amount_ttc)} TTC, action « {line.action.title} »)"
              + (" : le précédent a été refusé par l'antivirus." if line.attachment_id else "."),
              file_anchor(line)) for line in lines_without_file(dossier)]
    declared = set(dossier.action_progress.values_list("action_id", flat=True))
    items += [(f"Indiquez le degré de réalisation de l'action « {a.title} ».", f"action-{a.pk}")
              for a in GrantAction.objects.filter(invoice_lines__dossier=dossier).distinct().order_by("pk")
              if a.pk not in declared]
    return items


def missing(dossier: Dossier) -> list[str]:
    """The messages of ``missing_with_anchors``."""
    return [message for message, _ in missing_with_anchors(dossier)]


def completeness_items(dossier: Dossier) -> list[Missing]:
    """``missing_with_anchors`` as the filing page lists it, each linked to its place on the invoices page
    (registered for proofs calls in ``dossiers.kinds``)."""
    url = reverse("funding:invoices", args=[dossier.pk])
    return [Missing("factures", "Pièces justificatives par action", "factures", "Factures", message,
                    url=f"{url}#{anchor}" if anchor else url)
            for message, anchor in missing_with_anchors(dossier)]


def corrections_refusal(dossier: Dossier) -> str | None:
    """A proofs dossier's corrections are filed, like the dossier itself, with the file of each invoice."""
    waiting = lines_without_file(dossier)
    if not waiting:
        return None
    return (f"Joignez le fichier de chaque facture avant de déposer les corrections : "
            f"{len(waiting)} facture{'s' if len(waiting) > 1 else ''} sans fichier ("
            + ", ".join(f"n° {line.number} de {line.supplier}" for line in waiting[:5])
            + (", …" if len(waiting) > 5 else "") + ").")


def attach_file(line: InvoiceLine, user, upload) -> InvoiceLine:
    """Attach the invoice's file to a line that has none (read from the bordereau, or typed without it), or
    replace one the antivirus refused or that the ARS has not examined yet. ``upload`` is already checked
    (type, size, content: ``SchemaFileField``); it goes to private storage and to the antivirus."""
    from guichet.dossiers.services import store_attachment

    dossier = line.dossier
    _require_editor(dossier, user)
    if line.status != LineStatus.PENDING:
        raise ProofsError({"file": "Cette facture a déjà été examinée par l'ARS : son fichier ne change plus."})
    if upload is None:
        raise ProofsError({"file": "Choisissez le fichier de la facture (PDF, JPG ou PNG)."})
    with transaction.atomic():
        previous = line.attachment
        line.attachment = store_attachment(dossier, f"factures.{line.pk}", upload, user)
        line.save(update_fields=["attachment"])
        if previous is not None:
            previous.delete()
        audit.record(user, "proofs:line_file", dossier=dossier, line=line.pk, obj=line.attachment)
    return line


@dataclass
class ActionSummary:
    """What the establishment sees for one action: ceiling, paid, remaining, and this dossier's outcome."""

    action: GrantAction
    ceiling: Decimal
    paid: Decimal  # before the platform and through orders marked paid
    committed: Decimal  # scheduled or ordered, not yet paid
    remaining: Decimal
    lines: list
    reason: str = ""  # why less than the ceiling leaves remains: the convention's total binds
    validated: Decimal = ZERO
    this_dossier: list = field(default_factory=list)  # this dossier's payments (amount, window, pay_by, status)


Balance = balances_module.ActionBalance


def balances(actions: list[GrantAction]) -> dict[int, Balance]:
    """Paid, committed and remaining per action (``balances.for_actions``: the convention's total counts)."""
    return balances_module.for_actions(actions)


def summary(dossier: Dossier, actions: list[GrantAction] | None = None) -> list[ActionSummary]:
    """Per covered action: the ceiling, what was paid and what remains; the dossier's invoices with their
    verdict (and the reason of a rejection) and the window of their receipt; what this dossier will be paid,
    in which window(s)."""
    actions = actions if actions is not None else covered_actions(dossier)
    lines_by_action: dict[int, list] = {}
    for line in dossier.invoice_lines.filter(action__in=actions).select_related("attachment", "establishment"):
        # Each invoice's own receipt: its window, or why it is not paid on this budget year and where to send it.
        line.window, line.not_paid_this_year = payments.line_window(line), payments.why_line_not_paid_this_year(line)
        lines_by_action.setdefault(line.action_id, []).append(line)
    mine: dict[int, list] = {}
    for p in dossier.payments.exclude(status=PaymentStatus.CANCELLED).order_by("pk"):
        mine.setdefault(p.action_id, []).append(p)
    found = balances(actions)
    result = []
    for action in actions:
        lines = lines_by_action.get(action.pk, [])
        basis = action.grant.invoice_basis
        b = found[action.pk]
        result.append(ActionSummary(
            action=action, ceiling=action.ceiling, paid=b.paid, committed=b.committed, remaining=b.remaining,
            reason=b.reason, lines=lines, validated=sum((payments.validated_amount(li, basis) for li in lines), ZERO),
            this_dossier=mine.get(action.pk, [])))
    return result


def explain(line: InvoiceLine) -> str:
    """Why a line counts for what it counts, in the establishment's words."""
    if line.status == LineStatus.PENDING:
        return "En attente de l'examen de l'ARS."
    if line.status == LineStatus.ACCEPTED:
        return "Acceptée."
    if line.status == LineStatus.PARTIAL:
        return f"Acceptée pour {euros(line.accepted_amount)} : {line.reason}"
    return f"Rejetée : {line.reason}"
