"""What remains to be paid on a grant, action by action and over the convention (*reste disponible*).

A convention states a ceiling per action and a total, which may be lower than the sum of the ceilings.
What remains on an action is therefore the smaller of what its ceiling leaves and what the convention's
total leaves (the same limits the payment engine applies in ``payments.settle``); when
the total is what stops an action, the reason says so, in the establishment's words.

    used(action)        = paid before the platform + paid + scheduled or ordered (never cancelled)
    ceiling_left(action) = max(0, ceiling − used(action))
    total_left(grant)    = max(0, total − Σ used(actions of the grant))
    remaining(action)    = min(ceiling_left(action), total_left(grant))

The one computation of these balances, for the establishment's pages (« Mes subventions », a proofs
dossier's invoices), the ARS's grant pages and ledger, and the API. A fixed number of queries.
"""

from dataclasses import dataclass
from decimal import Decimal

from guichet.core.money import euros

from .models import Grant, GrantAction, Payment, PaymentStatus

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ActionBalance:
    paid: Decimal  # before the platform, and through orders marked paid
    committed: Decimal  # scheduled or ordered, not paid yet
    ceiling_left: Decimal  # what the action's ceiling still leaves
    remaining: Decimal  # what may still be paid on it: the ceiling's and the convention total's limit
    reason: str = ""  # why ``remaining`` is below ``ceiling_left`` (the convention's total binds)


@dataclass(frozen=True)
class GrantBalance:
    total: Decimal  # the convention's total
    ceilings: Decimal  # the sum of its actions' ceilings
    paid: Decimal
    committed: Decimal
    remaining: Decimal  # what the total still leaves, never below zero
    available: Decimal  # what may still be paid: the total's limit, and the ceilings' (Σ per action)
    reason: str = ""  # why ``available`` is below what the ceilings leave (the total binds)

    @property
    def total_binds(self) -> bool:
        return self.total < self.ceilings


def _total_clause(total_left: Decimal, total: Decimal) -> str:
    """« mais le total de la convention (X) est atteint » or « … n'en laisse que Y »."""
    if total_left <= 0:
        return f"mais le total de la convention ({euros(total)}) est atteint"
    return f"mais le total de la convention n'en laisse que {euros(total_left)}"


def total_binds_reason(ceiling_left: Decimal, total_left: Decimal, total: Decimal) -> str:
    """« plafond de l'action : X restants, mais le total de la convention n'en laisse que Y »."""
    return f"plafond de l'action : {euros(ceiling_left)} restants, {_total_clause(total_left, total)}"


def _amounts(grants) -> tuple[dict[int, Decimal], dict[int, Decimal]]:
    """Per action of ``grants`` (ids or a queryset): what is paid, what is scheduled or ordered."""
    paid: dict[int, Decimal] = {}
    committed: dict[int, Decimal] = {}
    for p in (Payment.objects.filter(action__grant_id__in=grants).exclude(status=PaymentStatus.CANCELLED)
              .only("action_id", "status", "amount")):
        bucket = paid if p.status == PaymentStatus.PAID else committed
        bucket[p.action_id] = bucket.get(p.action_id, ZERO) + p.amount
    return paid, committed


def compute(grants) -> tuple[dict[int, GrantBalance], dict[int, ActionBalance]]:
    """The balances of ``grants`` (Grant instances or ids) and of each of their actions, by primary key."""
    grant_ids = {g.pk if isinstance(g, Grant) else g for g in grants}
    if not grant_ids:
        return {}, {}
    return _compute(grant_ids)


def for_queryset(grants) -> tuple[dict[int, GrantBalance], dict[int, ActionBalance]]:
    """The balances of every grant of the queryset ``grants``, whatever their number: the grants are selected
    by a subquery, never a list of ids (the statistics of a region or of the country; three queries)."""
    return _compute(grants.order_by().values("pk"))


def _compute(grants) -> tuple[dict[int, GrantBalance], dict[int, ActionBalance]]:
    """``grants``: a set of ids or a subquery of ids."""
    totals = dict(Grant.objects.filter(pk__in=grants).values_list("pk", "total"))
    actions = list(GrantAction.objects.filter(grant_id__in=grants).only(
        "pk", "grant_id", "ceiling", "paid_before").order_by("grant_id", "position"))
    paid, committed = _amounts(grants)
    used = {a.pk: a.paid_before + paid.get(a.pk, ZERO) + committed.get(a.pk, ZERO) for a in actions}
    by_grant: dict[int, list[GrantAction]] = {}
    for a in actions:
        by_grant.setdefault(a.grant_id, []).append(a)
    grant_result: dict[int, GrantBalance] = {}
    action_result: dict[int, ActionBalance] = {}
    for grant_id, total in totals.items():
        mine = by_grant.get(grant_id, [])
        total_left = max(ZERO, total - sum((used[a.pk] for a in mine), ZERO))
        ceilings_left = ZERO
        for a in mine:
            ceiling_left = max(ZERO, a.ceiling - used[a.pk])
            ceilings_left += ceiling_left
            remaining = min(ceiling_left, total_left)
            action_result[a.pk] = ActionBalance(
                paid=a.paid_before + paid.get(a.pk, ZERO), committed=committed.get(a.pk, ZERO),
                ceiling_left=ceiling_left, remaining=remaining,
                reason=total_binds_reason(ceiling_left, total_left, total) if remaining < ceiling_left else "")
        grant_paid = sum((a.paid_before + paid.get(a.pk, ZERO) for a in mine), ZERO)
        grant_committed = sum((committed.get(a.pk, ZERO) for a in mine), ZERO)
        available = min(total_left, ceilings_left)
        reason = ""
        if total_left < ceilings_left:
            reason = f"les plafonds des actions laissent {euros(ceilings_left)}, {_total_clause(total_left, total)}"
        grant_result[grant_id] = GrantBalance(
            total=total, ceilings=sum((a.ceiling for a in mine), ZERO), paid=grant_paid, committed=grant_committed,
            remaining=total_left, available=available, reason=reason)
    return grant_result, action_result


def for_actions(actions) -> dict[int, ActionBalance]:
    """The balance of each of ``actions`` (GrantAction instances), by primary key."""
    return compute({a.grant_id for a in actions})[1]


def for_grant(grant) -> GrantBalance:
    return compute([grant])[0][grant.pk]
