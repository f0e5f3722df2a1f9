"""Proofs through the real filing path: each invoice's own receipt instant (Europe/Paris) and window, the
invoices sent with corrections, those received after the budget year's last window (and where the
establishment is told to send them); a refused or classé sans suite dossier counts for nothing; money
never moves between dossiers or windows by itself; an order is paid no earlier than it was issued."""

import contextlib
import datetime as dt
import html
from decimal import Decimal
from unittest import mock

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from guichet.calls import deadlines
from guichet.calls.models import CallKind
from guichet.dossiers import services, workflow
from guichet.dossiers.models import Attachment, Dossier
from guichet.funding import payments, proofs
from guichet.funding.models import GrantStatus, InvoiceLine, LineStatus, Payment, PaymentOrder, PaymentStatus
from guichet.funding.payments import ProofsError
from tests.factories import PARIS, CallFactory, DossierFactory, EstablishmentFactory, InstructorFactory
from tests.test_payments import WINDOWS, make_grant

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def paris(*args):
    return dt.datetime(*args, tzinfo=PARIS)


@contextlib.contextmanager
def clock(instant):
    """The platform's clock set to ``instant`` (every ``timezone.now()``, so every ``localdate()`` too)."""
    with mock.patch("django.utils.timezone.now", return_value=instant):
        yield


def proofs_call(year=2024, **kwargs):
    return CallFactory(kind=CallKind.PROOFS, year=year, envelope=None, payment_windows=WINDOWS,
                       covered_years=[2022, 2023, 2024], opens_at=paris(2024, 1, 1),
                       closes_at=deadlines.closing_instant(dt.date(2024, 11, 15)), **kwargs)


def typed(action, ttc, ht=None, number="F-1"):
    return proofs.LineInput(action=action, supplier="Ergonomie Conseil", number=number,
                            invoice_date=dt.date(2024, 1, 2), amount_ht=Decimal(ht or ttc), amount_ttc=Decimal(ttc))


def add_invoice(dossier, line):
    """An invoice typed online with its file (each invoice needs one before filing)."""
    pdf = Attachment.objects.create(dossier=dossier, field_path="factures", original_name=f"{line.number}.pdf",
                                    size=8, file=ContentFile(b"%PDF-1.4", name=f"{line.number}.pdf"),
                                    scan_status="safe")
    return proofs.add_line(dossier, dossier.created_by, line, attachment=pdf)


def file_proofs(call, establishment, lines, at) -> Dossier:
    """A proofs dossier typed online (invoices, completion of each action) and filed at ``at``, through
    ``services.file_dossier`` with the platform's clock at that instant."""
    with clock(at):
        dossier = DossierFactory(call=call, establishment=establishment)
        Dossier.objects.filter(pk=dossier.pk).update(answers={"nom_projet": "Justificatifs", "cout": "1000.00"})
        dossier = Dossier.objects.get(pk=dossier.pk)
        for line in lines:
            add_invoice(dossier, line)
        for action in {line.action.pk: line.action for line in lines}.values():
            proofs.set_progress(dossier, dossier.created_by, action, "totale")
        return services.file_dossier(dossier, dossier.created_by)


def send_corrections(dossier, instructor, lines, asked_at, filed_at) -> Dossier:
    """The ARS asks for a correction; the establishment adds ``lines`` and files its corrections at ``filed_at``."""
    workflow.apply(dossier, "demander_correction", instructor, motivation="Il manque des factures.", now=asked_at)
    dossier.refresh_from_db()
    for line in lines:
        add_invoice(dossier, line)
    return workflow.apply(dossier, "deposer_corrections", dossier.created_by, now=filed_at)


def accept_all(dossier, instructor, decide="accepter"):
    for line in InvoiceLine.objects.filter(dossier=dossier, status=LineStatus.PENDING):
        payments.validate_line(line, instructor, LineStatus.ACCEPTED)
    if decide:
        workflow.apply(dossier, decide, instructor, motivation="Motif.")


def amounts(dossier) -> set:
    return {(p.action.title, p.window_index, p.amount, p.status)
            for p in Payment.objects.filter(dossier=dossier).exclude(status=PaymentStatus.CANCELLED)}


