"""The payment computation of seed 001: 50 % of the invoices validated, within each action's ceiling and
the convention's total, less what was already paid; payment windows by receipt date (Paris); orders,
payments and the ledger. Worked examples, boundaries and properties (hypothesis)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guichet.calls.models import CallKind
from guichet.core.models import ScanStatus
from guichet.dossiers.models import Attachment, Dossier, State
from guichet.funding import balances, payments
from guichet.funding.models import (
    Grant,
    GrantAction,
    GrantStatus,
    InvoiceLine,
    LineStatus,
    Payment,
    PaymentOrder,
    PaymentStatus,
)
from guichet.funding.payments import ProofsError, entitlement
from tests.factories import (
    PARIS,
    CallFactory,
    DossierFactory,
    EstablishmentFactory,
    InstructorFactory,
    LegalEntityFactory,
    region,
)

WINDOWS = [{"label": "Versement à la fin du 1er semestre 2024", "received_from": None,
            "received_until": "2024-05-31", "paid_by": "2024-06-30"},
           {"label": "Versement en fin d'année 2024", "received_from": "2024-06-01",
            "received_until": "2024-11-15", "paid_by": "2024-12-31"}]


def paris(*args):
    return dt.datetime(*args, tzinfo=PARIS)


@pytest.fixture
def proofs_call(db):
    return CallFactory(kind=CallKind.PROOFS, year=2024, envelope=None, payment_windows=WINDOWS,
                       covered_years=[2020, 2021, 2022, 2024])


def make_grant(establishment, ceilings, total=None, paid_before=(), year=2022, rate="50", reference=None):
    grant = Grant.objects.create(
        region=region("32"), call_year=year, beneficiary=establishment, legal_entity=establishment.legal_entity,
        rate=Decimal(rate), total=Decimal(total) if total is not None else sum(Decimal(c) for c in ceilings),
        convention_reference=reference or f"CONV-{Grant.objects.count() + 1}", status=GrantStatus.ACTIVE,
        imported=True)
    for position, ceiling in enumerate(ceilings, start=1):
        GrantAction.objects.create(grant=grant, position=position, title=f"Action {position}",
                                   ceiling=Decimal(ceiling),
                                   paid_before=Decimal(paid_before[position - 1]) if paid_before else Decimal(0))
    return grant


def proofs_dossier(call, establishment, filed_at, state=State.EN_INSTRUCTION) -> Dossier:
    d = DossierFactory(call=call, establishment=establishment)
    Dossier.objects.filter(pk=d.pk).update(state=state, first_filed_at=filed_at, last_filed_at=filed_at,
                                           number=f"2024-32-{d.pk:06d}")
    return Dossier.objects.get(pk=d.pk)


def invoice_file(dossier) -> Attachment:
    """An invoice's PDF, stored (no antivirus configured in these tests: « non analysé », served)."""
    content = b"%PDF-1.4\n% facture\n"
    return Attachment.objects.create(dossier=dossier, field_path="factures", original_name="facture.pdf",
                                     file=ContentFile(content, name="facture.pdf"), size=len(content),
                                     content_type="application/pdf", scan_status=ScanStatus.NOT_SCANNED)


def invoice(dossier, action, ttc, ht=None, status=LineStatus.PENDING, accepted=None, received_at="filing"):
    """An invoice received with the dossier's filing (unless ``received_at`` says otherwise), with its file."""
    return InvoiceLine.objects.create(dossier=dossier, action=action, supplier="Ergonomie Conseil", number="F-1",
                                      attachment=invoice_file(dossier), invoice_date=dt.date(2024, 3, 1),
                                      amount_ttc=Decimal(ttc),
                                      amount_ht=Decimal(ht if ht is not None else ttc), status=status,
                                      accepted_amount=None if accepted is None else Decimal(accepted),
                                      received_at=dossier.first_filed_at if received_at == "filing" else received_at)


def issued(order, day=dt.date(2024, 6, 20)):
    """The order as issued in the year of the story (it is marked paid no earlier than it was issued)."""
    PaymentOrder.objects.filter(pk=order.pk).update(created_at=paris(day.year, day.month, day.day, 9))
    order.refresh_from_db()
    return order


