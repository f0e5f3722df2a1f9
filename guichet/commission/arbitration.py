"""Arbitration: a commission session's agenda, the amounts it grants within the call's envelope, and
its decisions applied to the dossiers.

The rules, in one place for the pages, the API and the admin:
- an action's granted (and proposed) amount is never above its ceiling: the call's co-financing rate
  of its eligible cost (rounded down to the cent) and never above what was asked;
- what is committed on a call is the sum of the amounts granted in its sessions, except on dossiers
  refused, closed or postponed; it never exceeds the call's envelope — the call row is locked while an
  amount is written, so that two people typing at once cannot both pass — unless an ARS administrator
  raises the envelope, which is recorded;
- decisions are applied from the session in one step, each through the dossier's guarded transitions
  (``guichet.dossiers.workflow.apply``), or none is when one of them cannot be.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from guichet.accounts.permissions import can_manage_region, is_ars_of
from guichet.calls.models import Call
from guichet.core import audit
from guichet.core.money import euros, parse_euros, percent
from guichet.dossiers import workflow
from guichet.dossiers.models import Dossier, State

from .actions import actions_of, ceiling
from .models import ActionLine, AgendaItem, Decision, EnvelopeChange, Session, SessionMember, SessionStatus

ZERO = Decimal("0.00")
MAX_REASON = 1000  # the reason of an envelope change, kept in the audit trail
NOT_COMMITTED = (Decision.REFUSE, Decision.CLOSE, Decision.POSTPONE)


class ArbitrationError(ValidationError):
    """An amount or a decision the rules refuse; the message says why, in French."""


# --- who may do what ---------------------------------------------------------------------------

def can_manage(user, call: Call) -> bool:
    """ARS staff of the call's region prepare sessions, type amounts and apply decisions."""
    return is_ars_of(user, call.region_id)


def sessions_visible_to(user):
    """ARS staff see their region's sessions; anyone else the sessions they sit in."""
    if not user.is_authenticated:
        return Session.objects.none()
    if user.is_superuser:
        return Session.objects.all()
    if user.is_ars_staff:
        return Session.objects.filter(call__region_id=user.region_id)
    return Session.objects.filter(members__user=user)


def can_see_session(user, session: Session) -> bool:
    return sessions_visible_to(user).filter(pk=session.pk).exists()


def sits_on(user, dossier: Dossier) -> bool:
    """A commission member (not ARS staff) reaches a dossier only through a session whose agenda holds it."""
    return user.is_authenticated and AgendaItem.objects.filter(dossier=dossier, session__members__user=user).exists()


def _require_manager(user, call: Call):
    if not can_manage(user, call):
        raise PermissionDenied("Seule l'ARS de la région de l'appel prépare les séances et arbitre.")


def _require_open(session: Session):
    if not session.is_open:
        raise ArbitrationError("Les décisions de cette séance sont appliquées : elle ne se modifie plus.")


# --- sessions and agenda -----------------------------------------------------------------------

def create_session(call: Call, user, *, title: str, held_on, place: str = "", **extra) -> Session:
    _require_manager(user, call)
    if call.is_template:
        raise ArbitrationError("Un modèle d'appel à projets n'a pas de séance.")
    session = Session.objects.create(call=call, title=title.strip(), held_on=held_on, place=place.strip(),
                                     created_by=user, **extra)
    audit.record(user, "session:create", session=session.pk, call=call.pk)
    return session


def add_member(session: Session, by, user, capacity: str, organisation: str = "") -> SessionMember:
    _require_manager(by, session.call)
    member, _ = SessionMember.objects.update_or_create(session=session, user=user, defaults={
        "capacity": capacity, "organisation": organisation.strip()})
    audit.record(by, "session:member", session=session.pk, member=user.email, capacity=capacity)
    return member


def why_not_on_agenda(session: Session, dossier: Dossier) -> str | None:
    if dossier.call_id != session.call_id:
        return "Ce dossier n'est pas un dossier de l'appel à projets de la séance."
    if dossier.state != State.EN_INSTRUCTION:
        return f"Seul un dossier en instruction passe en commission (celui-ci est « {dossier.get_state_display()} »)."
    other = (AgendaItem.objects.filter(dossier=dossier).exclude(decision=Decision.POSTPONE)
             .select_related("session").first())
    if other is not None:
        return f"Ce dossier est déjà à l'ordre du jour de la séance « {other.session.title} »."
    return None