def site(grant, n):
    """Another establishment of the grant's legal entity (each files its own proofs dossier)."""
    return EstablishmentFactory(finess=f"1400009{n:02d}", siret="", name=f"SITE {n}",
                                legal_entity=grant.beneficiary.legal_entity)


@pytest.fixture
def grant(db):
    establishment = EstablishmentFactory()
    return make_grant(establishment, ["5000", "3000"], year=2023)


# --- each invoice's receipt instant, in Paris, through the filing path ---------------------------

@pytest.mark.parametrize(("filed_at", "window"), [
    (dt.datetime(2024, 5, 31, 21, 59, 59, tzinfo=UTC), 0),  # 31 May 23:59:59 in Paris (summer time)
    (dt.datetime(2024, 5, 31, 22, 0, 0, tzinfo=UTC), 1),  # 1 June 00:00 in Paris, 31 May in UTC
    (dt.datetime(2024, 5, 31, 22, 30, tzinfo=UTC), 1),
    (dt.datetime(2024, 3, 30, 23, 30, tzinfo=UTC), 0),  # the night of the change to summer time
    (dt.datetime(2024, 10, 27, 0, 30, tzinfo=UTC), 1),  # the night of the change to winter time
])
def test_the_receipt_day_is_the_day_in_paris_of_the_filing(grant, filed_at, window):
    call, instructor = proofs_call(), InstructorFactory()
    first, _ = grant.actions.all()
    dossier = file_proofs(call, grant.beneficiary, [typed(first, "1000")], filed_at)
    assert InvoiceLine.objects.get(dossier=dossier).received_at == filed_at
    workflow.apply(dossier, "passer_en_instruction", instructor, now=filed_at + dt.timedelta(days=1))
    accept_all(dossier, instructor)
    assert amounts(dossier) == {("Action 1", window, Decimal("500.00"), PaymentStatus.SCHEDULED)}


def test_an_invoice_received_during_the_last_minute_of_the_budget_year_is_paid_on_it(grant):
    """15 November 23:30 in Paris (winter time) is 22:30 UTC; 16 November 00:30 in Paris is still the 15th in UTC."""
    call, instructor = proofs_call(), InstructorFactory()
    first, second = grant.actions.all()
    dossier = file_proofs(call, grant.beneficiary, [typed(first, "1000")], paris(2024, 11, 10, 9))
    workflow.apply(dossier, "passer_en_instruction", instructor, now=paris(2024, 11, 12, 9))
    dossier = send_corrections(dossier, instructor, [typed(second, "600", number="F-2")], paris(2024, 11, 13, 9),
                               dt.datetime(2024, 11, 15, 22, 59, 59, tzinfo=UTC))
    workflow.apply(dossier, "passer_en_instruction", instructor, now=paris(2024, 11, 20, 9))
    accept_all(dossier, instructor)
    assert amounts(dossier) == {("Action 1", 1, Decimal("500.00"), PaymentStatus.SCHEDULED),
                                ("Action 2", 1, Decimal("300.00"), PaymentStatus.SCHEDULED)}


def test_invoices_sent_with_corrections_are_paid_in_the_window_of_their_own_receipt(grant):
    """Filed on 20 May (first window); two more invoices sent with the corrections on 12 June (second
    window): one dossier pays one action in two windows. Fails on main (all in the first window)."""
    call, instructor = proofs_call(), InstructorFactory()
    first, second = grant.actions.all()
    dossier = file_proofs(call, grant.beneficiary, [typed(first, "4000")], paris(2024, 5, 20, 10))
    workflow.apply(dossier, "passer_en_instruction", instructor, now=paris(2024, 5, 22, 9))
    dossier = send_corrections(dossier, instructor, [typed(first, "2000", number="F-2"),
                                                     typed(second, "1000", number="F-3")],
                               paris(2024, 5, 28, 9), paris(2024, 6, 12, 15))
    received = dict(InvoiceLine.objects.filter(dossier=dossier).values_list("number", "received_at"))
    assert received == {"F-1": paris(2024, 5, 20, 10), "F-2": paris(2024, 6, 12, 15), "F-3": paris(2024, 6, 12, 15)}
    workflow.apply(dossier, "passer_en_instruction", instructor, now=paris(2024, 6, 14, 9))
    accept_all(dossier, instructor)
    assert amounts(dossier) == {("Action 1", 0, Decimal("2000.00"), PaymentStatus.SCHEDULED),
                                ("Action 1", 1, Decimal("1000.00"), PaymentStatus.SCHEDULED),
                                ("Action 2", 1, Decimal("500.00"), PaymentStatus.SCHEDULED)}
    # The first window's order takes the first invoices' share only.
    order = payments.create_order(call, 0, instructor)
    assert [(p.action.title, p.amount) for p in order.payments.all()] == [("Action 1", Decimal("2000.00"))]