def test_the_pure_rule():
    """What the platform owes on one action in all: rate × V half up to the cent, within the ceiling less what
    was paid before the platform; what was already paid on the platform is taken off by ``settle``."""
    assert entitlement(Decimal(50), Decimal("10000.01"), Decimal(8000), Decimal(0)) == Decimal("5000.01")  # half up
    assert entitlement(Decimal(50), Decimal("0.01"), Decimal(8000), Decimal(0)) == Decimal("0.01")
    assert entitlement(Decimal("33.33"), Decimal("0.03"), Decimal(8000), Decimal(0)) == Decimal("0.01")
    assert entitlement(Decimal(50), Decimal("20000"), Decimal(8000), Decimal(0)) == Decimal("8000.00")  # ceiling
    assert entitlement(Decimal(50), Decimal(0), Decimal(8000), Decimal(0)) == Decimal("0.00")
    # Paid before the platform: it takes its share of the ceiling, not of the invoices sent now.
    assert entitlement(Decimal(50), Decimal("4000"), Decimal(8000), Decimal(3000)) == Decimal("2000.00")
    assert entitlement(Decimal(50), Decimal("20000"), Decimal(8000), Decimal(3000)) == Decimal("5000.00")
    assert entitlement(Decimal(50), Decimal("20000"), Decimal(8000), Decimal(9000)) == Decimal("0.00")  # never < 0


def test_worked_example_a_legal_entity_with_two_establishments_and_a_grant_partly_paid_before(proofs_call):
    """Seed 001's rule on a legal entity with two sites: the CH de Lisieux (grant 2022, two actions,
    ceilings 8 000 € and 3 000 €, 2 000 € already paid on the first before the platform) and the CH
    d'Aunay-Bayeux (grant 2024, one action, ceiling 5 000 €)."""
    instructor = InstructorFactory()
    lisieux = EstablishmentFactory()
    entity = lisieux.legal_entity
    bayeux = EstablishmentFactory(finess="140000076", siret="26140092300015", name="CH AUNAY-BAYEUX",
                                  legal_entity=entity)
    g1 = make_grant(lisieux, ["8000", "3000"], paid_before=["2000", "0"], year=2022, reference="AVENANT-2022-1")
    g2 = make_grant(bayeux, ["5000"], year=2024, reference="CONV-2024-7")
    assert set(payments.grants_for(lisieux, proofs_call)) == {g1, g2}
    formation, rails = g1.actions.all()
    [repos] = g2.actions.all()
    dossier = proofs_dossier(proofs_call, lisieux, paris(2024, 5, 20, 10))
    lines = [invoice(dossier, formation, "9000"), invoice(dossier, formation, "1500"),
             invoice(dossier, rails, "7000"), invoice(dossier, repos, "4000.01")]
    payments.validate_line(lines[0], instructor, LineStatus.ACCEPTED)
    payments.validate_line(lines[1], instructor, LineStatus.REJECTED, reason="Facture antérieure à la convention.")
    payments.validate_line(lines[2], instructor, LineStatus.PARTIAL, accepted_amount="5000",
                           reason="Seuls 5 000 € concernent l'action.")
    payments.validate_line(lines[3], instructor, LineStatus.ACCEPTED)
    first = "Versement à la fin du 1er semestre 2024"
    # Formation: 50 % × 9 000 = 4 500, within the 6 000 the ceiling leaves after the 2 000 paid before.
    # Rails: 50 % × 5 000 = 2 500 (≤ 3 000). Repos: 50 % × 4 000,01 = 2 000,005 → 2 000,01 (half up).
    got = {(p.action_id, p.amount, p.window_label) for p in dossier.payments.all()}
    assert got == {(formation.pk, Decimal("4500.00"), first), (rails.pk, Decimal("2500.00"), first),
                   (repos.pk, Decimal("2000.01"), first)}
    # Recomputing changes nothing.
    before = list(dossier.payments.order_by("pk").values_list("pk", "amount", "updated_at"))
    payments.schedule(dossier)
    assert list(dossier.payments.order_by("pk").values_list("pk", "amount", "updated_at")) == before
    # A second proofs dossier later in the year: the same actions, more invoices; ceilings hold.
    later = proofs_dossier(proofs_call, bayeux, paris(2024, 9, 2, 9))
    more = [invoice(later, formation, "8000"), invoice(later, repos, "8000")]
    for line in more:
        payments.validate_line(line, instructor, LineStatus.ACCEPTED)
    second = "Versement en fin d'année 2024"
    got = {(p.action_id, p.amount, p.window_label) for p in later.payments.all()}
    # Formation: min(50 % × 17 000, 8 000 − 2 000) − 4 500 = 1 500. Repos: min(6 000,005, 5 000) − 2 000,01.
    assert got == {(formation.pk, Decimal("1500.00"), second), (repos.pk, Decimal("2999.99"), second)}
    balance = balances.for_grant(g1)
    assert (balance.total, balance.paid, balance.committed, balance.remaining) == (
        Decimal("11000.00"), Decimal("2000.00"), Decimal("8500.00"), Decimal("500.00"))
    assert [e.label for e in payments.ledger(g1)][0] == "Versé avant la plateforme"


