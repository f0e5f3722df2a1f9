"""What the ARS pays against a grant, from the proofs of completion (*justificatifs de réalisation*).

The rule of seed 001: the ARS pays « 50 % des factures transmises, dans la limite du plafond inscrit
dans l'avenant CPOM ou la convention de financement », partially or totally as the action was carried
out. Here, for each action of a grant:

    payable = rate × (invoices validated to date on the platform), rounded half up to the cent,
              capped at what the ceiling leaves after the amounts paid before the platform,
              less what the platform already paid or scheduled on it, never below zero

and, over the grant, what is paid never exceeds the convention's total. An amount paid before the
platform paid invoices justified before it: it takes its share of the ceiling, not of the new invoices.

Proofs dossiers are settled in the order they were received: a dossier's payments come from the
invoices validated in it and in the dossiers received before it, after what those scheduled (and
whatever was ordered or paid). So recomputing changes nothing, and a verdict on an early dossier
recomputes the later ones. Each payable amount belongs to the payment window of its dossier's receipt
date — the date it was first filed, in Europe/Paris (a correction asked by the ARS does not move it);
proofs received after the last window are refused for the budget year. Everything is ``Decimal``.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from guichet.accounts.permissions import is_ars_of
from guichet.core import audit
from guichet.core.money import euros
from guichet.dossiers.models import Dossier, State
from guichet.dossiers.workflow import can_instruct

from .models import (
    Grant,
    GrantAction,
    GrantStatus,
    InvoiceLine,
    LineStatus,
    Payment,
    PaymentOrder,
    PaymentStatus,
)

PARIS = ZoneInfo("Europe/Paris")
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
COUNTED = (PaymentStatus.SCHEDULED, PaymentStatus.ORDERED, PaymentStatus.PAID)


class ProofsError(ValidationError):
    """A proof or a payment the rules refuse; the message says why, in French."""


# --- the arithmetic (pure) ----------------------------------------------------------------------

def payable(rate: Decimal, validated: Decimal, ceiling: Decimal, already: Decimal,
            grant_remaining: Decimal | None = None, paid_before: Decimal = ZERO) -> Decimal:
    """What may still be paid on one action: rate (a percentage) × invoices validated on the platform,
    rounded half up to the cent, within what the ceiling leaves after ``paid_before`` (paid before the
    platform), less what the platform ``already`` paid or scheduled; never below zero, and never more
    than what remains of the convention's total."""
    due = (Decimal(rate) * Decimal(validated) / Decimal(100)).quantize(CENT, rounding=ROUND_HALF_UP)
    amount = max(ZERO, min(due, Decimal(ceiling) - Decimal(paid_before)) - Decimal(already))
    if grant_remaining is not None:
        amount = min(amount, max(ZERO, Decimal(grant_remaining)))
    return amount.quantize(CENT)


def validated_amount(line: InvoiceLine, basis: str) -> Decimal:
    """The part of an invoice the ARS retained: all of it (TTC, or HT when VAT is recovered), the
    accepted part, or nothing."""
    if line.status == LineStatus.ACCEPTED:
        return line.amount_ht if basis == "ht" else line.amount_ttc
    if line.status == LineStatus.PARTIAL:
        return line.accepted_amount or ZERO
    return ZERO


# --- payment windows ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    index: int
    label: str
    received_from: dt.date | None
    received_until: dt.date | None
    pay_by: dt.date

    def holds(self, day: dt.date) -> bool:
        return ((self.received_from is None or self.received_from <= day)
                and (self.received_until is None or day <= self.received_until))


def windows(call) -> list[Window]:
    def day(value):
        return dt.date.fromisoformat(value) if value else None

    return [Window(index, w.get("label") or f"Fenêtre {index + 1}", day(w.get("received_from")),
                   day(w.get("received_until")), day(w["paid_by"]))
            for index, w in enumerate(call.payment_windows or [])]