@transaction.atomic
def add_to_agenda(session: Session, dossiers, user) -> tuple[list[AgendaItem], dict[str, str]]:
    """Put dossiers on the agenda, each with its actions copied from its answers. Returns the items
    added and, by dossier number, why the others were not."""
    _require_manager(user, session.call)
    _require_open(session)
    added, refused = [], {}
    order = (session.items.order_by("-order").values_list("order", flat=True).first() or 0)
    for dossier in dossiers:
        reason = why_not_on_agenda(session, dossier)
        if reason:
            refused[str(dossier)] = reason
            continue
        order += 1
        item = AgendaItem.objects.create(session=session, dossier=dossier, order=order)
        ActionLine.objects.bulk_create(
            ActionLine(item=item, position=a.position, title=a.title, establishments=a.establishments, cost=a.cost,
                       eligible_cost=a.cost, requested=a.requested)
            for a in actions_of(dossier.answers or {}))
        added.append(item)
    if added:
        audit.record(user, "session:agenda", session=session.pk, added=[i.dossier_id for i in added])
    return added, refused


def remove_from_agenda(item: AgendaItem, user) -> None:
    _require_manager(user, item.session.call)
    _require_open(item.session)
    audit.record(user, "session:agenda_remove", dossier=item.dossier, session=item.session_id)
    item.delete()


# --- amounts and the envelope ------------------------------------------------------------------

@dataclass(frozen=True)
class Totals:
    envelope: Decimal | None
    committed: Decimal

    @property
    def remaining(self) -> Decimal | None:
        return None if self.envelope is None else self.envelope - self.committed


def committed_lines(call: Call):
    return ActionLine.objects.filter(item__session__call=call).exclude(item__decision__in=NOT_COMMITTED)


def totals(call: Call) -> Totals:
    """The envelope, what is committed on it and (property) what remains — one query."""
    committed = committed_lines(call).aggregate(s=Sum("granted"))["s"] or ZERO
    return Totals(call.envelope, committed)


def line_ceiling(line: ActionLine, rate: Decimal) -> Decimal:
    return ceiling(line.eligible_cost, line.requested, rate)


def _amount(value, label: str) -> Decimal | None:
    """An amount in euros within a money column's bounds (core.money.parse_euros), the error keyed by field."""
    if value is None:
        return None
    try:
        amount = parse_euros(value if isinstance(value, str | Decimal) else Decimal(str(value)))
    except ValidationError as exc:
        raise ArbitrationError({label: exc.messages[0]}) from None
    return None if amount is None else amount.quantize(Decimal("0.01"))


UNSET = object()


def set_amounts(line: ActionLine, user, *, eligible_cost=UNSET, proposed=UNSET, granted=UNSET) -> Totals:
    """Write an action's eligible cost, proposed or granted amount (None clears it), enforcing the
    ceiling and the envelope; returns the call's totals after the change. Errors are keyed by field."""
    call = line.item.session.call
    _require_manager(user, call)
    with transaction.atomic():
        # Lock the call: committing is a read-then-write on the envelope.
        call = Call.objects.select_for_update().get(pk=call.pk)
        line = ActionLine.objects.select_for_update(of=("self",)).select_related("item__session").get(pk=line.pk)
        _require_open(line.item.session)
        changes = {}
        if eligible_cost is not UNSET:
            value = _amount(eligible_cost, "eligible_cost")
            if value is None:
                raise ArbitrationError({"eligible_cost": "Indiquez le coût éligible de l'action."})
            if value > line.cost:
                raise ArbitrationError({"eligible_cost": f"Le coût éligible ne peut pas dépasser le coût total "
                                                         f"de l'action ({euros(line.cost)})."})
            changes["eligible_cost"] = line.eligible_cost = value
        limit = line_ceiling(line, call.cofinancing_rate)
        for field, value in (("proposed", proposed), ("granted", granted)):
            if value is UNSET:
                continue
            value = _amount(value, field)
            if value is not None and value > limit:
                raise ArbitrationError({field: _over_ceiling(line, limit, call.cofinancing_rate)})
            changes[field] = value
            setattr(line, field, value)
        # A lowered eligible cost may push amounts already typed above the new ceiling.
        for field in ("proposed", "granted"):
            current = getattr(line, field)
            if field not in changes and current is not None and current > limit:
                raise ArbitrationError({"eligible_cost": f"Le montant {'accordé' if field == 'granted' else 'proposé'}"
                                                         f" ({euros(current)}) dépasserait le plafond de "
                                                         f"{euros(limit)} : diminuez-le d'abord."})
        if "granted" in changes and line.item.decision in NOT_COMMITTED and changes["granted"]:
            raise ArbitrationError({"granted": "Ce dossier n'est pas retenu : aucun montant ne lui est accordé."})
        line.save(update_fields=list(changes))
        after = totals(call)
        if "granted" in changes and after.remaining is not None and after.remaining < 0:
            raise ArbitrationError({"granted": (
                f"L'enveloppe de l'appel ({euros(after.envelope)}) serait dépassée de {euros(-after.remaining)} : "
                "réduisez un montant, ou demandez à un administrateur de l'ARS de relever l'enveloppe.")})
        audit.record(user, "arbitration:amounts", dossier=line.item.dossier,
                     line=line.pk, **{k: None if v is None else str(v) for k, v in changes.items()})
    return after