def test_an_invoice_added_before_the_ars_takes_the_dossier_is_received_when_it_does(grant):
    """Added while the dossier is en construction (filed, not yet taken): there is no filing before the
    ARS takes the dossier, so it reaches the ARS then."""
    call, instructor = proofs_call(), InstructorFactory()
    first, _ = grant.actions.all()
    dossier = file_proofs(call, grant.beneficiary, [typed(first, "1000")], paris(2024, 5, 30, 9))
    add_invoice(Dossier.objects.get(pk=dossier.pk), typed(first, "3000", number="F-2"))
    assert InvoiceLine.objects.get(number="F-2").received_at is None
    workflow.apply(dossier, "passer_en_instruction", instructor, now=paris(2024, 6, 3, 9))
    assert InvoiceLine.objects.get(number="F-2").received_at == paris(2024, 6, 3, 9)
    accept_all(dossier, instructor)
    assert amounts(dossier) == {("Action 1", 0, Decimal("500.00"), PaymentStatus.SCHEDULED),
                                ("Action 1", 1, Decimal("1500.00"), PaymentStatus.SCHEDULED)}


def test_an_invoice_received_after_the_last_window_is_not_paid_and_the_page_says_where_to_send_it(client, grant):
    """Corrections filed on 16 November 00:30 in Paris (15 November 23:30 UTC): the invoice they bring is
    not paid on 2024, counts for nothing, and the establishment reads, at the line, to send it with the
    2025 proofs call. Fails on main (paid in the second window of 2024)."""
    call, instructor = proofs_call(), InstructorFactory()
    next_year = CallFactory(kind=CallKind.PROOFS, year=2025, envelope=None, title="Justificatifs CLACT 2025")
    first, _ = grant.actions.all()
    dossier = file_proofs(call, grant.beneficiary, [typed(first, "1000")], paris(2024, 11, 4, 9))
    workflow.apply(dossier, "passer_en_instruction", instructor, now=paris(2024, 11, 5, 9))
    dossier = send_corrections(dossier, instructor, [typed(first, "3000", number="F-LATE")], paris(2024, 11, 6, 9),
                               dt.datetime(2024, 11, 15, 23, 30, tzinfo=UTC))
    workflow.apply(dossier, "passer_en_instruction", instructor, now=paris(2024, 11, 18, 9))
    accept_all(dossier, instructor, decide=None)
    assert amounts(dossier) == {("Action 1", 1, Decimal("500.00"), PaymentStatus.SCHEDULED)}
    late = InvoiceLine.objects.get(number="F-LATE")
    message = payments.why_line_not_paid_this_year(late)
    assert message == ("Facture reçue le 16/11/2024, après le 15/11/2024, dernière date de l'exercice 2024 : elle "
                       "n'est pas payée sur cet exercice. Envoyez-la dans l'appel « Justificatifs CLACT 2025 ».")
    assert payments.why_line_not_paid_this_year(InvoiceLine.objects.get(number="F-1")) == ""
    client.force_login(dossier.created_by)
    page = html.unescape(client.get(reverse("funding:invoices", args=[dossier.pk])).content.decode())
    row = page[page.index("F-LATE"):]
    row = row[:row.index("</tr>")]
    assert message in row and "16/11/2024" in row
    assert "Versement en fin d'année 2024" in page[page.index(">F-1<"):]
    client.force_login(instructor)
    page = html.unescape(client.get(reverse("payments:validation", args=[dossier.pk])).content.decode())
    assert message in page
    # Without next year's call yet: where it will be.
    next_year.delete()
    assert payments.why_line_not_paid_this_year(late).endswith(
        "Envoyez-la dans l'appel de justificatifs de l'exercice 2025, dès son ouverture.")