def receipt_day(dossier: Dossier) -> dt.date | None:
    """The proofs' receipt date: the day (Paris) the dossier was first filed."""
    return dossier.first_filed_at.astimezone(PARIS).date() if dossier.first_filed_at else None


def window_for(call, received: dt.datetime | dt.date) -> Window | None:
    day = received.astimezone(PARIS).date() if isinstance(received, dt.datetime) else received
    return next((w for w in windows(call) if w.holds(day)), None)


def why_out_of_windows(call, day: dt.date) -> str:
    found = windows(call)
    last = max((w.received_until for w in found if w.received_until), default=None)
    if last is not None and day > last:
        return (f"Justificatifs reçus le {day:%d/%m/%Y}, après le {last:%d/%m/%Y}, dernière date de l'exercice "
                f"{call.year} : ils ne peuvent pas être payés sur cet exercice ; déposez-les au titre de l'exercice "
                "suivant.")
    return (f"Justificatifs reçus le {day:%d/%m/%Y} : aucune fenêtre de versement de l'exercice {call.year} "
            "ne les couvre.")


# --- which grants a proofs dossier covers --------------------------------------------------------

def grants_for(establishment, call):
    """The active grants a proofs dossier of ``establishment`` may send proofs for: those of its legal
    entity (every establishment of it), from the calls the proofs call covers, in its region."""
    scope = (Q(legal_entity_id=establishment.legal_entity_id) if establishment.legal_entity_id
             else Q(beneficiary=establishment))
    grants = Grant.objects.filter(scope, region_id=call.region_id, status=GrantStatus.ACTIVE)
    if call.covered_years:
        grants = grants.filter(call_year__in=call.covered_years)
    return grants.select_related("beneficiary", "legal_entity").prefetch_related("actions")


# --- scheduling payments -------------------------------------------------------------------------

def _key(dossier) -> tuple:
    """Proofs dossiers are settled in the order they were received (then created)."""
    return (dossier.first_filed_at or dt.datetime.max.replace(tzinfo=dt.UTC), dossier.pk)


def _before(dossier) -> Q:
    """Dossiers received before ``dossier`` (same receipt time: created before)."""
    if dossier.first_filed_at is None:
        return Q(first_filed_at__isnull=False) | Q(pk__lt=dossier.pk)
    return Q(first_filed_at__lt=dossier.first_filed_at) | Q(first_filed_at=dossier.first_filed_at, pk__lt=dossier.pk)


def _committed(action_ids, dossier) -> dict[int, Decimal]:
    """Per action, what is settled before ``dossier``'s turn: every amount ordered or paid, and the amounts
    still scheduled by dossiers received before it."""
    rows = (Payment.objects.filter(action_id__in=action_ids)
            .filter(Q(status__in=(PaymentStatus.ORDERED, PaymentStatus.PAID))
                    | Q(status=PaymentStatus.SCHEDULED, dossier__in=Dossier.objects.filter(_before(dossier))))
            .values("action_id").annotate(s=Sum("amount")))
    return {r["action_id"]: r["s"] for r in rows}


def _validated(action_ids, basis_by_action, dossier) -> dict[int, Decimal]:
    """Per action, the invoices validated in ``dossier`` and in the dossiers received before it."""
    totals: dict[int, Decimal] = {}
    lines = (InvoiceLine.objects.filter(action_id__in=action_ids, status__in=(LineStatus.ACCEPTED, LineStatus.PARTIAL))
             .filter(Q(dossier=dossier) | Q(dossier__in=Dossier.objects.filter(_before(dossier))))
             .only("action_id", "status", "amount_ht", "amount_ttc", "accepted_amount"))
    for line in lines:
        totals[line.action_id] = totals.get(line.action_id, ZERO) + validated_amount(
            line, basis_by_action[line.action_id])
    return totals