def test_the_convention_total_is_never_exceeded(proofs_call):
    instructor = InstructorFactory()
    est = EstablishmentFactory()
    grant = make_grant(est, ["6000", "6000"], total="9000")  # actions' ceilings sum above the total
    a1, a2 = grant.actions.all()
    dossier = proofs_dossier(proofs_call, est, paris(2024, 3, 1, 9))
    for action in (a1, a2):
        payments.validate_line(invoice(dossier, action, "20000"), instructor, LineStatus.ACCEPTED)
    assert sorted(p.amount for p in dossier.payments.all()) == [Decimal("3000.00"), Decimal("6000.00")]


@pytest.mark.parametrize(("filed", "window"), [
    (paris(2024, 5, 31, 23, 59), 0), (paris(2024, 6, 1, 0, 0), 1), (paris(2024, 11, 15, 23, 59, 59), 1),
    (paris(2024, 1, 1, 0, 0), 0), (dt.datetime(2024, 5, 31, 22, 30, tzinfo=dt.UTC), 1),  # 1 June 00:30 in Paris
])
def test_window_boundaries_in_paris_time(proofs_call, filed, window):
    assert payments.window_for(proofs_call, filed).index == window


def test_proofs_after_the_last_window_are_refused_for_the_budget_year(proofs_call):
    assert payments.window_for(proofs_call, paris(2024, 11, 16, 0, 0)) is None
    message = payments.why_out_of_windows(proofs_call, dt.date(2024, 11, 16))
    assert "après le 15/11/2024, dernière date de l'exercice 2024" in message
    instructor = InstructorFactory()
    est = EstablishmentFactory()
    [action] = make_grant(est, ["5000"]).actions.all()
    dossier = proofs_dossier(proofs_call, est, paris(2024, 11, 16, 8))
    payments.validate_line(invoice(dossier, action, "1000"), instructor, LineStatus.ACCEPTED)
    assert not dossier.payments.exists()


def test_a_correction_does_not_move_the_receipt_date(proofs_call):
    est = EstablishmentFactory()
    [action] = make_grant(est, ["5000"]).actions.all()
    dossier = proofs_dossier(proofs_call, est, paris(2024, 5, 30, 8))
    Dossier.objects.filter(pk=dossier.pk).update(last_filed_at=paris(2024, 6, 20, 8))
    dossier.refresh_from_db()
    payments.validate_line(invoice(dossier, action, "1000"), InstructorFactory(), LineStatus.ACCEPTED)
    assert dossier.payments.get().window_index == 0


def test_validation_rules_and_permissions(proofs_call):
    est = EstablishmentFactory()
    [action] = make_grant(est, ["5000"]).actions.all()
    dossier = proofs_dossier(proofs_call, est, paris(2024, 3, 1, 8))
    line = invoice(dossier, action, "1200", ht="1000")
    instructor = InstructorFactory()
    with pytest.raises(ProofsError) as exc:
        payments.validate_line(line, instructor, LineStatus.REJECTED)
    assert "Indiquez le motif" in exc.value.message_dict["reason"][0]
    with pytest.raises(ProofsError) as exc:
        payments.validate_line(line, instructor, LineStatus.PARTIAL, accepted_amount="1200", reason="x")
    assert "inférieur au montant de la facture (1\u202f200,00\u00a0€)" in exc.value.message_dict["accepted_amount"][0]
    for outsider in (InstructorFactory(region=region("11")), dossier.created_by):
        with pytest.raises(PermissionDenied):
            payments.validate_line(line, outsider, LineStatus.ACCEPTED)
    # VAT recovered: the basis is HT.
    Grant.objects.filter(pk=action.grant_id).update(invoice_basis="ht")
    line = InvoiceLine.objects.get(pk=line.pk)
    payments.validate_line(line, instructor, LineStatus.ACCEPTED)
    assert dossier.payments.get().amount == Decimal("500.00")