def test_the_api_gives_each_invoice_its_receipt_and_window():
    from guichet.api.funding import _line

    establishment = EstablishmentFactory()
    grant = make_grant(establishment, ["5000"], year=2023)
    call = proofs_call()
    [action] = grant.actions.all()
    dossier = file_proofs(call, establishment, [typed(action, "1000")], dt.datetime(2024, 5, 31, 22, 30, tzinfo=UTC))
    line = InvoiceLine.objects.select_related("dossier__call", "action__grant").get(dossier=dossier)
    got = _line(line)
    assert got["received_at"] == paris(2024, 6, 1, 0, 30) and got["received_at"].utcoffset() == dt.timedelta(hours=2)
    assert got["window"] == {"index": 1, "label": "Versement en fin d'année 2024", "pay_by": dt.date(2024, 12, 31)}
    assert got["not_paid_this_year"] == ""


# --- a dossier that ends refused or classé sans suite counts for nothing --------------------------

@pytest.mark.parametrize("decision", ["refuser", "classer_sans_suite"])
def test_a_dossier_refused_or_closed_pays_nothing_and_its_invoices_count_for_nothing(grant, decision):
    """Fails on main: once April is refused or classé sans suite, its accepted invoices kept counting and
    September was given 4 000 € (50 % of both dossiers' invoices) instead of 2 000 €."""
    call, instructor = proofs_call(), InstructorFactory()
    first, _ = grant.actions.all()  # ceiling 5 000 €
    april = file_proofs(call, grant.beneficiary, [typed(first, "4000")], paris(2024, 4, 2, 9))
    september = file_proofs(call, site(grant, 1), [typed(first, "4000")], paris(2024, 9, 2, 9))
    for dossier in (april, september):
        workflow.apply(dossier, "passer_en_instruction", instructor, now=dossier.first_filed_at + dt.timedelta(days=1))
    accept_all(april, instructor, decide=None)
    accept_all(september, instructor, decide="accepter")
    assert amounts(april) == {("Action 1", 0, Decimal("2000.00"), PaymentStatus.SCHEDULED)}
    assert amounts(september) == {("Action 1", 1, Decimal("2000.00"), PaymentStatus.SCHEDULED)}
    workflow.apply(april, decision, instructor, motivation="Factures hors convention.")
    assert amounts(april) == set()
    # September is settled as if April had never been sent: 50 % of its own 4 000 €.
    assert amounts(september) == {("Action 1", 1, Decimal("2000.00"), PaymentStatus.SCHEDULED)}
    # A third dossier of the same action: April's invoices still count for nothing.
    october = file_proofs(call, site(grant, 2), [typed(first, "8000")], paris(2024, 10, 2, 9))
    workflow.apply(october, "passer_en_instruction", instructor, now=paris(2024, 10, 3, 9))
    accept_all(october, instructor, decide=None)
    assert amounts(october) == {("Action 1", 1, Decimal("3000.00"), PaymentStatus.SCHEDULED)}  # 5 000 − 2 000
    # Reopened, April comes back first: its 2 000 €, and the later dossiers are settled after it.
    workflow.apply(april, "repasser_en_instruction", instructor)
    assert amounts(april) == {("Action 1", 0, Decimal("2000.00"), PaymentStatus.SCHEDULED)}
    assert amounts(september) == {("Action 1", 1, Decimal("2000.00"), PaymentStatus.SCHEDULED)}
    assert amounts(october) == {("Action 1", 1, Decimal("1000.00"), PaymentStatus.SCHEDULED)}


# --- money never moves between dossiers or windows by itself ---------------------------------------