def _over_ceiling(line: ActionLine, limit: Decimal, rate: Decimal) -> str:
    by_rate = ceiling(line.eligible_cost, line.eligible_cost * 100, rate)
    if line.requested < by_rate:
        return f"Le montant ne peut pas dépasser le montant demandé ({euros(line.requested)})."
    return (f"Le montant ne peut pas dépasser {euros(limit)} : {percent(rate)} du coût éligible "
            f"({euros(line.eligible_cost)}).")


def raise_envelope(call: Call, user, new_amount, reason: str) -> EnvelopeChange:
    """Change a call's envelope (an ARS administrator, with a reason); never below what is committed."""
    if not can_manage_region(user, call.region_id):
        raise PermissionDenied("Seul un administrateur de l'ARS de la région modifie l'enveloppe.")
    reason = (reason or "").strip()
    if not reason:
        raise ArbitrationError({"reason": "Indiquez le motif de la modification de l'enveloppe."})
    if len(reason) > MAX_REASON:
        raise ArbitrationError({"reason": f"Le motif compte {len(reason)} caractères : {MAX_REASON} au plus."})
    new_amount = _amount(new_amount, "envelope")
    if new_amount is None:
        raise ArbitrationError({"envelope": "Indiquez le montant de l'enveloppe."})
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call.pk)
        committed = totals(call).committed
        if new_amount < committed:
            raise ArbitrationError({"envelope": f"L'enveloppe ne peut pas être inférieure aux montants déjà "
                                                f"engagés ({euros(committed)})."})
        change = EnvelopeChange.objects.create(call=call, previous=call.envelope, new=new_amount, reason=reason,
                                               changed_by=user)
        call.envelope = new_amount
        call.save(update_fields=["envelope"])
        audit.record(user, "call:envelope", call=call.pk, previous=None if change.previous is None
                     else str(change.previous), new=str(new_amount), reason=reason)
    return change


# --- decisions ---------------------------------------------------------------------------------

def set_decision(item: AgendaItem, user, decision: str, motivation: str = "", convention_kind: str | None = None):
    """Record the commission's decision on a dossier (applied later, with the others). A dossier not
    retained no longer commits any amount."""
    _require_manager(user, item.session.call)
    _require_open(item.session)
    if decision not in Decision.values:
        raise ArbitrationError({"decision": "Choisissez une décision dans la liste."})
    if len((motivation or "").strip()) > workflow.MAX_MOTIVATION:
        raise ArbitrationError({"motivation": f"La motivation compte {len(motivation.strip())} caractères : "
                                              f"{workflow.MAX_MOTIVATION} au plus."})
    with transaction.atomic():
        item.decision = decision
        item.motivation = (motivation or "").strip()
        if convention_kind:
            item.convention_kind = convention_kind
        item.save(update_fields=["decision", "motivation", "convention_kind"])
        if decision in NOT_COMMITTED:
            item.lines.update(granted=None)
        audit.record(user, "arbitration:decision", dossier=item.dossier, session=item.session_id, decision=decision)
    return item


EVENTS = {Decision.ACCEPT: "accepter", Decision.REFUSE: "refuser", Decision.CLOSE: "classer_sans_suite"}


