"""What the ARS pays against a grant, from the proofs of completion (*justificatifs de réalisation*).

The rule of seed 001: the ARS pays « 50 % des factures transmises, dans la limite du plafond inscrit
dans l'avenant CPOM ou la convention de financement », partially or totally as the action was carried
out. Here, for each action of a grant:

    payable = rate × (invoices validated to date on the platform), rounded half up to the cent,
              capped at what the ceiling leaves after the amounts paid before the platform,
              less what the platform already paid or scheduled on it, never below zero

and, over the grant, what is paid never exceeds the convention's total. An amount paid before the
platform paid invoices justified before it: it takes its share of the ceiling, not of the new invoices.

Each invoice has its own receipt instant (``InvoiceLine.received_at``: the filing, or the filing of the
corrections, that brought it to the ARS) and belongs to the payment window of that day in Europe/Paris;
invoices received after the budget year's last window are not paid on it. The invoices of one dossier
received in one window are settled together, in the order of receipt (``settle``): a verdict, an order
or a payment never moves money between dossiers or windows — what is ordered or paid never changes,
only what is merely scheduled is recomputed. A refused or classé sans suite dossier pays nothing and its
invoices count for nothing. Everything is ``Decimal``.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from guichet.accounts.permissions import is_ars_of
from guichet.calls.deadlines import paris_day
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

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
MAX_REASON = 1000  # InvoiceLine.reason: what the establishment reads of a verdict


class ProofsError(ValidationError):
    """A proof or a payment the rules refuse; the message says why, in French."""


# --- the arithmetic (pure) ----------------------------------------------------------------------

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
    return paris_day(dossier.first_filed_at) if dossier.first_filed_at else None


def window_for(call, received: dt.datetime | dt.date) -> Window | None:
    day = paris_day(received) if isinstance(received, dt.datetime) else received
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


# --- receipts: when each invoice reached the ARS ---------------------------------------------------

DEAD = (State.REFUSE, State.SANS_SUITE)


def receive_lines(dossier: Dossier, at: dt.datetime) -> int:
    """The invoices of ``dossier`` not received yet reach the ARS at ``at``: its filing, the filing of the
    corrections that brought them, or at the latest the ARS taking the dossier into instruction."""
    return InvoiceLine.objects.filter(dossier=dossier, received_at__isnull=True).update(received_at=at)


def line_window(line: InvoiceLine) -> Window | None:
    """The payment window of one invoice: that of its own receipt day (Paris) in its dossier's call."""
    return window_for(line.dossier.call, line.received_at) if line.received_at else None


def next_proofs_call(call):
    """The proofs call of the next budget year in the same region, once the ARS has opened it."""
    from guichet.calls.models import Call, CallKind

    return (Call.objects.filter(kind=CallKind.PROOFS, region_id=call.region_id, year=call.year + 1)
            .order_by("opens_at", "pk").first())


def why_line_not_paid_this_year(line: InvoiceLine) -> str:
    """For an invoice received outside every window of its budget year: why, and where to send it (empty
    for an invoice in a window, or not received yet)."""
    if not line.received_at or line_window(line) is not None:
        return ""
    call = line.dossier.call
    day = paris_day(line.received_at)
    last = max((w.received_until for w in windows(call) if w.received_until), default=None)
    if last is None or day <= last:
        return (f"Facture reçue le {day:%d/%m/%Y} : aucune fenêtre de versement de l'exercice {call.year} "
                "ne la couvre ; écrivez à l'ARS par la messagerie du dossier.")
    next_call = next_proofs_call(call)
    where = (f"dans l'appel « {next_call.title} »" if next_call is not None
             else f"dans l'appel de justificatifs de l'exercice {call.year + 1}, dès son ouverture")
    return (f"Facture reçue le {day:%d/%m/%Y}, après le {last:%d/%m/%Y}, dernière date de l'exercice {call.year} : "
            f"elle n'est pas payée sur cet exercice. Envoyez-la {where}.")


# --- scheduling payments -------------------------------------------------------------------------

