"""Properties of the payment rule (hypothesis), against an oracle written here, independently of
``funding.payments``: PRODUCT.md's rule re-computed in integer cents, settling the dossiers one by one
in the order their invoices were received (one turn per dossier and payment window), each invoice's
window read from its receipt day in Europe/Paris.

Everything goes through the real paths: invoices typed online, the dossier filed by
``services.file_dossier`` with the platform's clock at the drawn instant (around midnight, the window
boundaries and both changes of time of 2024), corrections filed through the workflow, verdicts,
decisions, orders and payments through the domain. Each example runs in a savepoint rolled back after it.
"""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from guichet.dossiers import workflow
from guichet.dossiers.models import Dossier, State
from guichet.funding import payments, proofs
from guichet.funding.models import Grant, GrantAction, GrantStatus, InvoiceLine, LineStatus, Payment, PaymentStatus
from guichet.funding.payments import ProofsError
from tests.factories import EstablishmentFactory, InstructorFactory, LegalEntityFactory, region
from tests.test_payment_receipts import add_invoice, file_proofs, proofs_call

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Europe/Paris")
SETTINGS = settings(max_examples=60, deadline=None, derandomize=False,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


# --- the oracle -----------------------------------------------------------------------------------

def window_of(instant: dt.datetime) -> int | None:
    """The 2024 windows of seed 001, by the receipt day in Paris: until 31 May, 1 June – 15 November."""
    day = instant.astimezone(TZ).date()
    if day <= dt.date(2024, 5, 31):
        return 0
    if day <= dt.date(2024, 11, 15):
        return 1
    return None


def cents(amount) -> int:
    return int(Decimal(amount) * 100)


def oracle(grants: list[dict], lines: list[dict], live: list[bool]) -> dict[tuple, int]:
    """PRODUCT.md « The payment rule, precisely », in cents, turn by turn in receipt order.

    ``grants``: {rate (Decimal, %), basis, total, actions: [(ceiling, paid_before)]} in cents; ``lines``:
    {dossier, grant, action, at, ht, ttc, status, accepted} in cents; ``live[d]``: the dossier is neither
    refused nor classé sans suite. Returns {(dossier, grant, action, window): cents paid}."""
    out: dict[tuple, int] = {}
    for g, grant in enumerate(grants):
        rate_hundredths = int(grant["rate"] * 100)  # 33.33 % → 3333
        turns: dict[tuple, dict] = {}
        for line in lines:
            w = window_of(line["at"])
            if line["grant"] != g or w is None:
                continue
            turn = turns.setdefault((line["dossier"], w), {"at": line["at"], "lines": []})
            turn["at"] = min(turn["at"], line["at"])
            turn["lines"].append(line)
        invoices = [0] * len(grant["actions"])  # V: validated so far, in cents
        platform = [0] * len(grant["actions"])  # paid + scheduled by the platform so far
        before = sum(pb for _, pb in grant["actions"])
        for (d, w), turn in sorted(turns.items(), key=lambda kv: (kv[1]["at"], kv[0][0], kv[0][1])):
            for a, (ceiling, paid_before) in enumerate(grant["actions"]):
                mine = [line for line in turn["lines"] if line["action"] == a]
                if not mine or not live[d]:
                    continue
                for line in mine:
                    if line["status"] == LineStatus.ACCEPTED:
                        invoices[a] += line["ht"] if grant["basis"] == "ht" else line["ttc"]
                    elif line["status"] == LineStatus.PARTIAL:
                        invoices[a] += line["accepted"]
                # The invoices behind what was paid before the platform count as P ÷ rate: rate × (V + P ÷ rate)
                # is rate × V + P, rounded half up to the cent.
                due = (2 * invoices[a] * rate_hundredths + 10000) // 20000 + paid_before
                owed = min(due, ceiling) - paid_before - platform[a]
                room = grant["total"] - before - sum(platform)
                amount = max(0, min(owed, room))
                platform[a] += amount
                if amount:
                    out[(d, g, a, w)] = out.get((d, g, a, w), 0) + amount
    return out


def test_the_oracle_on_the_worked_example_of_product_md():
    """Ceiling 20 000 €, rate 50 %, 6 000 € paid before; 30 000 € of new invoices → 14 000 € payable."""
    at = dt.datetime(2024, 3, 1, 9, tzinfo=TZ)
    line = {"dossier": 0, "grant": 0, "action": 0, "at": at, "ht": 3000000, "ttc": 3000000,
            "status": LineStatus.ACCEPTED, "accepted": None}
    grant = {"rate": Decimal(50), "basis": "ttc", "total": 2000000, "actions": [(2000000, 600000)]}
    assert oracle([grant], [line], [True]) == {(0, 0, 0, 0): 1400000}
    half = {**line, "ttc": 1, "ht": 1}  # 0,005 € rounds half up to 0,01 €
    assert oracle([{**grant, "actions": [(2000000, 0)]}], [half], [True]) == {(0, 0, 0, 0): 1}
    assert oracle([grant], [line], [False]) == {}


# --- strategies -------------------------------------------------------------------------------------

def _paris_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=TZ).astimezone(dt.UTC)