def problems(session: Session, user) -> dict[str, str]:
    """Why the session's decisions cannot be applied now, by dossier number (empty when they can)."""
    from guichet.instruction.annotations import annotations_version

    found = {}
    call = session.call
    call.annotations_version = annotations_version(call)  # one query for the whole agenda, not one per dossier
    for item in session.items.select_related("dossier").prefetch_related("lines"):
        item.dossier.call = call
        label = str(item.dossier)
        if item.decision == Decision.PENDING:
            found[label] = "Aucune décision n'est prise sur ce dossier."
            continue
        if item.decision == Decision.POSTPONE:
            continue
        if item.decision == Decision.ACCEPT and not any((line.granted or 0) > 0 for line in item.lines.all()):
            found[label] = "Un dossier accepté doit avoir un montant accordé sur au moins une action."
            continue
        if item.decision in (Decision.REFUSE, Decision.CLOSE) and not item.motivation:
            found[label] = "La motivation est obligatoire pour refuser ou classer sans suite."
            continue
        reason = workflow.why_not(workflow.TRANSITIONS[EVENTS[item.decision]], item.dossier, user)
        if reason:
            found[label] = reason
    if not session.items.exists():
        found["—"] = "La séance n'a aucun dossier à l'ordre du jour."
    return found


def decision_message(item: AgendaItem) -> str:
    if item.decision != Decision.ACCEPT:
        return item.motivation
    lines = [line for line in item.lines.all() if (line.granted or 0) > 0]
    total = sum((line.granted for line in lines), ZERO)
    detail = "\n".join(f"- {line.title} : {euros(line.granted)}" for line in lines)
    text = f"Subvention accordée : {euros(total)}.\n{detail}"
    return f"{text}\n\n{item.motivation}" if item.motivation else text


def early_application_error(session: Session, now, reason: str) -> str:
    """Why applying now needs a reason: before the session's date, the letters would say « Après avis de la
    commission » dated before the commission sat. Empty when the session is past or a reason is given."""
    if now >= session.held_on or reason.strip():
        return ""
    held = timezone.localtime(session.held_on)
    return (f"La séance est prévue le {held:%d/%m/%Y} à {held:%H:%M} : appliquer ses décisions avant qu'elle se "
            "tienne daterait les lettres « après avis de la commission » d'avant son avis. Indiquez pourquoi "
            "vous les appliquez dès maintenant (le motif est conservé au journal).")


def apply_decisions(session: Session, user, now=None, early_reason: str = "") -> list[AgendaItem]:
    """Apply every decision of the session, each through the dossier's transitions, in one transaction:
    all or none. Accepted dossiers get their grant; letters, conventions and the minutes are generated
    after commit. Before the session's date, only with ``early_reason`` (recorded in the audit trail)."""
    from guichet.funding.services import grant_from_item

    from . import documents

    _require_manager(user, session.call)
    now = now or timezone.now()
    with transaction.atomic():
        session = Session.objects.select_for_update().select_related("call__region").get(pk=session.pk)
        _require_open(session)
        early = early_application_error(session, now, early_reason)
        if early:
            raise ArbitrationError({"early_reason": early})
        found = problems(session, user)
        if found:
            raise ArbitrationError([f"{number} : {reason}" for number, reason in found.items()])
        applied = []
        for item in session.items.select_related("dossier").prefetch_related("lines"):
            if item.decision == Decision.POSTPONE:
                continue
            workflow.apply(item.dossier, EVENTS[item.decision], user, motivation=decision_message(item), now=now)
            if item.decision == Decision.ACCEPT:
                grant_from_item(item, now=now)
            item.applied_at = now
            item.save(update_fields=["applied_at"])
            applied.append(item)
        session.status, session.decided_at, session.decided_by = SessionStatus.DECIDED, now, user
        session.save(update_fields=["status", "decided_at", "decided_by"])
        details = {"early_reason": early_reason.strip()} if now < session.held_on else {}
        audit.record(user, "session:apply", session=session.pk, dossiers=[i.dossier_id for i in applied], **details)
        transaction.on_commit(lambda: documents.enqueue_decision_documents(session))
    return applied


def agenda_candidates(session: Session):
    """Dossiers of the call that may join the agenda: in instruction, on no other agenda (postponed ones may)."""
    taken = AgendaItem.objects.exclude(decision=Decision.POSTPONE).values("dossier_id")
    return (Dossier.objects.filter(call=session.call, state=State.EN_INSTRUCTION)
            .exclude(Q(pk__in=taken)).select_related("establishment"))