def entitlement(rate: Decimal, validated: Decimal, ceiling: Decimal, paid_before: Decimal) -> Decimal:
    """What the platform owes on one action in all, from the invoices ``validated`` so far: rate × V,
    rounded half up to the cent, within what the ceiling leaves after the amounts paid before it."""
    due = (Decimal(rate) * Decimal(validated) / Decimal(100)).quantize(CENT, rounding=ROUND_HALF_UP)
    return max(ZERO, min(due, Decimal(ceiling) - Decimal(paid_before)))


@dataclass
class _Turn:
    """One proofs dossier's invoices received in one window: settled as one, in the order of their receipt."""

    dossier: Dossier
    window: Window
    received_at: dt.datetime
    validated: dict = field(default_factory=dict)  # action id → invoices validated (nothing if dead)

    @property
    def key(self) -> tuple:
        return (self.dossier.pk, self.dossier.call_id, self.window.index)

    @property
    def order(self) -> tuple:
        return (self.received_at, self.dossier.pk, self.window.index)


def schedule(dossier: Dossier) -> list[Payment]:
    """Recompute the payments of every grant ``dossier`` sends invoices for (or was paid on); returns the
    dossier's payments. See ``settle``."""
    with transaction.atomic():
        action_ids = set(dossier.invoice_lines.values_list("action_id", flat=True)) | set(
            dossier.payments.values_list("action_id", flat=True))
        # Lock the grants: two computations on one grant run one after the other.
        grant_ids = GrantAction.objects.filter(pk__in=action_ids).values("grant_id")
        for grant in Grant.objects.select_for_update().filter(pk__in=grant_ids).order_by("pk"):
            settle(grant)
        return list(dossier.payments.exclude(status=PaymentStatus.CANCELLED).order_by("pk"))


def settle(grant: Grant) -> None:
    """The scheduled payments of a grant, settled turn by turn in the order the invoices were received
    (a turn: one dossier's invoices received in one window), whatever the order of verdicts and orders.

    At each turn, per action: what the rule owes on the invoices validated in it and in the turns before
    (``entitlement``), less what those turns settled. What is ordered or paid never changes: it counts at
    its own turn, and what is merely scheduled never eats into what later turns already had ordered (nor
    beyond the action's whole entitlement, nor the convention's total). A refused or classé sans suite
    dossier, and invoices received outside every window, count for nothing. Running it again changes
    nothing; only scheduled payments are written."""
    actions = list(grant.actions.order_by("position"))
    by_id = {a.pk: a for a in actions}
    lines = (InvoiceLine.objects.filter(action__in=actions, received_at__isnull=False)
             .select_related("dossier__call").only("action_id", "status", "amount_ht", "amount_ttc", "accepted_amount",
                                                   "received_at", "dossier__state", "dossier__call_id",
                                                   "dossier__call__payment_windows", "dossier__call__year"))
    turns: dict[tuple, _Turn] = {}
    for line in lines:
        window = window_for(line.dossier.call, line.received_at)
        if window is None:
            continue
        turn = _Turn(line.dossier, window, line.received_at)
        turn = turns.setdefault(turn.key, turn)
        turn.received_at = min(turn.received_at, line.received_at)
        amount = ZERO if line.dossier.state in DEAD else validated_amount(line, grant.invoice_basis)
        turn.validated[line.action_id] = turn.validated.get(line.action_id, ZERO) + amount
    fixed: dict[tuple, Decimal] = {}
    scheduled: dict[tuple, Payment] = {}
    for p in Payment.objects.filter(action__in=actions).exclude(status=PaymentStatus.CANCELLED):
        key = ((p.dossier_id, p.call_id, p.window_index), p.action_id)
        if p.status == PaymentStatus.SCHEDULED:
            scheduled[key] = p
        else:
            fixed[key] = fixed.get(key, ZERO) + p.amount
    # Everything ordered or paid is held back from the start; it counts as settled when its turn comes.
    fixed_left = {a.pk: sum((v for (_, action_id), v in fixed.items() if action_id == a.pk), ZERO) for a in actions}
    grant_left = grant.total - sum((a.paid_before for a in actions), ZERO) - sum(fixed_left.values(), ZERO)
    whole = {a.pk: entitlement(grant.rate, sum((t.validated.get(a.pk, ZERO) for t in turns.values()), ZERO),
                               a.ceiling, a.paid_before) for a in actions}
    settled = {a.pk: ZERO for a in actions}
    validated = {a.pk: ZERO for a in actions}
    wanted: dict[tuple, tuple[_Turn, Decimal]] = {}
    for turn in sorted(turns.values(), key=lambda t: t.order):
        live = turn.dossier.state not in (*DEAD, State.BROUILLON) and grant.status == GrantStatus.ACTIVE
        for action in actions:
            validated[action.pk] += turn.validated.get(action.pk, ZERO)
            f = fixed.get((turn.key, action.pk), ZERO)
            settled[action.pk] += f
            fixed_left[action.pk] -= f
            if not live or action.pk not in turn.validated:
                continue
            owed = entitlement(grant.rate, validated[action.pk], action.ceiling, action.paid_before)
            amount = max(ZERO, min(owed - settled[action.pk],
                                   whole[action.pk] - settled[action.pk] - fixed_left[action.pk], grant_left))
            if amount > 0:
                settled[action.pk] += amount
                grant_left -= amount
                wanted[(turn.key, action.pk)] = (turn, amount)
    for key, payment in scheduled.items():
        if key not in wanted:
            payment.delete()
    for key, (turn, amount) in wanted.items():
        fields = {"amount": amount, "window_label": turn.window.label, "pay_by": turn.window.pay_by}
        payment = scheduled.get(key)
        if payment is None:
            Payment.objects.create(action=by_id[key[1]], dossier=turn.dossier, call_id=turn.dossier.call_id,
                                   window_index=turn.window.index, **fields)
        elif any(getattr(payment, k) != v for k, v in fields.items()):
            for k, v in fields.items():
                setattr(payment, k, v)
            payment.save()