def schedule(dossier: Dossier) -> list[Payment]:
    """(Re)compute the payments a proofs dossier leads to, then those of the dossiers received after it
    on the same grants (they come after it on the ceilings). See ``schedule_one``."""
    with transaction.atomic():
        result = schedule_one(dossier)
        # The grants first, then the dossiers through indexed lookups (an OR across the joins would read
        # every invoice line of the region on each call).
        action_ids = set(dossier.invoice_lines.values_list("action_id", flat=True)) | set(
            dossier.payments.values_list("action_id", flat=True))
        grant_ids = set(GrantAction.objects.filter(pk__in=action_ids).values_list("grant_id", flat=True))
        if not grant_ids:
            return result
        actions = GrantAction.objects.filter(grant_id__in=grant_ids).values("pk")
        others = set(InvoiceLine.objects.filter(action__in=actions).values_list("dossier_id", flat=True)) | set(
            Payment.objects.filter(action__in=actions).values_list("dossier_id", flat=True))
        others.discard(dossier.pk)
        later = (Dossier.objects.filter(pk__in=others).exclude(_before(dossier)).select_related("call")
                 if others else [])
        for other in sorted(later, key=_key):
            schedule_one(other)
        return result


def schedule_one(dossier: Dossier) -> list[Payment]:
    """The payments of one proofs dossier, action by action, in the window of its receipt date, from the
    invoices validated up to it (itself and the dossiers received before it) and what is settled before
    its turn (amounts ordered or paid, its own included, and what earlier dossiers scheduled). Settling in
    the order of receipt makes the result depend on earlier dossiers only: running it again changes
    nothing. A refused or closed dossier leads to none."""
    call = dossier.call
    with transaction.atomic():
        action_ids = set(dossier.invoice_lines.values_list("action_id", flat=True))
        action_ids |= set(dossier.payments.values_list("action_id", flat=True))
        if not action_ids:
            return []
        grant_ids = set(GrantAction.objects.filter(pk__in=action_ids).values_list("grant_id", flat=True))
        # Lock the grants: two proofs dossiers of one grant are computed one after the other.
        grants = {g.pk: g for g in Grant.objects.select_for_update().filter(pk__in=grant_ids).order_by("pk")}
        actions = list(GrantAction.objects.filter(grant_id__in=grant_ids).order_by("grant_id", "position"))
        committed = _committed([a.pk for a in actions], dossier)
        validated = _validated(action_ids, {a.pk: grants[a.grant_id].invoice_basis for a in actions}, dossier)
        existing = {p.action_id: p for p in dossier.payments.filter(status=PaymentStatus.SCHEDULED)}
        window = None
        day = receipt_day(dossier)
        live = dossier.state not in (State.REFUSE, State.SANS_SUITE, State.BROUILLON)
        if live and day is not None:
            window = window_for(call, day)
        remaining = {g.pk: g.total - sum((a.paid_before + committed.get(a.pk, ZERO) for a in actions
                                          if a.grant_id == g.pk), ZERO) for g in grants.values()}
        result = []
        for action in actions:
            if action.pk not in action_ids:
                continue
            grant = grants[action.grant_id]
            amount = ZERO
            if live and window is not None and grant.status == GrantStatus.ACTIVE:
                amount = payable(grant.rate, validated.get(action.pk, ZERO), action.ceiling,
                                 committed.get(action.pk, ZERO), remaining[grant.pk], action.paid_before)
            remaining[grant.pk] -= amount
            current = existing.get(action.pk)
            if amount > 0:
                fields = {"amount": amount, "call_id": call.pk, "window_index": window.index,
                          "window_label": window.label, "pay_by": window.pay_by}
                if current is None:
                    current = Payment.objects.create(action=action, dossier=dossier, **fields)
                elif any(getattr(current, k) != v for k, v in fields.items()):
                    for k, v in fields.items():
                        setattr(current, k, v)
                    current.save()
                result.append(current)
            elif current is not None:
                current.delete()
        return result


# --- validating invoice lines --------------------------------------------------------------------

