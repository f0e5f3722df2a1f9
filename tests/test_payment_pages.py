"""The ARS' payment pages: validating a proofs dossier's invoices (verdicts, errors at the field, the payable
amount and its window after each verdict), a proofs call's windows with what is ready to order per legal
entity and action, payment orders and their XLSX / CSV exports read back, marking an order paid, a grant's
ledger and its closing — and who may reach each of them."""

import csv
import datetime as dt
import html
import io
import re
from decimal import Decimal
from urllib.parse import unquote

import openpyxl
import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guichet.calls.models import CallKind
from guichet.core.models import AuditRecord
from guichet.dossiers import workflow
from guichet.dossiers.models import Dossier, State
from guichet.establishments.models import EstablishmentAccess
from guichet.funding import balances, payments
from guichet.funding.models import GrantStatus, InvoiceLine, LineStatus, Payment, PaymentOrder, PaymentStatus
from tests.factories import (
    ArsAdminFactory,
    CallFactory,
    DossierFactory,
    EstablishmentFactory,
    InstructorFactory,
    LegalEntityFactory,
    UserFactory,
    region,
)
from tests.test_payments import WINDOWS, invoice, issued, make_grant, paris, proofs_dossier

HTMX = {"HTTP_HX_REQUEST": "true"}
FIRST, SECOND = WINDOWS[0]["label"], WINDOWS[1]["label"]


def text(response) -> str:
    return html.unescape(response.content.decode())


def plain(response) -> str:
    """The page as read: tags removed, runs of ordinary white space as one space (no-break spaces kept)."""
    return re.sub(r"[ \t\r\n]+", " ", html.unescape(re.sub(r"<[^>]+>", "", response.content.decode())))


@pytest.fixture
def proofs_call(db):
    return CallFactory(kind=CallKind.PROOFS, year=2024, envelope=None, payment_windows=WINDOWS,
                       covered_years=[2020, 2021, 2022, 2023, 2024], slug="justificatifs-hdf-2024")


@pytest.fixture
def instructor(db):
    return InstructorFactory(email="instructeur.hdf@ars.sante.fr")


@pytest.fixture
def example(proofs_call, instructor):
    return build_example(proofs_call, instructor)


def build_example(proofs_call, instructor) -> dict:
    """Seed 001's worked example on two legal entities and two windows.

    CH de Lisieux (EJ 140000035) with two sites: Lisieux (grant 2022, « Formation » 8 000 € with 2 000 € paid
    before the platform, « Rails » 3 000 €) and Aunay-Bayeux (grant 2024, « Repos » 5 000 €); CHU de Caen
    (EJ 140000100, grant 2023, « Ergonomie » 4 000 €). Dossiers: Lisieux filed 20 May (window 1), Caen
    2 April (window 1), Bayeux 2 September (window 2); the invoices are still to validate."""
    lisieux = EstablishmentFactory()
    bayeux = EstablishmentFactory(finess="140000076", siret="26140092300015", name="CENTRE HOSPITALIER AUNAY-BAYEUX",
                                  legal_entity=lisieux.legal_entity)
    caen_entity = LegalEntityFactory(finess="140000100", siren="261400931", name="CHU COTE DE NACRE - CAEN")
    caen = EstablishmentFactory(finess="140000209", siret="26140093100018", name="CHU COTE DE NACRE - CAEN",
                                legal_entity=caen_entity)
    g1 = make_grant(lisieux, ["8000", "3000"], paid_before=["2000", "0"], year=2022, reference="AVENANT-2022-1")
    g2 = make_grant(bayeux, ["5000"], year=2024, reference="CONV-2024-7")
    g3 = make_grant(caen, ["4000"], year=2023, reference="CONV-2023-3")
    formation, rails = g1.actions.all()
    [repos] = g2.actions.all()
    [ergonomie] = g3.actions.all()
    for action, title in ((formation, "Formation des managers"), (rails, "Rails de transfert"),
                          (repos, "Salle de repos"), (ergonomie, "Ergonomie des postes")):
        action.title = title
        action.save(update_fields=["title"])
    a = proofs_dossier(proofs_call, lisieux, paris(2024, 5, 20, 10))
    b = proofs_dossier(proofs_call, caen, paris(2024, 4, 2, 9))
    c = proofs_dossier(proofs_call, bayeux, paris(2024, 9, 2, 9))
    lines = {
        "a_formation": invoice(a, formation, "9000"), "a_rails": invoice(a, rails, "7000"),
        "a_repos": invoice(a, repos, "4000.01"), "a_old": invoice(a, formation, "1500"),
        "b_ergonomie": invoice(b, ergonomie, "3000", ht="2500"),
        "c_formation": invoice(c, formation, "8000"), "c_repos": invoice(c, repos, "8000"),
    }
    InvoiceLine.objects.filter(pk=lines["a_formation"].pk).update(supplier="Ergonomie Conseil", number="F-2024-001")
    return {"lisieux": lisieux, "bayeux": bayeux, "caen": caen, "g1": g1, "g2": g2, "g3": g3,
            "formation": formation, "rails": rails, "repos": repos, "ergonomie": ergonomie,
            "a": a, "b": b, "c": c, "lines": lines, "call": proofs_call, "instructor": instructor}


def validate_all(example):
    """The instructor's verdicts of the worked example, straight through the domain, then the decisions."""
    instructor, lines = example["instructor"], example["lines"]
    for key in ("a_formation", "a_repos", "b_ergonomie", "c_formation", "c_repos"):
        payments.validate_line(InvoiceLine.objects.get(pk=lines[key].pk), instructor, LineStatus.ACCEPTED)
    payments.validate_line(InvoiceLine.objects.get(pk=lines["a_rails"].pk), instructor, LineStatus.PARTIAL,
                           accepted_amount="5000", reason="Seuls 5 000 € concernent l'action.")
    payments.validate_line(InvoiceLine.objects.get(pk=lines["a_old"].pk), instructor, LineStatus.REJECTED,
                           reason="Facture antérieure à la convention.")
    for key in ("a", "b", "c"):
        workflow.apply(example[key], "accepter", instructor)