def test_reopening_an_earlier_dossier_after_a_later_ones_order_moves_nothing(grant):
    """The issue's case: September's payment ordered while May's is still scheduled; reopening and
    re-accepting May (nothing changed) kept May's payment in the first window. Fails on main (May's
    payment deleted, September given it in the second window)."""
    call, instructor = proofs_call(), InstructorFactory()
    first, _ = grant.actions.all()  # ceiling 5 000 €
    may = file_proofs(call, grant.beneficiary, [typed(first, "4000")], paris(2024, 5, 2, 9))
    september = file_proofs(call, site(grant, 1), [typed(first, "8000")], paris(2024, 9, 2, 9))
    for dossier in (may, september):
        workflow.apply(dossier, "passer_en_instruction", instructor, now=dossier.first_filed_at + dt.timedelta(days=1))
        accept_all(dossier, instructor)
    assert amounts(may) == {("Action 1", 0, Decimal("2000.00"), PaymentStatus.SCHEDULED)}
    assert amounts(september) == {("Action 1", 1, Decimal("3000.00"), PaymentStatus.SCHEDULED)}
    order = payments.create_order(call, 1, instructor)
    assert amounts(september) == {("Action 1", 1, Decimal("3000.00"), PaymentStatus.ORDERED)}
    workflow.apply(may, "repasser_en_instruction", instructor)
    assert amounts(may) == {("Action 1", 0, Decimal("2000.00"), PaymentStatus.SCHEDULED)}
    workflow.apply(may, "accepter", instructor)
    assert amounts(may) == {("Action 1", 0, Decimal("2000.00"), PaymentStatus.SCHEDULED)}
    assert amounts(september) == {("Action 1", 1, Decimal("3000.00"), PaymentStatus.ORDERED)}
    payments.mark_paid(order, instructor, timezone.localdate(), "Mandat 2024-0107")
    # Settled in receipt order whatever the order of verdicts: September's invoices validated again change nothing.
    workflow.apply(september, "repasser_en_instruction", instructor)
    payments.validate_line(InvoiceLine.objects.get(dossier=september), instructor, LineStatus.PARTIAL,
                           accepted_amount="7000", reason="Une partie hors action.")
    assert amounts(september) == {("Action 1", 1, Decimal("3000.00"), PaymentStatus.PAID)}
    assert amounts(may) == {("Action 1", 0, Decimal("2000.00"), PaymentStatus.SCHEDULED)}
    assert payments.create_order(call, 0, instructor).payments.get().amount == Decimal("2000.00")


def test_a_later_order_is_never_exceeded_by_an_earlier_dossier_validated_after_it(grant):
    """September ordered first (the May dossier was not examined yet): May is paid what remains, never
    more than the action's ceiling in all. Fails on main (September given 1 000 € more in its window)."""
    call, instructor = proofs_call(), InstructorFactory()
    first, _ = grant.actions.all()  # ceiling 5 000 €
    may = file_proofs(call, grant.beneficiary, [typed(first, "6000")], paris(2024, 5, 2, 9))
    september = file_proofs(call, site(grant, 1), [typed(first, "8000")], paris(2024, 9, 2, 9))
    for dossier in (may, september):
        workflow.apply(dossier, "passer_en_instruction", instructor, now=dossier.first_filed_at + dt.timedelta(days=1))
    accept_all(september, instructor)
    payments.create_order(call, 1, instructor)
    accept_all(may, instructor)
    assert amounts(september) == {("Action 1", 1, Decimal("4000.00"), PaymentStatus.ORDERED)}
    assert amounts(may) == {("Action 1", 0, Decimal("1000.00"), PaymentStatus.SCHEDULED)}


def test_what_earlier_dossiers_settled_and_a_later_order_together_never_pass_the_ceiling(grant):
    """April scheduled, September ordered, then May validated: May is owed 3 000 € by its own invoices, but
    the action's ceiling (5 000 €) leaves it nothing after April's 1 000 € and September's 4 000 €."""
    call, instructor = proofs_call(), InstructorFactory()
    first, _ = grant.actions.all()  # ceiling 5 000 €; the convention's total (8 000 €) does not bind here
    april = file_proofs(call, grant.beneficiary, [typed(first, "2000")], paris(2024, 4, 2, 9))
    may = file_proofs(call, site(grant, 1), [typed(first, "6000")], paris(2024, 5, 2, 9))
    september = file_proofs(call, site(grant, 2), [typed(first, "8000")], paris(2024, 9, 2, 9))
    for dossier in (april, may, september):
        workflow.apply(dossier, "passer_en_instruction", instructor, now=dossier.first_filed_at + dt.timedelta(days=1))
    accept_all(april, instructor)
    accept_all(september, instructor)
    payments.create_order(call, 1, instructor)
    accept_all(may, instructor)
    assert amounts(april) == {("Action 1", 0, Decimal("1000.00"), PaymentStatus.SCHEDULED)}
    assert amounts(september) == {("Action 1", 1, Decimal("4000.00"), PaymentStatus.ORDERED)}
    assert amounts(may) == set()