def validate_line(line: InvoiceLine, user, status: str, accepted_amount=None, reason: str = "",
                  request=None) -> InvoiceLine:
    """The instructor's verdict on one invoice (accepted, rejected with a reason, accepted for part of
    its amount); the dossier's payments are recomputed at once."""
    dossier = line.dossier
    if not can_instruct(user, dossier):
        raise PermissionDenied("Seule l'ARS de la région valide les justificatifs.")
    if dossier.state != State.EN_INSTRUCTION:
        raise ProofsError("Les factures se valident sur un dossier en instruction.")
    if status not in LineStatus.values:
        raise ProofsError({"status": "Choisissez : acceptée, acceptée en partie ou rejetée."})
    reason = (reason or "").strip()
    basis = line.amount_ht if line.action.grant.invoice_basis == "ht" else line.amount_ttc
    errors = {}
    if status in (LineStatus.REJECTED, LineStatus.PARTIAL) and not reason:
        errors["reason"] = "Indiquez le motif : l'établissement le verra."
    if status == LineStatus.PARTIAL:
        if accepted_amount is None:
            errors["accepted_amount"] = "Indiquez le montant retenu."
        else:
            accepted_amount = Decimal(accepted_amount)
            if accepted_amount != accepted_amount.quantize(CENT) or not ZERO < accepted_amount < basis:
                errors["accepted_amount"] = (f"Le montant retenu doit être positif et inférieur au montant de la "
                                             f"facture ({euros(basis)}), en euros et centimes.")
    else:
        accepted_amount = None
    if errors:
        raise ProofsError(errors)
    with transaction.atomic():
        line.status, line.accepted_amount, line.reason = status, accepted_amount, reason
        line.validated_by, line.validated_at = (user, timezone.now()) if status != LineStatus.PENDING else (None, None)
        line.save(update_fields=["status", "accepted_amount", "reason", "validated_by", "validated_at"])
        audit.record(user, "proofs:validate", dossier=dossier, request=request, line=line.pk, status=status,
                     accepted_amount=None if accepted_amount is None else str(accepted_amount))
        schedule(dossier)
    return line


# --- orders, payments, ledger ---------------------------------------------------------------------

def orderable(call, window_index: int):
    """Scheduled payments of a window whose proofs dossier is accepted: ready for the finance service."""
    return (Payment.objects.filter(call=call, window_index=window_index, status=PaymentStatus.SCHEDULED,
                                   dossier__state=State.ACCEPTE)
            .select_related("action__grant__legal_entity", "action__grant__beneficiary", "dossier"))


def _require_staff(user, call):
    if not is_ars_of(user, call.region_id):
        raise PermissionDenied("Seule l'ARS de la région ordonne et enregistre les versements.")


def create_order(call, window_index: int, user) -> PaymentOrder:
    _require_staff(user, call)
    found = {w.index: w for w in windows(call)}
    if window_index not in found:
        raise ProofsError("Cette fenêtre de versement n'existe pas.")
    with transaction.atomic():
        payments = list(orderable(call, window_index).select_for_update(of=("self",)))
        if not payments:
            raise ProofsError("Aucun versement n'est prêt dans cette fenêtre (dossiers acceptés).")
        window = found[window_index]
        order = PaymentOrder.objects.create(call=call, window_index=window_index, window_label=window.label,
                                            pay_by=window.pay_by, created_by=user)
        Payment.objects.filter(pk__in=[p.pk for p in payments]).update(order=order, status=PaymentStatus.ORDERED)
        audit.record(user, "payments:order", order=order.pk, payments=len(payments),
                     total=str(sum((p.amount for p in payments), ZERO)))
    return order