# --- validating invoice lines --------------------------------------------------------------------

def line_waits_for_file(line: InvoiceLine) -> bool:
    """Whether the ARS cannot retain an invoice yet: no file attached (a bordereau gives the amounts, not
    the invoices), or one it cannot open (infected, not yet or not analysable by the antivirus)."""
    return line.attachment_id is None or not line.attachment.is_servable


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
    if status in (LineStatus.ACCEPTED, LineStatus.PARTIAL) and line_waits_for_file(line):
        # Filing already asks for every invoice's file; a line added afterwards (en construction, before the
        # ARS took the dossier) may still lack it, and nothing is paid on an invoice the ARS has not seen.
        raise ProofsError({"status": "La facture n'a pas de fichier valide : demandez-le à l'établissement "
                                     "(demande de corrections) avant de la retenir."})
    reason = (reason or "").strip()
    basis = line.amount_ht if line.action.grant.invoice_basis == "ht" else line.amount_ttc
    errors = {}
    if status in (LineStatus.REJECTED, LineStatus.PARTIAL) and not reason:
        errors["reason"] = "Indiquez le motif : l'établissement le verra."
    elif len(reason) > MAX_REASON:
        errors["reason"] = f"Le motif compte {len(reason)} caractères : {MAX_REASON} au plus."
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
    ordered_on = paris_day(order.created_at)
    if paid_on < ordered_on:
        raise ProofsError({"paid_on": f"La date du versement ne peut pas précéder l'ordre de paiement, émis le "
                                      f"{ordered_on:%d/%m/%Y}."})
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


def ledger(grant: Grant) -> list[LedgerEntry]:
    """Every amount on a grant — paid before the platform, scheduled, ordered, paid — in the order of its date.

    The balances beside it come from ``balances.for_grant`` (the one computation of what remains)."""
    actions = list(grant.actions.all())
    entries = [LedgerEntry(grant.convention_signed_on, "Versé avant la plateforme", a.title, a.paid_before,
                           PaymentStatus.PAID) for a in actions if a.paid_before]
    payments = (Payment.objects.filter(action__grant=grant).exclude(status=PaymentStatus.CANCELLED)
                .select_related("action", "dossier").order_by("pay_by", "action__position", "pk"))
    # In the order of the payment dates (paid, or due by), action by action; before the platform first.
    entries += [LedgerEntry(p.paid_on or p.pay_by, f"{p.window_label} — dossier {p.dossier.number}",
                            p.action.title, p.amount, p.status) for p in payments]
    return entries


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