@pytest.mark.parametrize("file_state", ["none", ScanStatus.INFECTED, ScanStatus.PENDING, ScanStatus.ERROR])
def test_an_invoice_is_retained_only_with_a_file_the_ars_can_open(proofs_call, file_state):
    """Filing asks for each invoice's file, but a line added afterwards (en construction, before the ARS took
    the dossier) may have none: nothing is paid on it until its file is there and readable."""
    est = EstablishmentFactory()
    [action] = make_grant(est, ["5000"]).actions.all()
    dossier = proofs_dossier(proofs_call, est, paris(2024, 3, 1, 8))
    line = invoice(dossier, action, "1200")
    if file_state == "none":
        InvoiceLine.objects.filter(pk=line.pk).update(attachment=None)
    else:
        Attachment.objects.filter(pk=line.attachment_id).update(scan_status=file_state)
    line = InvoiceLine.objects.get(pk=line.pk)
    instructor = InstructorFactory()
    for status, amount in ((LineStatus.ACCEPTED, None), (LineStatus.PARTIAL, "100")):
        with pytest.raises(ProofsError) as exc:
            payments.validate_line(line, instructor, status, accepted_amount=amount, reason="en partie")
        assert "n'a pas de fichier valide" in exc.value.message_dict["status"][0]
    assert not dossier.payments.exists()
    # Rejecting it needs no file.
    payments.validate_line(line, instructor, LineStatus.REJECTED, reason="Facture absente")
    # Its file sent with the corrections, it is retained and paid.
    InvoiceLine.objects.filter(pk=line.pk).update(attachment=invoice_file(dossier))
    payments.validate_line(InvoiceLine.objects.get(pk=line.pk), instructor, LineStatus.ACCEPTED)
    assert dossier.payments.get().amount == Decimal("600.00")


def test_a_refused_proofs_dossier_pays_nothing(proofs_call):
    from guichet.dossiers import workflow

    est = EstablishmentFactory()
    [action] = make_grant(est, ["5000"]).actions.all()
    dossier = proofs_dossier(proofs_call, est, paris(2024, 3, 1, 8))
    instructor = InstructorFactory()
    payments.validate_line(invoice(dossier, action, "1000"), instructor, LineStatus.ACCEPTED)
    assert dossier.payments.get().amount == Decimal("500.00")
    workflow.apply(dossier, "refuser", instructor, motivation="Justificatifs hors convention.")
    assert not dossier.payments.exists()