def mark_paid(order: PaymentOrder, user, paid_on: dt.date, reference: str) -> PaymentOrder:
    _require_staff(user, order.call)
    reference = (reference or "").strip()
    if order.paid_on:
        raise ProofsError("Cet ordre est déjà marqué comme payé.")
    if paid_on is None:
        raise ProofsError({"paid_on": "Indiquez la date du versement."})
    if paid_on > timezone.localdate():
        raise ProofsError({"paid_on": "La date du versement ne peut pas être dans le futur."})
    if not reference:
        raise ProofsError({"reference": "Indiquez la référence du paiement (mandat, bordereau de la paierie…)."})
    with transaction.atomic():
        order.paid_on, order.reference = paid_on, reference
        order.save(update_fields=["paid_on", "reference"])
        order.payments.update(status=PaymentStatus.PAID, paid_on=paid_on, reference=reference)
        audit.record(user, "payments:paid", order=order.pk, paid_on=paid_on.isoformat(), reference=reference)
        close_paid_grants(Grant.objects.filter(actions__payments__order=order).values("pk"))
    return order


def close_paid_grants(grant_ids) -> int:
    """Close the grants among ``grant_ids`` that are paid in full (before the platform and through paid
    orders); a few queries whatever their number. Returns how many were closed."""
    paid = {r["action__grant_id"]: r["s"] for r in Payment.objects.filter(
        action__grant_id__in=grant_ids, status=PaymentStatus.PAID).values("action__grant_id").annotate(
        s=Sum("amount"))}
    before = {r["grant_id"]: r["s"] for r in GrantAction.objects.filter(grant_id__in=grant_ids).values(
        "grant_id").annotate(s=Sum("paid_before"))}
    done = [g.pk for g in Grant.objects.filter(pk__in=grant_ids).exclude(status=GrantStatus.CLOSED).only("pk", "total")
            if paid.get(g.pk, ZERO) + before.get(g.pk, ZERO) >= g.total]
    return Grant.objects.filter(pk__in=done).update(status=GrantStatus.CLOSED, closed_at=timezone.now(),
                                                    closing_reason="Soldée")


@dataclass
class LedgerEntry:
    when: dt.date | None
    label: str
    action: str
    amount: Decimal
    status: str


def ledger(grant: Grant) -> tuple[list[LedgerEntry], dict[str, Decimal]]:
    """Every amount on a grant — paid before the platform, scheduled, ordered, paid — and the balances."""
    actions = list(grant.actions.all())
    entries = [LedgerEntry(grant.convention_signed_on, "Versé avant la plateforme", a.title, a.paid_before,
                           PaymentStatus.PAID) for a in actions if a.paid_before]
    payments = (Payment.objects.filter(action__grant=grant).exclude(status=PaymentStatus.CANCELLED)
                .select_related("action", "dossier").order_by("pay_by", "action__position", "pk"))
    # In the order of the payment dates (paid, or due by), action by action; before the platform first.
    entries += [LedgerEntry(p.paid_on or p.pay_by, f"{p.window_label} — dossier {p.dossier.number}",
                            p.action.title, p.amount, p.status) for p in payments]
    paid = sum((e.amount for e in entries if e.status == PaymentStatus.PAID), ZERO)
    pending = sum((e.amount for e in entries if e.status != PaymentStatus.PAID), ZERO)
    return entries, {"total": grant.total, "paid": paid, "pending": pending, "remaining": grant.total - paid - pending}


def close(grant: Grant, user, reason: str) -> Grant:
    """Close a grant that will not be paid further (the convention ended): its scheduled payments are cancelled."""
    if not is_ars_of(user, grant.region_id):
        raise PermissionDenied("Seule l'ARS de la région clôture une subvention.")
    reason = (reason or "").strip()
    if not reason:
        raise ProofsError({"reason": "Indiquez le motif de la clôture."})
    with transaction.atomic():
        Payment.objects.filter(action__grant=grant, status=PaymentStatus.SCHEDULED).update(
            status=PaymentStatus.CANCELLED)
        grant.status, grant.closed_at, grant.closing_reason = GrantStatus.CLOSED, timezone.now(), reason[:300]
        grant.save(update_fields=["status", "closed_at", "closing_reason"])
        audit.record(user, "grant:close", dossier=grant.dossier, grant=grant.pk, reason=reason)
    return grant