# --- validating invoices ------------------------------------------------------------------------

def test_the_validation_page_lists_each_action_with_its_invoices_and_balances(client, example):
    client.force_login(example["instructor"])
    a = example["a"]
    response = client.get(reverse("payments:validation", args=[a.pk]))
    assert response.status_code == 200
    page = plain(response)
    assert f"Justificatifs du dossier n° {a.number}" in page
    assert "Justificatifs reçus le 20/05/2024 : Versement à la fin du 1er semestre 2024" in page
    for expected in ("Formation des managers", "Rails de transfert", "Salle de repos", "AVENANT-2022-1",
                     "CONV-2024-7", "Ergonomie Conseil", "F-2024-001", "01/03/2024", "9\u202f000,00\u00a0€",
                     "Plafond de l'action : 8\u202f000,00\u00a0€", "(dont 2\u202f000,00\u00a0€ avant la plateforme)",
                     "Reste disponible : 6\u202f000,00\u00a0€", "4 factures à valider"):
        assert expected in page, expected
    assert "Ergonomie des postes" not in page  # another legal entity's action
    assert reverse("payments:ledger", args=[example["g1"].pk]) in text(response)
    # The instructor's dossier page links to it.
    assert reverse("payments:validation", args=[a.pk]) in text(client.get(reverse("instruction:dossier",
                                                                                   args=[a.pk])))


def test_a_verdict_recomputes_the_payable_amount_and_shows_its_window(client, example):
    client.force_login(example["instructor"])
    a, lines = example["a"], example["lines"]
    url = reverse("payments:validate_line", args=[a.pk, lines["a_formation"].pk])
    response = client.post(url, {"status": "acceptee"})
    assert response.url == reverse("payments:validation", args=[a.pk]) + f"#action-{example['formation'].pk}"
    page = plain(client.get(response.url))
    assert "Facture Ergonomie Conseil n° F-2024-001 : acceptée." in page
    # 50 % × 9 000 = 4 500, within the 6 000 the ceiling leaves after the 2 000 paid before the platform.
    assert (f"Versement calculé : 4\u202f500,00\u00a0€ — {FIRST}, au plus tard le 30/06/2024 (prévu)") in page
    # With htmx, only the action's block comes back, with the dossier's total out of band.
    response = client.post(reverse("payments:validate_line", args=[a.pk, lines["a_rails"].pk]),
                           {"status": "partielle", "accepted_amount": "5 000,00", "reason": "Seuls 5 000 € concernent "
                                                                                           "l'action."}, **HTMX)
    assert response.status_code == 200
    block = text(response)
    assert block.startswith(f'<section id="action-{example["rails"].pk}"')
    assert "Facture Ergonomie Conseil n° F-1 : acceptée en partie." in block
    assert "Retenu : 5\u202f000,00\u00a0€" in block and "Motif : Seuls 5 000 € concernent l'action." in block
    assert "Versement calculé : <strong>2\u202f500,00\u00a0€</strong>" in block
    assert 'id="dossier-total" aria-live="polite" hx-swap-oob="true">7\u202f000,00\u00a0€' in block
    line = InvoiceLine.objects.get(pk=lines["a_rails"].pk)
    assert (line.status, line.accepted_amount, line.validated_by) == (LineStatus.PARTIAL, Decimal("5000.00"),
                                                                      example["instructor"])
    assert sorted(a.payments.values_list("amount", flat=True)) == [Decimal("2500.00"), Decimal("4500.00")]


def test_errors_are_shown_at_the_field_in_french_and_the_typed_input_is_kept(client, example):
    client.force_login(example["instructor"])
    a, line = example["a"], example["lines"]["a_formation"]
    url = reverse("payments:validate_line", args=[a.pk, line.pk])
    response = client.post(url, {"status": "rejetee", "reason": "  "})
    assert response.status_code == 400
    page = text(response)
    assert f'id="reason-{line.pk}-error">Indiquez le motif : l\'établissement le verra.' in page
    assert f'id="status-{line.pk}-rejetee" name="status" value="rejetee" checked' in page
    response = client.post(url, {"status": "partielle", "accepted_amount": "douze", "reason": "Une partie"})
    page = text(response)
    assert f'id="amount-{line.pk}-error">Saisissez un nombre, par exemple 1 250,50.' in page
    assert 'value="douze"' in page and 'value="Une partie"' in page
    response = client.post(url, {"status": "partielle", "accepted_amount": "9000", "reason": "Une partie"}, **HTMX)
    assert response.status_code == 200  # htmx swaps the block with its errors
    assert ("Le montant retenu doit être positif et inférieur au montant de la facture (9\u202f000,00\u00a0€), en "
            "euros et centimes.") in text(response)
    response = client.post(url, {})
    assert "Choisissez : acceptée, acceptée en partie ou rejetée." in text(response)
    line.refresh_from_db()
    assert line.status == LineStatus.PENDING and not a.payments.exists()


def test_invoices_are_validated_only_while_the_dossier_is_in_instruction(client, example):
    client.force_login(example["instructor"])
    a, line = example["a"], example["lines"]["a_formation"]
    workflow.apply(a, "demander_correction", example["instructor"], motivation="Ajoutez la facture de mai.")
    page = text(client.get(reverse("payments:validation", args=[a.pk])))
    assert "Les factures se valident quand le dossier est en instruction" in page
    assert reverse("payments:validate_line", args=[a.pk, line.pk]) not in page
    response = client.post(reverse("payments:validate_line", args=[a.pk, line.pk]), {"status": "acceptee"})
    assert response.status_code == 400
    assert "Les factures se valident sur un dossier en instruction." in text(response)
    response = client.post(reverse("payments:validate_line", args=[a.pk, line.pk]), {"status": "acceptee"}, **HTMX)
    assert 'role="alert"><p>Les factures se valident sur un dossier en instruction.</p>' in text(response)