# Instants that matter: midnight in Paris before and after the first window's end, the nights of both
# changes of time (31 March, 02:00 → 03:00; 27 October, 03:00 → 02:00), an ordinary day.
ANCHORS = [_paris_midnight(dt.date(2024, 6, 1)), _paris_midnight(dt.date(2024, 3, 31)),
           dt.datetime(2024, 3, 31, 1, 0, tzinfo=dt.UTC),  # 03:00 summer time, the change
           _paris_midnight(dt.date(2024, 10, 27)), dt.datetime(2024, 10, 27, 1, 0, tzinfo=dt.UTC),
           _paris_midnight(dt.date(2024, 2, 14))]
LATE = _paris_midnight(dt.date(2024, 11, 16))  # after the budget year's last window (corrections only)
OFFSETS = st.one_of(st.sampled_from([-1, 0, 1, -3600, 3600, -7200, 7199]), st.integers(-3 * 3600, 3 * 3600))
FIRST_FILING = st.builds(lambda anchor, offset: anchor + dt.timedelta(seconds=offset), st.sampled_from(ANCHORS),
                         OFFSETS)
CORRECTIONS = st.builds(lambda anchor, offset: anchor + dt.timedelta(seconds=offset),
                        st.sampled_from([*ANCHORS, LATE, LATE]), OFFSETS)
MONEY = st.one_of(st.integers(50_000, 2_000_000), st.sampled_from([1, 2, 3, 99, 100, 101]),
                  st.integers(1, 999_999_999))  # cents: 0,01 € … 9 999 999,99 €, mostly 500 € – 20 000 €
RATES = st.one_of(st.sampled_from([Decimal(50), Decimal(100), Decimal("33.33"), Decimal("0.01")]),
                  st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=2))


CEILINGS = st.one_of(MONEY, st.just(0))
UP_TO_THREE = st.integers(1, 3)