def test_orders_payments_ledger_and_closing(proofs_call):
    from guichet.dossiers import workflow

    est = EstablishmentFactory()
    grant = make_grant(est, ["1000"], paid_before=["400"])
    [action] = grant.actions.all()
    dossier = proofs_dossier(proofs_call, est, paris(2024, 4, 2, 8))
    instructor = InstructorFactory()
    payments.validate_line(invoice(dossier, action, "400"), instructor, LineStatus.ACCEPTED)
    with pytest.raises(ProofsError):  # the dossier is not accepted yet: nothing to order
        payments.create_order(proofs_call, 0, instructor)
    workflow.apply(dossier, "accepter", instructor)
    with pytest.raises(PermissionDenied):
        payments.create_order(proofs_call, 0, InstructorFactory(region=region("11")))
    order = issued(payments.create_order(proofs_call, 0, instructor))
    assert [(p.amount, p.status) for p in order.payments.all()] == [(Decimal("200.00"), PaymentStatus.ORDERED)]
    with pytest.raises(ProofsError):
        payments.mark_paid(order, instructor, dt.date(2024, 6, 28), "")
    payments.mark_paid(order, instructor, dt.date(2024, 6, 28), "Mandat 2024-0042")
    balance = balances.for_grant(grant)  # paid: 400 before the platform + 50 % of 400
    assert (balance.total, balance.paid, balance.committed, balance.remaining) == (
        Decimal("1000.00"), Decimal("600.00"), Decimal("0.00"), Decimal("400.00"))
    grant.refresh_from_db()
    assert grant.status == GrantStatus.ACTIVE
    # The rest, later in the year, closes the grant once paid.
    later = proofs_dossier(proofs_call, est, paris(2024, 10, 2, 8))
    payments.validate_line(invoice(later, action, "2000"), instructor, LineStatus.ACCEPTED)
    workflow.apply(later, "accepter", instructor)
    order = issued(payments.create_order(proofs_call, 1, instructor))
    assert order.payments.get().amount == Decimal("400.00")
    payments.mark_paid(order, instructor, dt.date(2024, 12, 1) if dt.date.today() > dt.date(2024, 12, 1)
                       else dt.date.today(), "Mandat 2024-0107")
    grant.refresh_from_db()
    assert grant.status == GrantStatus.CLOSED


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(ceilings=st.lists(st.decimals(min_value="0.01", max_value=20000, places=2), min_size=1, max_size=3),
       total_share=st.decimals(min_value="0.3", max_value=1, places=2),
       rate=st.decimals(min_value=1, max_value=100, places=2),
       paid_before=st.lists(st.decimals(min_value=0, max_value=5000, places=2), min_size=3, max_size=3),
       dossiers=st.lists(st.lists(st.tuples(st.integers(0, 2), st.decimals(min_value="0.01", max_value=30000,
                                                                           places=2),
                                            st.sampled_from(["acceptee", "partielle", "rejetee"])),
                                  min_size=1, max_size=4), min_size=1, max_size=3))
def test_property_never_above_ceiling_total_or_rate_and_recomputing_changes_nothing(
        ceilings, total_share, rate, paid_before, dossiers):
    call = CallFactory(kind=CallKind.PROOFS, year=2024, envelope=None, payment_windows=WINDOWS)
    entity = LegalEntityFactory(finess=f"59{Grant.objects.count():07d}"[:9])
    est = EstablishmentFactory(finess=f"62{Grant.objects.count():07d}"[:9], legal_entity=entity)
    total = max(Decimal("0.01"), (sum(ceilings) * total_share).quantize(Decimal("0.01")))
    paid = [min(p, c) for p, c in zip(paid_before, ceilings, strict=False)]
    if sum(paid) > total:
        paid = [Decimal(0)] * len(ceilings)
    grant = make_grant(est, [str(c) for c in ceilings], total=str(total), paid_before=[str(p) for p in paid],
                       rate=str(rate))
    actions = list(grant.actions.all())
    instructor = InstructorFactory()
    made = []
    for index, lines in enumerate(dossiers):
        dossier = proofs_dossier(call, est, paris(2024, 3 + index, 1, 9))
        for which, amount, status in lines:
            line = invoice(dossier, actions[which % len(actions)], str(amount))
            accepted = (amount / 2).quantize(Decimal("0.01")) if status == "partielle" else None
            if status == "partielle" and not Decimal(0) < accepted < amount:
                status, accepted = "acceptee", None
            payments.validate_line(line, instructor, status, accepted_amount=accepted, reason="motif")
        made.append(dossier)
    all_payments = list(Payment.objects.filter(action__grant=grant))
    for action in actions:
        on_action = sum((p.amount for p in all_payments if p.action_id == action.pk), Decimal(0))
        validated = sum((payments.validated_amount(li, "ttc") for li in action.invoice_lines.all()), Decimal(0))
        assert on_action + action.paid_before <= max(action.ceiling, action.paid_before)
        assert on_action <= (rate * validated / 100).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
        assert all(p.amount > 0 for p in all_payments)
    assert sum((p.amount for p in all_payments), Decimal(0)) + sum(paid) <= total
    balance = balances.for_grant(grant)
    assert balance.paid + balance.committed == sum((p.amount for p in all_payments), Decimal(0)) + sum(paid)
    snapshot = sorted(Payment.objects.filter(action__grant=grant).values_list("pk", "amount", "window_index"))
    for dossier in made:
        payments.schedule(dossier)
    assert sorted(Payment.objects.filter(action__grant=grant).values_list("pk", "amount", "window_index")) == snapshot