def test_no_new_payment_on_a_closed_grant(grant):
    """September's invoices, sent before the convention was closed, are validated after: nothing is scheduled."""
    call, instructor = proofs_call(), InstructorFactory()
    first, _ = grant.actions.all()
    may = file_proofs(call, grant.beneficiary, [typed(first, "1000")], paris(2024, 5, 2, 9))
    september = file_proofs(call, site(grant, 1), [typed(first, "1000")], paris(2024, 9, 2, 9))
    for dossier in (may, september):
        workflow.apply(dossier, "passer_en_instruction", instructor, now=dossier.first_filed_at + dt.timedelta(days=1))
    accept_all(may, instructor)
    order = payments.create_order(call, 0, instructor)
    payments.close(grant, instructor, "Convention échue.")
    grant.refresh_from_db()
    assert grant.status == GrantStatus.CLOSED
    accept_all(september, instructor)
    assert amounts(september) == set()
    assert amounts(may) == {("Action 1", 0, Decimal("500.00"), PaymentStatus.ORDERED)}
    assert order.payments.count() == 1


# --- the date an order was paid --------------------------------------------------------------------

def test_an_order_is_paid_no_earlier_than_it_was_issued_and_no_later_than_today(client, grant):
    call, instructor = proofs_call(), InstructorFactory()
    first, _ = grant.actions.all()
    may = file_proofs(call, grant.beneficiary, [typed(first, "1000")], paris(2024, 5, 2, 9))
    workflow.apply(may, "passer_en_instruction", instructor, now=paris(2024, 5, 3, 9))
    accept_all(may, instructor)
    # Issued at 00:30 in Paris on 20 June: still 19 June in UTC, the day before is refused all the same.
    order = payments.create_order(call, 0, instructor)
    PaymentOrder.objects.filter(pk=order.pk).update(created_at=dt.datetime(2024, 6, 19, 22, 30, tzinfo=UTC))
    order.refresh_from_db()
    with pytest.raises(ProofsError) as exc:
        payments.mark_paid(order, instructor, dt.date(2024, 6, 19), "Mandat 42")
    assert exc.value.message_dict == {
        "paid_on": ["La date du versement ne peut pas précéder l'ordre de paiement, émis le 20/06/2024."]}
    client.force_login(instructor)
    url = reverse("payments:order", args=[order.pk])
    page = html.unescape(client.post(url, {"paid_on": "19/06/2024", "reference": "Mandat 42"}).content.decode())
    assert "La date du versement ne peut pas précéder l'ordre de paiement, émis le 20/06/2024." in page
    payments.mark_paid(order, instructor, dt.date(2024, 6, 20), "Mandat 42")
    assert set(order.payments.values_list("status", "paid_on")) == {(PaymentStatus.PAID, dt.date(2024, 6, 20))}


def test_an_order_marked_paid_today_is_accepted(grant):
    call, instructor = proofs_call(), InstructorFactory()
    first, _ = grant.actions.all()
    may = file_proofs(call, grant.beneficiary, [typed(first, "1000")], paris(2024, 5, 2, 9))
    workflow.apply(may, "passer_en_instruction", instructor, now=paris(2024, 5, 3, 9))
    accept_all(may, instructor)
    order = payments.create_order(call, 0, instructor)  # issued today
    today = timezone.localdate()
    payments.mark_paid(order, instructor, today, "Mandat du jour")
    order.refresh_from_db()
    assert order.paid_on == today and set(order.payments.values_list("status", flat=True)) == {PaymentStatus.PAID}