@st.composite
def grant_specs(draw, ceilings=CEILINGS, sizes=UP_TO_THREE):
    n = draw(sizes)
    ceilings = [draw(ceilings) for _ in range(n)]
    paid_before = [draw(st.one_of(st.just(0), st.integers(0, c // 2), st.integers(0, c))) for c in ceilings]
    binding = draw(st.booleans())
    total = sum(ceilings)
    if binding:  # the convention's total below the sum of the actions' ceilings
        total = draw(st.integers(min(sum(paid_before), total), total))
    return {"rate": draw(RATES), "basis": draw(st.sampled_from(["ht", "ttc"])), "total": total,
            "actions": list(zip(ceilings, paid_before, strict=True))}


@st.composite
def typed_lines(draw, grants, n_min=1, n_max=4):
    out = []
    for _ in range(draw(st.integers(n_min, n_max))):
        g = draw(st.integers(0, len(grants) - 1))
        ht = draw(MONEY)
        ttc = ht + draw(st.integers(0, ht // 5))
        basis = ht if grants[g]["basis"] == "ht" else ttc
        status = draw(st.sampled_from([LineStatus.ACCEPTED, LineStatus.ACCEPTED, LineStatus.ACCEPTED,
                                       LineStatus.PARTIAL, LineStatus.REJECTED, LineStatus.PENDING]))
        accepted = None
        if status == LineStatus.PARTIAL:
            if basis < 2:
                status = LineStatus.ACCEPTED
            else:
                accepted = draw(st.integers(1, basis - 1))
        out.append({"grant": g, "action": draw(st.integers(0, len(grants[g]["actions"]) - 1)), "ht": ht,
                    "ttc": ttc, "status": status, "accepted": accepted})
    return out


@st.composite
def dossier_specs(draw, grants, n_max=3):
    out = []
    for _ in range(draw(st.integers(1, n_max))):
        first = draw(FIRST_FILING)
        spec = {"first": first, "lines": draw(typed_lines(grants)), "corrections": None, "extra": []}
        if draw(st.booleans()):
            spec["corrections"] = max(draw(CORRECTIONS), first + dt.timedelta(minutes=1))
            spec["extra"] = draw(typed_lines(grants, 1, 2))
        spec["decision"] = draw(st.sampled_from(["accepter", "accepter", "accepter", "refuser", "classer_sans_suite",
                                                 None]))
        out.append(spec)
    return out


# --- building the world through the real paths ------------------------------------------------------

def euros(amount_cents: int) -> Decimal:
    return Decimal(amount_cents) / 100


def build(grant_list, dossier_list):
    """The grants, then each dossier typed, filed and (with its corrections) taken into instruction."""
    entity = LegalEntityFactory(finess="590000015", siren="", name="ENTITÉ DE PROPRIÉTÉ")
    beneficiary = EstablishmentFactory(finess="590000023", siret="", name="SITE 0", legal_entity=entity)
    call, instructor = proofs_call(), InstructorFactory()
    actions = []
    for g, spec in enumerate(grant_list):
        grant = Grant.objects.create(
            region=region("32"), call_year=2023, beneficiary=beneficiary, legal_entity=entity, rate=spec["rate"],
            total=euros(spec["total"]), convention_reference=f"PROP-{g}", status=GrantStatus.ACTIVE,
            invoice_basis=spec["basis"], imported=True)
        actions.append([GrantAction.objects.create(grant=grant, position=a + 1, title=f"Action {g}.{a}",
                                                   ceiling=euros(c), paid_before=euros(pb))
                        for a, (c, pb) in enumerate(spec["actions"])])
    dossiers, made = [], []

    def typed(line, number):
        return proofs.LineInput(action=actions[line["grant"]][line["action"]], supplier="Fournisseur",
                                number=number, invoice_date=dt.date(2024, 1, 2), amount_ht=euros(line["ht"]),
                                amount_ttc=euros(line["ttc"]))

    for d, spec in enumerate(dossier_list):
        site = EstablishmentFactory(finess=f"59000{d + 1:04d}", siret="", name=f"SITE {d + 1}", legal_entity=entity)
        dossier = file_proofs(call, site, [typed(line, f"F-{d}-{i}") for i, line in enumerate(spec["lines"])],
                              spec["first"])
        workflow.apply(dossier, "passer_en_instruction", instructor, now=spec["first"] + dt.timedelta(seconds=1))
        for line in spec["lines"]:
            line.update(dossier=d, at=spec["first"])
        if spec["corrections"] is not None:
            workflow.apply(dossier, "demander_correction", instructor, motivation="Factures manquantes.",
                           now=spec["first"] + dt.timedelta(seconds=2))
            for i, line in enumerate(spec["extra"]):
                add_invoice(Dossier.objects.get(pk=dossier.pk), typed(line, f"C-{d}-{i}"))
                line.update(dossier=d, at=spec["corrections"])
            workflow.apply(dossier, "deposer_corrections", dossier.created_by, now=spec["corrections"])
            workflow.apply(dossier, "passer_en_instruction", instructor,
                           now=spec["corrections"] + dt.timedelta(seconds=1))
        dossiers.append(Dossier.objects.get(pk=dossier.pk))
        made.append([(line, f"F-{d}-{i}") for i, line in enumerate(spec["lines"])]
                    + [(line, f"C-{d}-{i}") for i, line in enumerate(spec["extra"])])
    return call, instructor, actions, dossiers, made


def verdict(line_row, instructor, status, accepted_cents):
    payments.validate_line(line_row, instructor, status, reason="Motif." if status != LineStatus.ACCEPTED else "",
                           accepted_amount=None if accepted_cents is None else euros(accepted_cents))


def engine_amounts(actions, dossiers) -> dict[tuple, int]:
    """What the platform computed, in the oracle's terms: {(dossier, grant, action, window): cents}."""
    where = {a.pk: (g, i) for g, row in enumerate(actions) for i, a in enumerate(row)}
    index = {d.pk: i for i, d in enumerate(dossiers)}
    out: dict[tuple, int] = {}
    for p in Payment.objects.filter(dossier__in=dossiers).exclude(status=PaymentStatus.CANCELLED):
        key = (index[p.dossier_id], *where[p.action_id], p.window_index)
        out[key] = out.get(key, 0) + cents(p.amount)
    return out


def snapshot(dossiers):
    return sorted(Payment.objects.filter(dossier__in=dossiers).values_list(
        "pk", "dossier_id", "action_id", "window_index", "amount", "status", "updated_at"))


def recompute_twice_changes_nothing(dossiers):
    before = snapshot(dossiers)
    for _ in range(2):
        for dossier in reversed(dossiers):
            payments.schedule(dossier)
    assert snapshot(dossiers) == before


# --- the properties ------------------------------------------------------------------------------

@SETTINGS
@given(data=st.data())
def test_property_amounts_equal_settling_the_dossiers_one_by_one_in_receipt_order(data):
    """Whatever the amounts (cents, 0,01 € to ten million), rates, bases, amounts paid before the platform,
    binding convention totals, several grants and actions, receipt instants around midnight, window
    boundaries and changes of time, and the order of the verdicts: the payments per dossier, action and
    window are exactly those of the oracle; recomputing changes nothing."""
    grant_list = data.draw(st.lists(grant_specs(), min_size=1, max_size=2), label="grants")
    dossier_list = data.draw(dossier_specs(grant_list), label="dossiers")
    with transaction.atomic():
        call, instructor, actions, dossiers, made = build(grant_list, dossier_list)
        # The receipt of each invoice is that of the filing that brought it.
        for d, rows in enumerate(made):
            for line, number in rows:
                assert InvoiceLine.objects.get(dossier=dossiers[d], number=number).received_at == line["at"]
        verdicts = [(d, line, number) for d, rows in enumerate(made) for line, number in rows
                    if line["status"] != LineStatus.PENDING]
        for d, line, number in data.draw(st.permutations(verdicts), label="verdict order"):
            verdict(InvoiceLine.objects.get(dossier=dossiers[d], number=number), instructor, line["status"],
                    line["accepted"])
        for d, spec in enumerate(dossier_list):
            if spec["decision"]:
                workflow.apply(dossiers[d], spec["decision"], instructor, motivation="Décision.")
        live = [spec["decision"] not in ("refuser", "classer_sans_suite") for spec in dossier_list]
        lines = [line for rows in made for line, _ in rows]
        expected = oracle(grant_list, lines, live)
        event(f"payments: {len(expected)}")
        assert engine_amounts(actions, dossiers) == expected
        recompute_twice_changes_nothing(dossiers)
        transaction.set_rollback(True)


OPERATIONS = st.one_of(
    st.tuples(st.just("decide"), st.integers(0, 3),
              st.sampled_from(["accepter", "accepter", "accepter", "refuser", "classer_sans_suite"])),
    st.tuples(st.just("order"), st.integers(0, 1)),
    st.tuples(st.just("order"), st.integers(0, 1)),
    st.tuples(st.just("reopen"), st.integers(0, 3)),
    st.tuples(st.just("verdict"), st.integers(0, 3), st.integers(0, 5),
              st.sampled_from([LineStatus.ACCEPTED, LineStatus.PARTIAL, LineStatus.REJECTED])),
    st.tuples(st.just("pay")),
)


def _apply(op, call, instructor, dossiers, made, orders):
    """One operation, when the state allows it (otherwise nothing happens)."""
    kind = op[0]
    if kind in ("verdict", "decide", "reopen"):
        d = op[1] % len(dossiers)
        dossier = Dossier.objects.get(pk=dossiers[d].pk)
    if kind == "verdict" and dossier.state == State.EN_INSTRUCTION:
        line, number = made[d][op[2] % len(made[d])]
        row = InvoiceLine.objects.select_related("action__grant").get(dossier=dossier, number=number)
        basis = cents(row.basis_amount)
        status = op[3] if (op[3] != LineStatus.PARTIAL or basis > 1) else LineStatus.ACCEPTED
        verdict(row, instructor, status, basis // 2 if status == LineStatus.PARTIAL else None)
    elif kind == "decide" and dossier.state == State.EN_INSTRUCTION:
        workflow.apply(dossier, op[2], instructor, motivation="Décision.")
    elif kind == "reopen" and dossier.state in workflow.DECIDED:
        workflow.apply(dossier, "repasser_en_instruction", instructor)
    elif kind == "order":
        try:
            orders.append(payments.create_order(call, op[1], instructor))
        except ProofsError:
            pass
    elif kind == "pay":
        unpaid = [o for o in orders if o.paid_on is None]
        if unpaid:
            payments.mark_paid(unpaid[0], instructor, timezone.localdate(), f"Mandat {unpaid[0].pk}")


@SETTINGS
@given(data=st.data())
def test_property_interleavings_of_verdicts_decisions_orders_and_payments(data):
    """Over random interleavings on several dossiers of one grant: (a) nothing ordered or paid ever
    changes; (b) when every amount ordered is what settling in receipt order gives (nothing was ordered
    out of order), all the amounts per dossier and window are the oracle's; (c) recomputing twice changes
    nothing."""
    # Ceilings that invoices can reach, and few actions: the dossiers compete for the same money.
    grant_list = [data.draw(grant_specs(st.integers(100_000, 1_500_000), st.integers(1, 2)), label="grant")]
    dossier_list = data.draw(dossier_specs(grant_list, n_max=4), label="dossiers")
    operations = data.draw(st.lists(OPERATIONS, min_size=8, max_size=30), label="operations")
    with transaction.atomic():
        call, instructor, actions, dossiers, made = build(grant_list, dossier_list)
        for d, rows in enumerate(made):  # first verdicts as drawn; then the interleaving
            for line, number in rows:
                if line["status"] != LineStatus.PENDING:
                    verdict(InvoiceLine.objects.get(dossier=dossiers[d], number=number), instructor, line["status"],
                            line["accepted"])
        orders: list = []
        fixed: dict[int, tuple] = {}
        for op in operations:
            _apply(op, call, instructor, dossiers, made, orders)
            now = {p.pk: p for p in Payment.objects.filter(dossier__in=dossiers)}
            for pk, (dossier_id, action_id, window, amount, status) in fixed.items():  # (a)
                p = now.get(pk)
                assert p is not None, "an ordered payment disappeared"
                assert (p.dossier_id, p.action_id, p.window_index, p.amount) == (dossier_id, action_id, window, amount)
                assert p.status in ((PaymentStatus.PAID,) if status == PaymentStatus.PAID
                                    else (PaymentStatus.ORDERED, PaymentStatus.PAID))
            fixed = {p.pk: (p.dossier_id, p.action_id, p.window_index, p.amount, p.status) for p in now.values()
                     if p.status in (PaymentStatus.ORDERED, PaymentStatus.PAID)}
            # Never more than the ceilings and the convention's total, with what was paid before.
            grant = grant_list[0]
            paid = {a.pk: sum((p.amount for p in now.values() if p.action_id == a.pk
                               and p.status != PaymentStatus.CANCELLED), Decimal(0)) for a in actions[0]}
            assert all(paid[a.pk] + a.paid_before <= max(a.ceiling, a.paid_before) for a in actions[0])
            assert sum(paid.values()) + sum(a.paid_before for a in actions[0]) <= max(
                euros(grant["total"]), sum(a.paid_before for a in actions[0]))
        recompute_twice_changes_nothing(dossiers)  # (c)
        # (b): the oracle on the final verdicts and decisions.
        rows = {(r.dossier_id, r.number): r for r in InvoiceLine.objects.filter(dossier__in=dossiers)}
        lines = []
        for d, made_rows in enumerate(made):
            for line, number in made_rows:
                row = rows[(dossiers[d].pk, number)]
                lines.append({**line, "status": row.status,
                              "accepted": None if row.accepted_amount is None else cents(row.accepted_amount)})
        states = dict(Dossier.objects.filter(pk__in=[d.pk for d in dossiers]).values_list("pk", "state"))
        live = [states[d.pk] not in (State.REFUSE, State.SANS_SUITE) for d in dossiers]
        expected = oracle(grant_list, lines, live)
        where = {a.pk: (0, i) for i, a in enumerate(actions[0])}
        index = {d.pk: i for i, d in enumerate(dossiers)}
        ordered: dict[tuple, int] = {}
        for p in Payment.objects.filter(dossier__in=dossiers, status__in=(PaymentStatus.ORDERED, PaymentStatus.PAID)):
            key = (index[p.dossier_id], *where[p.action_id], p.window_index)
            ordered[key] = ordered.get(key, 0) + cents(p.amount)
        in_order = all(expected.get(key, 0) == amount for key, amount in ordered.items())
        event(f"orders: {min(len(orders), 3)}{'+' if len(orders) >= 3 else ''}; in receipt order: {in_order}")
        if in_order:
            assert engine_amounts(actions, dossiers) == expected
        transaction.set_rollback(True)