def test_dossiers_are_settled_in_the_order_they_were_received(proofs_call):
    """A verdict on an earlier dossier comes first on the ceiling: the later dossier is recomputed."""
    est = EstablishmentFactory()
    [action] = make_grant(est, ["5000"]).actions.all()
    instructor = InstructorFactory()
    may = proofs_dossier(proofs_call, est, paris(2024, 5, 2, 9))
    september = proofs_dossier(proofs_call, est, paris(2024, 9, 2, 9))
    late_line, early_line = invoice(september, action, "8000"), invoice(may, action, "4000")
    payments.validate_line(late_line, instructor, LineStatus.ACCEPTED)
    assert september.payments.get().amount == Decimal("4000.00")
    payments.validate_line(early_line, instructor, LineStatus.ACCEPTED)
    assert may.payments.get().amount == Decimal("2000.00")
    # September: min(50 % × 12 000, 5 000) − 2 000 settled before it.
    assert september.payments.get().amount == Decimal("3000.00")
    payments.validate_line(InvoiceLine.objects.get(pk=early_line.pk), instructor, LineStatus.REJECTED, reason="x")
    assert not may.payments.exists() and september.payments.get().amount == Decimal("4000.00")


def test_windows_without_a_label_are_numbered_from_one_as_a_person_counts():
    from types import SimpleNamespace

    call = SimpleNamespace(payment_windows=[
        {"received_until": "2024-05-31", "paid_by": "2024-06-30"},
        {"received_from": "2024-06-01", "received_until": "2024-11-15", "paid_by": "2024-12-31"},
        {"label": "Solde", "received_from": "2024-11-16", "paid_by": "2025-03-31"}])
    assert [(w.index, w.label) for w in payments.windows(call)] == [(0, "Fenêtre 1"), (1, "Fenêtre 2"), (2, "Solde")]
    assert payments.window_for(call, dt.date(2024, 6, 1)).label == "Fenêtre 2"


def test_each_verdict_is_in_the_audit_trail_with_the_amount_retained(proofs_call):
    from guichet.core.models import AuditRecord

    est = EstablishmentFactory()
    [action] = make_grant(est, ["5000"]).actions.all()
    dossier = proofs_dossier(proofs_call, est, paris(2024, 3, 1, 8))
    line = invoice(dossier, action, "1200")
    instructor = InstructorFactory()
    payments.validate_line(line, instructor, LineStatus.PARTIAL, accepted_amount="800.50", reason="Hors action")
    payments.validate_line(line, instructor, LineStatus.ACCEPTED)
    records = AuditRecord.objects.filter(action="proofs:validate", dossier_id=dossier.pk).order_by("seq")
    assert [(r.actor_id, r.details["line"], r.details["status"], r.details["accepted_amount"]) for r in records] == [
        (instructor.pk, line.pk, "partielle", "800.50"), (instructor.pk, line.pk, "acceptee", None)]


def test_a_proofs_call_takes_the_grants_of_the_years_it_covers(proofs_call):
    """Seed 001: one budget year pays the actions of the 2020, 2021, 2022 and 2024 calls — not 2023's."""
    est = EstablishmentFactory()
    by_year = {year: make_grant(est, ["1000"], year=year, reference=f"CONV-{year}") for year in (2021, 2022, 2023)}
    assert set(payments.grants_for(est, proofs_call)) == {by_year[2021], by_year[2022]}
    proofs_call.covered_years = []  # no years set: every active grant of the legal entity in the region
    assert set(payments.grants_for(est, proofs_call)) == set(by_year.values())


def test_proofs_outside_every_window_are_told_why():
    from types import SimpleNamespace

    call = SimpleNamespace(year=2024, payment_windows=[
        {"label": "S1", "received_from": "2024-02-01", "received_until": "2024-05-31", "paid_by": "2024-06-30"},
        {"label": "S2", "received_from": "2024-06-01", "received_until": "2024-11-15", "paid_by": "2024-12-31"}])
    assert payments.why_out_of_windows(call, dt.date(2024, 1, 15)) == (
        "Justificatifs reçus le 15/01/2024 : aucune fenêtre de versement de l'exercice 2024 ne les couvre.")
    assert payments.why_out_of_windows(call, dt.date(2024, 11, 16)).startswith(
        "Justificatifs reçus le 16/11/2024, après le 15/11/2024, dernière date de l'exercice 2024 :")


