"""The instructor's validation of a proofs dossier's invoices (*justificatifs*).

Per action the dossier sends invoices for: the grant, the ceiling, what was paid and what remains; each
invoice with its verdict (accepted, accepted in part with the amount retained, rejected with a reason).
Every verdict goes through ``payments.validate_line``, which recomputes the dossier's payments: the page
then shows what the action will be paid from this dossier, and in which payment window. With htmx only
the action's block is redrawn; without JavaScript the page is posted and redirected.

Only ARS staff of the dossier's region reach it (``instructed_or_404``); anyone else, and any dossier
that is not a proofs dossier, gets 404.
"""

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from guichet.core import audit, money
from guichet.dossiers.models import Dossier, State
from guichet.formschema.values import parse_decimal
from guichet.instruction.views_dossier import instructed_or_404

from . import payments, proofs
from .models import GrantAction, GrantStatus, InvoiceLine, LineStatus
from .payments import ProofsError

ZERO = Decimal("0.00")
VERDICTS = [(LineStatus.ACCEPTED, "Acceptée"), (LineStatus.PARTIAL, "Acceptée en partie"),
            (LineStatus.REJECTED, "Rejetée")]


def instructed_proofs_or_404(request, pk) -> Dossier:
    """A proofs dossier the user instructs (the establishment's side: ``views_proofs.proofs_dossier_or_404``)."""
    dossier = instructed_or_404(request, pk)
    if not proofs.is_proofs(dossier):
        raise Http404
    return dossier


def _actions(dossier: Dossier) -> list[GrantAction]:
    """The actions this dossier sends invoices for (even on a grant closed since), grant by grant."""
    return list(GrantAction.objects.filter(pk__in=dossier.invoice_lines.values("action_id"))
                .select_related("grant__beneficiary", "grant__legal_entity")
                .order_by("grant__call_year", "grant__convention_reference", "position"))


def _amount_text(value) -> str:
    return money.for_input(value)


def _prepare(block, editable: bool, failed: InvoiceLine | None = None, errors=None, typed=None):
    """Attach to each line what its form shows: the verdict typed (or stored) and the errors."""
    for line in block.lines:
        if failed is not None and line.pk == failed.pk:
            line.form_errors, line.typed = errors or {}, typed or {}
        else:
            line.form_errors = {}
            line.typed = {"status": "" if line.status == LineStatus.PENDING else line.status,
                          "accepted_amount": _amount_text(line.accepted_amount), "reason": line.reason}
    block.payable = sum((p.amount for p in block.this_dossier), ZERO)
    block.editable = editable
    grant = block.action.grant
    if block.this_dossier or not block.validated:
        block.why_nothing = ""
    elif grant.status != GrantStatus.ACTIVE:
        block.why_nothing = f"La subvention est {grant.get_status_display().lower()} : plus aucun versement."
    elif block.window_missing:
        block.why_nothing = "Aucune fenêtre de versement ne couvre la date de réception de ces factures."
    elif block.dead:
        block.why_nothing = "Le dossier est refusé ou classé sans suite : aucun versement."
    else:
        block.why_nothing = ("Le plafond de l'action (ou le total de la convention) est atteint par ce qui est "
                             "déjà versé ou prévu.")
    return block


def _context(dossier: Dossier, failed=None, errors=None, typed=None) -> dict:
    day = payments.receipt_day(dossier)
    window = payments.window_for(dossier.call, day) if day else None
    editable = dossier.state == State.EN_INSTRUCTION
    dead = dossier.state in (State.REFUSE, State.SANS_SUITE)
    blocks = proofs.summary(dossier, _actions(dossier))
    for block in blocks:
        # Each invoice belongs to the window of its own receipt: nothing to pay when none of them has one.
        block.window_missing, block.dead = not any(line.window for line in block.lines), dead
        _prepare(block, editable, failed, errors, typed)
    return {
        "dossier": dossier, "blocks": blocks, "receipt_day": day, "window": window,
        "out_of_windows": payments.why_out_of_windows(dossier.call, day) if day and window is None else "",
        "editable": editable, "verdicts": VERDICTS,
        "dossier_total": sum((b.payable for b in blocks), ZERO),
        "pending": sum(1 for b in blocks for line in b.lines if line.status == LineStatus.PENDING),
        "nav": "instruction", "page_title": f"Justificatifs du dossier {dossier.number}",
    }


@login_required
def validation(request, pk):
    dossier = instructed_proofs_or_404(request, pk)
    audit.record(request.user, "view", dossier=dossier, request=request, page="proofs_validation")
    return render(request, "funding/ars/validation.html", _context(dossier))


@login_required
@require_POST
def validate_line(request, pk, line_pk):
    dossier = instructed_proofs_or_404(request, pk)
    line = get_object_or_404(InvoiceLine.objects.select_related("action__grant"), pk=line_pk, dossier=dossier)
    line.dossier = dossier
    typed = {key: request.POST.get(key, "").strip() for key in ("status", "accepted_amount", "reason")}
    errors: dict[str, str] = {}
    amount = None
    if typed["status"] == LineStatus.PARTIAL:
        try:
            amount = parse_decimal(typed["accepted_amount"])
        except ValidationError as exc:
            errors["accepted_amount"] = exc.messages[0]
    if not errors:
        try:
            payments.validate_line(line, request.user, typed["status"], accepted_amount=amount,
                                   reason=typed["reason"], request=request)
        except PermissionDenied:
            raise Http404 from None
        except ProofsError as exc:
            errors = ({key: texts[0] for key, texts in exc.message_dict.items()}
                      if hasattr(exc, "error_dict") else {"form": exc.messages[0]})
    if errors:
        context = _context(dossier, failed=line, errors=errors, typed=typed)
        if request.htmx:
            block = next(b for b in context["blocks"] if b.action.pk == line.action_id)
            return render(request, "funding/ars/_action.html", {**context, "block": block, "oob": True,
                                                                "refused": errors.get("form", "")})
        messages.error(request, f"Le verdict sur la facture {line} n'est pas enregistré : "
                                + errors.get("form", "corrigez le champ signalé."))
        return render(request, "funding/ars/validation.html", context, status=400)
    done = f"Facture {line} : {line.get_status_display().lower()}."
    if request.htmx:
        context = _context(dossier)
        block = next(b for b in context["blocks"] if b.action.pk == line.action_id)
        return render(request, "funding/ars/_action.html", {**context, "block": block, "oob": True, "done": done})
    messages.success(request, done)
    return redirect(reverse("payments:validation", args=[dossier.pk]) + f"#action-{line.action_id}")