def test_who_may_validate(client, example):
    a, line = example["a"], example["lines"]["a_formation"]
    page = reverse("payments:validation", args=[a.pk])
    post = reverse("payments:validate_line", args=[a.pk, line.pk])
    assert client.get(page).status_code == 302  # to the login page
    client.force_login(ArsAdminFactory())
    assert client.get(page).status_code == 200
    for outsider in (InstructorFactory(region=region("11")), a.created_by, UserFactory()):
        client.force_login(outsider)
        assert client.get(page).status_code == 404
        assert client.post(post, {"status": "acceptee"}).status_code == 404
    line.refresh_from_db()
    assert line.status == LineStatus.PENDING
    # A line of another dossier through this dossier's address; an application dossier.
    client.force_login(example["instructor"])
    other = example["lines"]["b_ergonomie"]
    assert client.post(reverse("payments:validate_line", args=[a.pk, other.pk]),
                       {"status": "acceptee"}).status_code == 404
    application = DossierFactory(call=CallFactory())
    Dossier.objects.filter(pk=application.pk).update(state=State.EN_INSTRUCTION)
    assert client.get(reverse("payments:validation", args=[application.pk])).status_code == 404


# --- windows and orders -------------------------------------------------------------------------

def test_the_call_page_shows_per_window_what_is_ready_per_legal_entity_and_action(client, example):
    client.force_login(example["instructor"])
    call = example["call"]
    instructor, lines = example["instructor"], example["lines"]
    payments.validate_line(InvoiceLine.objects.get(pk=lines["c_formation"].pk), instructor, LineStatus.ACCEPTED)
    page = plain(client.get(reverse("payments:call", args=[call.slug])))
    assert "Aucun versement prêt à ordonnancer dans cette fenêtre." in page
    # 50 % × 8 000, within the 6 000 the ceiling leaves after the 2 000 paid before the platform.
    assert "En attente de la décision : 4\u202f000,00\u00a0€ calculés sur 1 dossier non encore accepté." in page
    payments.validate_line(InvoiceLine.objects.get(pk=lines["c_formation"].pk), instructor, LineStatus.PENDING)
    validate_all(example)
    response = client.get(reverse("payments:call", args=[call.slug]))
    assert response.status_code == 200
    windows = response.context["windows"]
    assert [w["window"].label for w in windows] == [FIRST, SECOND]
    first = [(r.legal_entity, r.legal_entity_finess, r.establishment_finess, r.convention_reference, r.action,
              r.amount) for r in windows[0]["rows"]]
    assert first == [
        ("CENTRE HOSPITALIER DE LISIEUX", "140000035", "140000027", "AVENANT-2022-1", "Formation des managers",
         Decimal("4500.00")),
        ("CENTRE HOSPITALIER DE LISIEUX", "140000035", "140000027", "AVENANT-2022-1", "Rails de transfert",
         Decimal("2500.00")),
        ("CENTRE HOSPITALIER DE LISIEUX", "140000035", "140000076", "CONV-2024-7", "Salle de repos",
         Decimal("2000.01")),
        ("CHU COTE DE NACRE - CAEN", "140000100", "140000209", "CONV-2023-3", "Ergonomie des postes",
         Decimal("1500.00")),
    ]
    assert [g["total"] for g in windows[0]["groups"]] == [Decimal("9000.01"), Decimal("1500.00")]
    assert windows[0]["total"] == Decimal("10500.01")
    # Window 2: min(50 % × 17 000, 8 000 − 2 000) − 4 500; min(6 000,005, 5 000) − 2 000,01.
    assert [(r.action, r.amount) for r in windows[1]["rows"]] == [("Formation des managers", Decimal("1500.00")),
                                                                   ("Salle de repos", Decimal("2999.99"))]
    assert windows[1]["total"] == Decimal("4499.99")
    page = text(response)
    assert "Créer l'ordre de paiement (10\u202f500,01\u00a0€)" in page
    assert "Sous-total — CENTRE HOSPITALIER DE LISIEUX" in page
    assert "Justificatifs reçus jusqu'au 31 mai 2024 inclus (heure de Paris)" in page
    assert ("Justificatifs reçus du 1er juin 2024 au 15 novembre 2024 inclus (heure de Paris) — versement au plus "
            "tard le") in page
    # The instruction workspace of a proofs call links here.
    workspace = text(client.get(reverse("instruction:workspace", args=[call.slug])))
    assert reverse("payments:call", args=[call.slug]) in workspace


def test_creating_an_order_marks_the_payments_ordered_and_shows_its_lines(client, example):
    validate_all(example)
    client.force_login(example["instructor"])
    call = example["call"]
    response = client.post(reverse("payments:create_order", args=[call.slug]), {"window": "0"})
    order = PaymentOrder.objects.get()
    assert response.url == reverse("payments:order", args=[order.pk])
    assert (order.window_index, order.window_label, order.pay_by, order.created_by) == (
        0, FIRST, dt.date(2024, 6, 30), example["instructor"])
    assert set(order.payments.values_list("status", flat=True)) == {PaymentStatus.ORDERED}
    assert order.payments.count() == 4
    page = text(client.get(response.url))
    assert f"Ordre de paiement n° {order.pk} créé : 10\u202f500,01\u00a0€ — {FIRST}." in page
    assert "Ordonnancé" in page and "CONV-2023-3" in page and "10\u202f500,01\u00a0€" in page
    # Nothing left in the window; the second window still has its amounts.
    response = client.post(reverse("payments:create_order", args=[call.slug]), {"window": "0"}, follow=True)
    assert "Aucun versement n'est prêt dans cette fenêtre (dossiers acceptés)." in text(response)
    response = client.post(reverse("payments:create_order", args=[call.slug]), {"window": "7"}, follow=True)
    assert "Cette fenêtre de versement n'existe pas." in text(response)
    page = text(client.get(reverse("payments:call", args=[call.slug])))
    assert f"Ordre n° {order.pk}" in page and "Créer l'ordre de paiement (4\u202f499,99\u00a0€)" in page