def test_corrections_wait_for_each_invoices_file_and_say_which(proofs_call):
    from guichet.funding import proofs

    est = EstablishmentFactory()
    [action] = make_grant(est, ["50000"]).actions.all()
    dossier = proofs_dossier(proofs_call, est, paris(2024, 3, 1, 8), state=State.EN_CONSTRUCTION)
    lines = [invoice(dossier, action, "100") for _ in range(6)]
    assert proofs.corrections_refusal(dossier) is None
    InvoiceLine.objects.filter(pk=lines[0].pk).update(attachment=None, number="F-10")
    assert proofs.corrections_refusal(dossier) == (
        "Joignez le fichier de chaque facture avant de déposer les corrections : 1 facture sans fichier "
        "(n° F-10 de Ergonomie Conseil).")
    InvoiceLine.objects.filter(dossier=dossier).update(attachment=None)
    named = ", ".join(["n° F-10 de Ergonomie Conseil"] + ["n° F-1 de Ergonomie Conseil"] * 4)
    assert proofs.corrections_refusal(dossier).endswith(f": 6 factures sans fichier ({named}, …).")


@pytest.mark.parametrize("retained", ["0", "0.00", "-5", "1200", "1200.00", "1500", "100.005"])
def test_a_part_retained_is_more_than_nothing_and_less_than_the_invoice(proofs_call, retained):
    """Nothing retained is a rejection (with its reason), all of it an acceptance: « acceptée en partie »
    is strictly between, in euros and cents."""
    est = EstablishmentFactory()
    [action] = make_grant(est, ["5000"]).actions.all()
    dossier = proofs_dossier(proofs_call, est, paris(2024, 3, 1, 8))
    line = invoice(dossier, action, "1200")
    with pytest.raises(ProofsError) as exc:
        payments.validate_line(line, InstructorFactory(), LineStatus.PARTIAL, accepted_amount=retained, reason="x")
    assert "doit être positif et inférieur au montant de la facture" in exc.value.message_dict["accepted_amount"][0]
    assert InvoiceLine.objects.get(pk=line.pk).status == LineStatus.PENDING
    payments.validate_line(line, InstructorFactory(), LineStatus.PARTIAL, accepted_amount="0.01", reason="x")
    assert InvoiceLine.objects.get(pk=line.pk).accepted_amount == Decimal("0.01")


def test_a_long_closing_reason_is_kept_to_what_the_grant_stores(proofs_call):
    est = EstablishmentFactory()
    grant = make_grant(est, ["5000"])
    reason = "Convention échue sans réalisation. " * 12  # 420 characters
    payments.close(grant, InstructorFactory(), reason)
    grant.refresh_from_db()
    assert grant.closing_reason == reason.strip()[:300]
    assert len(grant.closing_reason) == 300


def test_an_invoice_received_before_the_first_window_is_not_sent_to_the_next_year():
    """Windows may leave a gap (here nothing before 1 February): such an invoice is not « after the budget
    year » — the establishment is asked to write to the ARS, not to wait for next year's call."""
    from types import SimpleNamespace

    call = SimpleNamespace(year=2024, payment_windows=[
        {"label": "S1", "received_from": "2024-02-01", "received_until": "2024-05-31", "paid_by": "2024-06-30"}])
    line = SimpleNamespace(received_at=paris(2024, 1, 15, 10), dossier=SimpleNamespace(call=call))
    assert payments.why_line_not_paid_this_year(line) == (
        "Facture reçue le 15/01/2024 : aucune fenêtre de versement de l'exercice 2024 ne la couvre ; écrivez à "
        "l'ARS par la messagerie du dossier.")


def test_a_verdicts_reason_beyond_its_column_is_refused_in_french(proofs_call):
    """A 1 001-character reason was a database error on PostgreSQL (InvoiceLine.reason holds 1 000)."""
    establishment = EstablishmentFactory()
    grant = make_grant(establishment, ["8000"], year=2022, reference="AVENANT-2022-9")
    dossier = proofs_dossier(proofs_call, establishment, paris(2024, 5, 20, 10))
    line = invoice(dossier, grant.actions.get(), "100")
    with pytest.raises(ProofsError) as exc:
        payments.validate_line(line, InstructorFactory(), LineStatus.REJECTED, reason="x" * 1001)
    assert exc.value.message_dict["reason"] == ["Le motif compte 1001 caractères : 1000 au plus."]
