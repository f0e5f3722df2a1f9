"""The region's grants and payments as a table of one row per funded action, for CSV, XLSX and ODS.

Every amount comes from the funding app: the ceiling and what was paid before the platform are the action's
own; what is scheduled, ordered and paid on the platform are the stored payments (``payments.schedule`` and
``payments.mark_paid`` decided them; they are only summed per action and status here, as the payment orders'
exports do); what remains is ``balances.compute``'s (the ceiling's and the convention total's limits). The
grants are those ``Grant.objects.visible_to`` the user, read by batches of ``BATCH`` with a fixed number of
queries per batch.
"""

from collections import defaultdict
from decimal import Decimal

from django.db.models import Prefetch, Sum
from django.utils import timezone

from guichet.core.spreadsheets import DATE_TIME, EUROS
from guichet.funding import balances
from guichet.funding.models import Grant, GrantAction, Payment, PaymentStatus
from guichet.funding.payees import payee_ids

from .exports import IDENTIFIER, Column, Export, Table

BATCH = 500
ZERO = Decimal("0.00")

COLUMNS = [
    Column("Numéro du dossier", part="Subvention"), Column("Établissement porteur", part="Subvention"),
    Column("FINESS", IDENTIFIER, part="Subvention"), Column("SIRET", IDENTIFIER, part="Subvention"),
    Column("Appel à projets", part="Subvention"), Column("Année", "0", part="Subvention"),
    Column("Référence de la convention", part="Subvention"), Column("Décidée le", DATE_TIME, part="Subvention"),
    Column("Montant total de la subvention", EUROS, part="Subvention"), Column("État", part="Subvention"),
    Column("Rang", "0", part="Action"), Column("Action", part="Action"), Column("Plafond", EUROS, part="Action"),
    Column("Versé avant la plateforme", EUROS, part="Action"), Column("Prévu", EUROS, part="Action"),
    Column("Ordonnancé", EUROS, part="Action"), Column("Versé sur la plateforme", EUROS, part="Action"),
    Column("Reste disponible", EUROS, part="Action"),
]


def grants(user):
    """The grants the export lists, in the grants page's order."""
    return Grant.objects.visible_to(user).order_by("-call_year", "convention_reference", "pk")


def _by_status(grant_ids) -> dict[int, dict[str, Decimal]]:
    """Per action of ``grant_ids``: the stored payments' sum per status (cancelled ones count for nothing)."""
    sums: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for row in (Payment.objects.filter(action__grant_id__in=grant_ids).exclude(status=PaymentStatus.CANCELLED)
                .values("action_id", "status").annotate(amount=Sum("amount")).order_by()):
        sums[row["action_id"]][row["status"]] = row["amount"] or ZERO
    return sums


def _local(value):
    return None if value is None else timezone.localtime(value).replace(tzinfo=None)


def _rows(ids):
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        found = {g.pk: g for g in Grant.objects.filter(pk__in=chunk).select_related(
            "beneficiary__legal_entity", "legal_entity", "call", "dossier__form_version").prefetch_related(
            Prefetch("actions", queryset=GrantAction.objects.order_by("position")))}
        _, action_balances = balances.compute(chunk)
        by_status = _by_status(chunk)
        for pk in chunk:
            g = found.get(pk)
            if g is None:
                continue
            grant_values = [
                g.dossier.number if g.dossier else "", g.beneficiary.name, g.beneficiary.finess, payee_ids(g).siret,
                g.call.title if g.call else "Reprise antérieure à la plateforme", g.call_year,
                g.convention_reference, _local(g.decided_at), g.total, g.get_status_display(),
            ]
            for a in g.actions.all():
                sums = by_status.get(a.pk, {})
                yield grant_values + [
                    a.position, a.title, a.ceiling, a.paid_before, sums.get(PaymentStatus.SCHEDULED, ZERO),
                    sums.get(PaymentStatus.ORDERED, ZERO), sums.get(PaymentStatus.PAID, ZERO),
                    action_balances[a.pk].remaining,
                ]


def build(user) -> Export:
    """The export of the grants ``user`` sees: one row per action, computed lazily batch by batch."""
    ids = list(grants(user).values_list("pk", flat=True))
    return Export(Table(list(COLUMNS), _rows(ids), title="Subventions"))