def test_the_exports_have_typed_cells(client, example):
    validate_all(example)
    order = issued(payments.create_order(example["call"], 0, example["instructor"]))
    payments.mark_paid(order, example["instructor"], dt.date(2024, 6, 28), "Mandat 2024-0042")
    client.force_login(example["instructor"])

    response = client.get(reverse("payments:order_xlsx", args=[order.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert unquote(response["Content-Disposition"]).endswith(
        f"Ordre de paiement {order.pk} - Versement à la fin du 1er semestre 2024.xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(response.content))
    ws = wb["Lignes"]
    rows = list(ws.iter_rows())
    headers = [c.value for c in rows[0]]
    assert headers[:10] == ["Entité juridique", "FINESS juridique", "SIREN", "Établissement bénéficiaire",
                            "FINESS géographique", "SIRET", "Référence de la convention", "Action",
                            "Dossiers de justificatifs", "Montant"]
    col = {h: i for i, h in enumerate(headers)}
    first = rows[1]
    assert first[col["FINESS juridique"]].value == "140000035" and first[col["FINESS juridique"]].data_type == "s"
    assert first[col["SIREN"]].value == "261400915" and first[col["SIREN"]].number_format == "@"
    assert first[col["SIRET"]].value == "26140091500011" and first[col["SIRET"]].data_type == "s"
    assert first[col["Référence de la convention"]].value == "AVENANT-2022-1"
    assert first[col["Dossiers de justificatifs"]].value == example["a"].number
    amount = first[col["Montant"]]
    assert amount.data_type == "n" and amount.value == 4500 and "€" in amount.number_format
    pay_by = first[col["Versement au plus tard le"]]
    assert pay_by.is_date and pay_by.value == dt.datetime(2024, 6, 30)
    assert first[col["Versé le"]].value == dt.datetime(2024, 6, 28)
    assert first[col["Référence du paiement"]].value == "Mandat 2024-0042"
    assert [r[col["Montant"]].value for r in rows[1:5]] == [4500, 2500, 2000.01, 1500]
    total = rows[5]
    assert total[0].value == "Total" and total[col["Montant"]].value == pytest.approx(10500.01)
    info = {r[0].value: r[1] for r in wb["Ordre"].iter_rows()}
    assert info["Fenêtre de versement"].value == FIRST
    assert info["Versement au plus tard le"].is_date and info["Total"].data_type == "n"

    response = client.get(reverse("payments:order_csv", args=[order.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    raw = response.content
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark, for Excel
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Entité juridique", "FINESS juridique", "SIREN"]
    assert len(rows) == 5  # header, four rows, no total
    assert rows[1][1] == '="140000035"' and rows[1][5] == '="26140091500011"'
    assert [r[9] for r in rows[1:]] == ["4500,00", "2500,00", "2000,01", "1500,00"]  # decimal comma
    assert rows[1][11:] == ["30/06/2024", "28/06/2024", "Mandat 2024-0042"]


def test_csv_text_never_becomes_a_formula(client, example):
    validate_all(example)
    example["formation"].__class__.objects.filter(pk=example["formation"].pk).update(title="=HYPERLINK(\"x\")")
    order = issued(payments.create_order(example["call"], 0, example["instructor"]))
    client.force_login(example["instructor"])
    rows = list(csv.reader(io.StringIO(client.get(reverse("payments:order_csv", args=[order.pk]))
                                       .content.decode("utf-8-sig")), delimiter=";"))
    assert rows[1][7] == "'=HYPERLINK(\"x\")"
    wb = openpyxl.load_workbook(io.BytesIO(client.get(reverse("payments:order_xlsx", args=[order.pk])).content))
    cell = wb["Lignes"]["H2"]
    assert cell.value == "=HYPERLINK(\"x\")" and cell.data_type == "s"


def test_marking_an_order_paid(client, example):
    validate_all(example)
    order = issued(payments.create_order(example["call"], 0, example["instructor"]))
    client.force_login(example["instructor"])
    url = reverse("payments:order", args=[order.pk])
    response = client.post(url, {"paid_on": "31/02/2024", "reference": "Mandat 42"})
    assert response.status_code == 400
    page = text(response)
    assert "Saisissez une date valide, par exemple 28/06/2024." in page and 'value="Mandat 42"' in page
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    page = text(client.post(url, {"paid_on": tomorrow.isoformat(), "reference": "Mandat 42"}))
    assert "La date du versement ne peut pas être dans le futur." in page
    page = text(client.post(url, {"paid_on": "2024-06-28", "reference": ""}))
    assert "Indiquez la référence du paiement (mandat, bordereau de la paierie…)." in page
    assert 'value="2024-06-28"' in page
    assert text(client.post(url, {"paid_on": "", "reference": "x"})).count("Indiquez la date du versement.") == 1
    response = client.post(url, {"paid_on": "28/06/2024", "reference": "Mandat 2024-0042"})
    assert response.url == url
    order.refresh_from_db()
    assert (order.paid_on, order.reference) == (dt.date(2024, 6, 28), "Mandat 2024-0042")
    assert set(order.payments.values_list("status", "paid_on")) == {(PaymentStatus.PAID, dt.date(2024, 6, 28))}
    page = text(client.get(url))
    assert "Versé le 28/06/2024" in page and "Marquer l'ordre comme versé" not in page
    page = text(client.post(url, {"paid_on": "2024-06-29", "reference": "Encore"}, follow=True))
    assert "Cet ordre est déjà marqué comme payé." in page


def test_who_may_reach_the_orders(client, example):
    validate_all(example)
    call = example["call"]
    order = issued(payments.create_order(call, 0, example["instructor"]))
    urls = [reverse("payments:call", args=[call.slug]), reverse("payments:order", args=[order.pk]),
            reverse("payments:order_xlsx", args=[order.pk]), reverse("payments:order_csv", args=[order.pk])]
    member = UserFactory()
    example["lisieux"].members.add(member)
    for outsider in (InstructorFactory(region=region("11")), member, example["a"].created_by):
        client.force_login(outsider)
        for url in urls:
            assert client.get(url).status_code == 404, url
        assert client.post(reverse("payments:create_order", args=[call.slug]), {"window": "1"}).status_code == 404
        assert client.post(urls[1], {"paid_on": "2024-06-28", "reference": "x"}).status_code == 404
    order.refresh_from_db()
    assert order.paid_on is None and not PaymentOrder.objects.filter(window_index=1).exists()
    client.force_login(ArsAdminFactory())
    assert all(client.get(url).status_code == 200 for url in urls)
    # An application call has no payment page.
    assert client.get(reverse("payments:call", args=[CallFactory().slug])).status_code == 404


# --- a grant's ledger ---------------------------------------------------------------------------

def test_the_ledger_shows_entries_balances_and_actions(client, example):
    validate_all(example)
    order = issued(payments.create_order(example["call"], 0, example["instructor"]))
    payments.mark_paid(order, example["instructor"], dt.date(2024, 6, 28), "Mandat 2024-0042")
    g1 = example["g1"]
    client.force_login(example["instructor"])
    response = client.get(reverse("payments:ledger", args=[g1.pk]))
    assert response.status_code == 200
    page = text(response)
    assert "Versements de la subvention AVENANT-2022-1" in page
    assert "Versé avant la plateforme" in page
    assert f"{FIRST} — dossier {example['a'].number}" in page and f"{SECOND} — dossier {example['c'].number}" in page
    # Paid: 2 000 before + 4 500 + 2 500; pending: 1 500 (window 2); remaining: 11 000 − 10 500.
    assert response.context["balance"] == {"total": Decimal("11000.00"), "paid": Decimal("9000.00"),
                                           "pending": Decimal("1500.00"), "remaining": Decimal("500.00")}
    formation = next(a for a in response.context["actions"] if a.title == "Formation des managers")
    assert (formation.balance.paid, formation.balance.committed, formation.balance.remaining) == (
        Decimal("6500.00"), Decimal("1500.00"), Decimal("0.00"))
    assert "Versé : <strong>9\u202f000,00\u00a0€</strong>" in page
    assert "Clôturer la subvention" in page


def test_the_beneficiary_reads_the_ledger_and_nobody_else(client, example):
    g1 = example["g1"]
    url = reverse("payments:ledger", args=[g1.pk])
    member = UserFactory()
    example["lisieux"].members.add(member)
    client.force_login(member)
    response = client.get(url)
    assert response.status_code == 200
    assert "Clôturer la subvention" not in text(response)
    assert client.post(reverse("payments:close", args=[g1.pk]), {"reason": "Fin"}).status_code == 403
    for outsider in (InstructorFactory(region=region("11")), UserFactory()):
        client.force_login(outsider)
        assert client.get(url).status_code == 404
        assert client.post(reverse("payments:close", args=[g1.pk]), {"reason": "Fin"}).status_code == 404
    g1.refresh_from_db()
    assert g1.status == GrantStatus.ACTIVE


def test_closing_a_grant_cancels_what_is_scheduled(client, example):
    instructor, lines = example["instructor"], example["lines"]
    payments.validate_line(InvoiceLine.objects.get(pk=lines["c_formation"].pk), instructor, LineStatus.ACCEPTED)
    g1 = example["g1"]
    client.force_login(instructor)
    url = reverse("payments:close", args=[g1.pk])
    response = client.post(url, {"reason": "   "})
    assert response.status_code == 400
    assert "Indiquez le motif de la clôture." in text(response)
    response = client.post(url, {"reason": "Convention échue au 31/12/2024."})
    assert response.url == reverse("payments:ledger", args=[g1.pk])
    g1.refresh_from_db()
    assert (g1.status, g1.closing_reason) == (GrantStatus.CLOSED, "Convention échue au 31/12/2024.")
    assert set(Payment.objects.filter(action__grant=g1).values_list("status", flat=True)) == {PaymentStatus.CANCELLED}
    page = text(client.get(response.url))
    assert "Clôturée" in page and "motif : Convention échue au 31/12/2024." in page
    assert "Clôturer la subvention</button>" not in page
    # The validation page says why nothing more is paid on the closed grant.
    page = text(client.get(reverse("payments:validation", args=[example["c"].pk])))
    assert "La subvention est clôturée : plus aucun versement." in page


# --- who is paid: SIREN and SIRET on the order, with their leading zeros -----------------------------

SIRET_SCHEMA = {"sections": [{"key": "porteur", "title": "Établissement porteur", "fields": [
    {"key": "finess", "type": "finess", "label": "N° FINESS géographique", "required": True,
     "prefill": "establishment.finess"},
    {"key": "siret", "type": "siret", "label": "N° SIRET", "required": True, "prefill": "establishment.siret"}]}]}


def paid_order(establishment, region_code, reference, application_answers=None):
    """An order of one accepted proofs dossier of ``establishment``, in its region's proofs call; the grant
    comes from an application dossier holding ``application_answers`` when given."""
    call = CallFactory(kind=CallKind.PROOFS, region=region(region_code), year=2024, envelope=None,
                       payment_windows=WINDOWS, covered_years=[2023], slug=f"justificatifs-{region_code}-2024")
    grant = make_grant(establishment, ["6000"], year=2023, reference=reference)
    grant.region = region(region_code)
    if application_answers is not None:
        application = CallFactory(region=region(region_code), year=2023, schema=SIRET_SCHEMA)
        grant.dossier = DossierFactory(call=application, establishment=establishment, answers=application_answers,
                                       state=State.ACCEPTE, number=f"2023-{region_code}-000001")
    grant.save()
    dossier = proofs_dossier(call, establishment, paris(2024, 4, 2, 9))
    instructor = InstructorFactory(region=region(region_code))
    payments.validate_line(invoice(dossier, grant.actions.get(), "3000"), instructor, LineStatus.ACCEPTED)
    workflow.apply(dossier, "accepter", instructor)
    return payments.create_order(call, 0, instructor), instructor


def test_the_order_exports_carry_siren_and_siret_with_their_leading_zeros(client, db):
    """Two beneficiaries of the SAE 2023 extract: the Maison de convalescence Valicelli (Corse-du-Sud, FINESS
    2A0022554, SIRET 04662024100011 in the directory, its legal entity without SIREN: the SIREN is the
    SIRET's first nine digits) and the Clinique du Dauphiné (Hauts-de-Seine, the SAE row carries only its
    SIREN 058504390: the SIRET is the one typed in its application dossier)."""
    valicelli_ej = LegalEntityFactory(finess="2A0000311", siren="", name="MAIS CONVAL ET REGIME VALICELLI")
    valicelli = EstablishmentFactory(finess="2A0022554", siret="04662024100011", legal_entity=valicelli_ej,
                                     name="MAIS CONVAL ET REGIME VALICELLI", department="2A", region=region("94"))
    dauphine_ej = LegalEntityFactory(finess="920039674", siren="058504390", name="SAS CLINIQUE DU DAUPHINE")
    dauphine = EstablishmentFactory(finess="920039674", siret="", legal_entity=dauphine_ej,
                                    name="SAS CLINIQUE DU DAUPHINE", department="92", region=region("11"))
    corse_order, corse_staff = paid_order(valicelli, "94", "CONV-2023-2A-1")
    # A checksum-valid SIRET of that SIREN, as the clinic typed it in its application dossier.
    idf_order, idf_staff = paid_order(dauphine, "11", "CONV-2023-92-1",
                                      application_answers={"finess": "920039674", "siret": "05850439010003"})

    for order, staff, expected in ((corse_order, corse_staff, ("2A0000311", "046620241", "2A0022554",
                                                                 "04662024100011")),
                                   (idf_order, idf_staff, ("920039674", "058504390", "920039674",
                                                           "05850439010003"))):
        client.force_login(staff)
        wb = openpyxl.load_workbook(io.BytesIO(client.get(reverse("payments:order_xlsx", args=[order.pk])).content))
        rows = list(wb["Lignes"].iter_rows())
        col = {c.value: i for i, c in enumerate(rows[0])}
        cells = [rows[1][col[h]] for h in ("FINESS juridique", "SIREN", "FINESS géographique", "SIRET")]
        assert tuple(c.value for c in cells) == expected
        assert all(c.data_type == "s" and c.number_format == "@" for c in cells)  # text cells

        raw = client.get(reverse("payments:order_csv", args=[order.pk])).content
        # Written as ="…" (quoted as CSV requires): Excel computes the text, leading zeros kept.
        ej, siren, et, siret = expected
        assert f'"=""{ej}""";"=""{siren}""";'.encode() in raw
        assert f';"=""{et}""";"=""{siret}""";'.encode() in raw
        row = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))[1]
        assert [row[1], row[2], row[4], row[5]] == [f'="{v}"' for v in expected]
        # The order's page shows them too, for a check before it goes to the finance service.
        page = plain(client.get(reverse("payments:order", args=[order.pk])))
        assert f"SIREN {siren}" in page and f"FINESS {et} — SIRET {siret}" in page



# --- the convention's total, lower than the sum of its actions' ceilings -------------------------------

def grant_page(client, grant):
    return client.get(reverse("payments:ledger", args=[grant.pk]))


def test_a_conventions_total_below_its_ceilings_binds_payments_and_every_balance_says_why(client, example):
    """The avenant of the CH de Lisieux states two ceilings (Formation 8 000 €, 2 000 € of it paid before the
    platform; Rails 3 000 €) and a total of 9 500 €: once 9 000 € are paid or scheduled, the total leaves 500 €,
    whatever the ceilings leave (1 500 € and 500 €)."""
    g1, instructor, lines = example["g1"], example["instructor"], example["lines"]
    formation, rails = example["formation"], example["rails"]
    client.force_login(instructor)
    response = client.post(reverse("payments:set_total", args=[g1.pk]),
                           {"total": "9 500,00", "reason": "Article 3 de l'avenant : 9 500 € au total."})
    assert response.status_code == 302 and response.url == reverse("payments:ledger", args=[g1.pk])
    g1.refresh_from_db()
    assert g1.total == Decimal("9500.00")
    record = AuditRecord.objects.get(action="grant:total")
    assert (record.actor, record.object_id, record.details["before"], record.details["after"],
            record.details["reason"]) == (instructor, str(g1.pk), "11000.00", "9500.00",
                                          "Article 3 de l'avenant : 9 500 € au total.")
    assert "Le montant total de la convention AVENANT-2022-1 est fixé à 9\u202f500,00\u00a0€." in text(
        client.get(response.url))

    # Dossier a (received 20 May): Formation 4 500 €, Rails 2 500 € — 9 000 € used with the 2 000 € paid before.
    payments.validate_line(InvoiceLine.objects.get(pk=lines["a_formation"].pk), instructor, LineStatus.ACCEPTED)
    payments.validate_line(InvoiceLine.objects.get(pk=lines["a_rails"].pk), instructor, LineStatus.PARTIAL,
                           accepted_amount="5000", reason="Seuls 5 000 € concernent l'action.")
    why = ("plafond de l'action : 1\u202f500,00\u00a0€ restants, mais le total de la convention n'en laisse que "
           "500,00\u00a0€")
    # The ARS's grant page.
    response = grant_page(client, g1)
    found = {a.title: a.balance for a in response.context["actions"]}
    assert (found["Formation des managers"].ceiling_left, found["Formation des managers"].remaining,
            found["Formation des managers"].reason) == (Decimal("1500.00"), Decimal("500.00"), why)
    assert (found["Rails de transfert"].remaining, found["Rails de transfert"].reason) == (Decimal("500.00"), "")
    page = plain(response)
    assert why[0].upper() + why[1:] in page
    assert ("reste disponible : 500,00\u00a0€ (les plafonds des actions laissent 2\u202f000,00\u00a0€, mais le total "
            "de la convention n'en laisse que 500,00\u00a0€)") in page
    assert ("Montant total accordé : 9\u202f500,00\u00a0€ (somme des plafonds des actions : "
            "11\u202f000,00\u00a0€)") in page
    # The ARS's validation page of the next dossier (c) says it too, before any verdict on it.
    validation = plain(client.get(reverse("payments:validation", args=[example["c"].pk])))
    assert f"Reste disponible : 500,00\u00a0€ ({why})" in validation
    # The establishment's pages: « Mes subventions » and the proofs dossier's invoices.
    member = example["a"].created_by
    EstablishmentAccess.objects.get_or_create(user=member, establishment=example["lisieux"])
    client.force_login(member)
    mine = plain(client.get(reverse("funding:mine")))
    assert why[0].upper() + why[1:] in mine
    assert "Reste disponible sur la subvention : 500,00\u00a0€ (les plafonds des actions laissent" in mine
    invoices = plain(client.get(reverse("funding:invoices", args=[example["a"].pk])))
    assert f"reste disponible : 500,00\u00a0€ ({why})" in invoices

    # Dossier c (2 September): 8 000 € of training invoices, 1 500 € left on the ceiling — the total pays 500 €.
    payments.validate_line(InvoiceLine.objects.get(pk=lines["c_formation"].pk), instructor, LineStatus.ACCEPTED)
    assert Payment.objects.get(dossier=example["c"], action=formation).amount == Decimal("500.00")
    assert sum(p.amount for p in Payment.objects.filter(action__grant=g1)) + Decimal("2000") == Decimal("9500.00")
    client.force_login(instructor)
    response = grant_page(client, g1)
    found = {a.title: a.balance for a in response.context["actions"]}
    assert (found["Formation des managers"].remaining, found["Formation des managers"].reason) == (
        Decimal("0.00"), "plafond de l'action : 1\u202f000,00\u00a0€ restants, mais le total de la convention "
                         "(9\u202f500,00\u00a0€) est atteint")
    assert (found["Rails de transfert"].remaining, found["Rails de transfert"].reason) == (
        Decimal("0.00"), "plafond de l'action : 500,00\u00a0€ restants, mais le total de la convention "
                         "(9\u202f500,00\u00a0€) est atteint")
    assert response.context["summary"].available == Decimal("0.00")
    assert response.context["balance"]["remaining"] == Decimal("0.00")
    assert Payment.objects.filter(dossier=example["c"], action=rails).count() == 0


def test_setting_the_total_refuses_each_wrong_value_at_its_field(client, example):
    g1, instructor = example["g1"], example["instructor"]
    validate_all(example)
    order = issued(payments.create_order(example["call"], 0, instructor))
    payments.mark_paid(order, instructor, dt.date(2024, 6, 28), "Mandat 2024-0042")
    # Paid on the grant: 2 000 € before the platform, 4 500 € and 2 500 € in June; 1 500 € scheduled (window 2).
    client.force_login(instructor)
    url = reverse("payments:set_total", args=[g1.pk])
    page = text(grant_page(client, g1))
    assert 'name="total"' in page and 'value="11000,00"' in page and f'action="{url}"' in page
    reason = "Article 3 de l'avenant."
    for typed, field, message in (
            ("", "total", "Indiquez le montant total de la convention."),
            ("beaucoup", "total", "Saisissez un nombre, par exemple 1 250,50."),
            ("9 000,555", "total", "Le montant s'écrit en euros et centimes, deux décimales au plus."),
            ("0", "total", "Le montant total de la convention doit être supérieur à 0."),
            ("11 000,01", "total", "Le montant total (11\u202f000,01\u00a0€) ne peut pas dépasser la somme des "
                                   "plafonds des actions (11\u202f000,00\u00a0€)."),
            ("8 999,99", "total", "Le montant total (8\u202f999,99\u00a0€) ne peut pas être inférieur à ce qui est "
                                  "déjà versé ou ordonnancé sur la subvention (9\u202f000,00\u00a0€)."),
    ):
        response = client.post(url, {"total": typed, "reason": reason})
        assert response.status_code == 400, typed
        form = response.context["total_form"]
        assert form.errors == {field: [message]}, typed
        page = text(response)
        assert message in page and (f'value="{typed}"' in page or not typed)
    response = client.post(url, {"total": "9 000,00", "reason": "  "})
    assert response.context["total_form"].errors == {
        "reason": ["Indiquez le motif : par exemple, le montant total inscrit dans la convention signée."]}
    g1.refresh_from_db()
    assert g1.total == Decimal("11000.00") and not AuditRecord.objects.filter(action="grant:total").exists()

    # The lowest total allowed: what is paid; the 1 500 € scheduled on dossier c is recomputed away,
    # what was paid never changes.
    assert client.post(url, {"total": "9000", "reason": reason}).status_code == 302
    assert not Payment.objects.filter(dossier=example["c"], action=example["formation"],
                                      status=PaymentStatus.SCHEDULED).exists()
    assert sorted(Payment.objects.filter(action__grant=g1, status=PaymentStatus.PAID).values_list(
        "amount", flat=True)) == [Decimal("2500.00"), Decimal("4500.00")]
    # Raised back (an error corrected): dossier c's payment comes back, in its window.
    assert client.post(url, {"total": "11 000", "reason": "Erreur de saisie corrigée."}).status_code == 302
    back = Payment.objects.get(dossier=example["c"], action=example["formation"])
    assert (back.amount, back.status, back.window_label) == (Decimal("1500.00"), PaymentStatus.SCHEDULED, SECOND)
    assert client.post(url, {"total": "9000", "reason": reason}).status_code == 302
    # A closed grant's total does not change.
    payments.close(g1, instructor, "Convention échue.")
    response = client.post(url, {"total": "9500", "reason": reason}, follow=True)
    assert "Cette subvention est clôturée : son montant total ne change plus." in text(response)
    g1.refresh_from_db()
    assert g1.total == Decimal("9000.00")


def test_who_may_set_the_total(client, example):
    g1 = example["g1"]
    url = reverse("payments:set_total", args=[g1.pk])
    data = {"total": "9000", "reason": "Avenant n° 2."}
    member = UserFactory()
    example["lisieux"].members.add(member)  # sees the grant's page, sets nothing
    client.force_login(member)
    assert grant_page(client, g1).status_code == 200 and 'name="total"' not in text(grant_page(client, g1))
    assert client.post(url, data).status_code == 403
    caen_member = UserFactory()
    example["caen"].members.add(caen_member)
    for outsider in (InstructorFactory(region=region("11")), caen_member, UserFactory()):
        client.force_login(outsider)
        assert client.post(url, data).status_code == 404
    g1.refresh_from_db()
    assert g1.total == Decimal("11000.00")
    client.force_login(ArsAdminFactory())  # the region's ARS administrator may
    assert client.post(url, data).status_code == 302
    g1.refresh_from_db()
    assert g1.total == Decimal("9000.00")


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(ceilings=st.lists(st.decimals(min_value="0.01", max_value=20000, places=2), min_size=1, max_size=3),
       total_share=st.decimals(min_value=0, max_value=1, places=2),
       paid_share=st.decimals(min_value=0, max_value=1, places=2),
       invoices=st.lists(st.tuples(st.integers(0, 2), st.decimals(min_value="0.01", max_value=40000, places=2)),
                         max_size=4))
def test_property_what_remains_is_exactly_what_the_engine_pays_next(ceilings, total_share, paid_share, invoices):
    """The « reste disponible » of an action — the ceiling's and the convention total's limit — is exactly what
    a later proofs dossier with invoices far above it is paid on that action (nothing shown that can never be
    paid, nothing paid that was not shown), and it comes with a reason exactly when the total binds."""
    call = CallFactory(kind=CallKind.PROOFS, year=2024, envelope=None, payment_windows=WINDOWS,
                       covered_years=[2022])
    est = EstablishmentFactory()
    paid = [(c * paid_share).quantize(Decimal("0.01")) for c in ceilings]
    # Any total from what was paid before the platform to the sum of the ceilings.
    total = max(Decimal("0.01"), sum(paid) + ((sum(ceilings) - sum(paid)) * total_share).quantize(Decimal("0.01")))
    grant = make_grant(est, [str(c) for c in ceilings], total=str(total), paid_before=[str(p) for p in paid])
    actions = list(grant.actions.order_by("position"))
    instructor = InstructorFactory()
    may = proofs_dossier(call, est, paris(2024, 5, 2, 9))
    for which, amount in invoices:
        payments.validate_line(invoice(may, actions[which % len(actions)], str(amount)), instructor,
                               LineStatus.ACCEPTED)
    found = balances.for_actions(actions)
    for action in actions:
        b = found[action.pk]
        assert (b.reason != "") == (b.remaining < b.ceiling_left)
        with transaction.atomic():
            september = proofs_dossier(call, est, paris(2024, 9, 2, 9))
            payments.validate_line(invoice(september, action, "99999999.99"), instructor, LineStatus.ACCEPTED)
            probe = Payment.objects.filter(dossier=september, action=action).first()
            assert (probe.amount if probe else Decimal("0.00")) == b.remaining, (action.position, b)
            transaction.set_rollback(True)
    summary = balances.for_grant(grant)
    assert summary.available == min(summary.remaining, sum((b.ceiling_left for b in found.values()), Decimal(0)))


def test_payee_ids_from_the_directory_else_the_beneficiarys_own_dossiers(db):
    """A grant without a legal entity of its own takes its beneficiary's; a SIRET missing from the directory
    is the one the beneficiary typed in its proofs dossier — not the one another site of the legal entity
    typed in its own."""
    from guichet.funding.payees import PayeeIds, payee_ids

    entity = LegalEntityFactory(finess="920039674", siren="058504390", name="SAS CLINIQUE DU DAUPHINE")
    clinic = EstablishmentFactory(finess="920039674", siret="", legal_entity=entity, name="SAS CLINIQUE DU DAUPHINE",
                                  department="92", region=region("11"))
    grant = make_grant(clinic, ["6000"], year=2023, reference="CONV-2023-92-1")
    grant.legal_entity = None
    grant.save(update_fields=["legal_entity"])
    proofs_call = CallFactory(kind=CallKind.PROOFS, region=region("11"), schema=SIRET_SCHEMA)
    sister = EstablishmentFactory(finess="920000650", siret="", legal_entity=entity, name="AUTRE SITE")
    other = DossierFactory(call=proofs_call, establishment=sister, answers={"siret": "05850439010011"})
    assert payee_ids(grant, [other]) == PayeeIds(siren="058504390", siret="")
    own = DossierFactory(call=proofs_call, establishment=clinic, answers={"siret": "058 504 390 10003"})
    assert payee_ids(grant, [other, own]) == PayeeIds(siren="058504390", siret="05850439010003")
    # A SIRET whose check digit is wrong is no SIRET.
    assert payee_ids(grant, [DossierFactory(call=proofs_call, establishment=clinic,
                                            answers={"siret": "05850439010004"})]).siret == ""


@pytest.mark.parametrize("window", ["²", "٣", "99999999999999999999"])
def test_a_window_that_is_not_a_number_is_a_french_message(client, example, window):
    """« ² ».isdigit() is true and int() refuses it: that was a 500."""
    client.force_login(example["instructor"])
    call = example["call"]
    response = client.post(reverse("payments:create_order", args=[call.slug]), {"window": window}, follow=True)
    assert response.status_code == 200 and "Choisissez la fenêtre de versement à ordonnancer." in text(response)
    assert not PaymentOrder.objects.exists()
