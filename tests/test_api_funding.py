"""Payments through the API: grants with their per-action amounts and ledger, a proofs call's dossiers with
their invoices, payments and payment orders — scoped to the token's region, money as decimal strings; an
invoice's verdict and an order marked paid through the same domain functions as the pages (French messages
at the field, read-only tokens refused); a fixed number of queries whatever the number of rows."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from guichet.api.models import issue_token
from guichet.core.models import AuditRecord
from guichet.dossiers import workflow
from guichet.funding import payments
from guichet.funding.models import InvoiceLine, LineStatus, Payment, PaymentOrder, PaymentStatus
from tests.factories import CallFactory, EstablishmentFactory, InstructorFactory, LegalEntityFactory, region
from tests.test_payment_pages import FIRST, SECOND, WINDOWS, build_example, validate_all
from tests.test_payments import invoice, issued, make_grant, paris, proofs_dossier

pytestmark = pytest.mark.django_db


@pytest.fixture
def example():
    call = CallFactory(kind="proofs", year=2024, envelope=None, payment_windows=WINDOWS,
                       covered_years=[2020, 2021, 2022, 2023, 2024], slug="justificatifs-hdf-2024")
    return build_example(call, InstructorFactory(email="instructeur.hdf@ars.sante.fr"))


@pytest.fixture
def read_token(example):
    return issue_token(example["instructor"], "Tableau de bord")[1]


@pytest.fixture
def write_token(example):
    return issue_token(example["instructor"], "Outil des paiements", write=True)[1]


@pytest.fixture
def other_token(db):
    return issue_token(InstructorFactory(region=region("44")), "Grand Est", write=True)[1]


def get(client, token, url, **params):
    return client.get(f"/api/v1{url}", params, HTTP_AUTHORIZATION=f"Bearer {token}")


def post(client, token, url, data):
    return client.post(f"/api/v1{url}", data, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")


def paid_first_window(example):
    validate_all(example)
    order = issued(payments.create_order(example["call"], 0, example["instructor"]))
    payments.mark_paid(order, example["instructor"], dt.date(2024, 6, 28), "Mandat 2024-0042")
    return order


# --- reads --------------------------------------------------------------------------------------

def test_grants_with_paid_committed_and_remaining_per_action(client, example, read_token):
    paid_first_window(example)
    response = get(client, read_token, "/ledgers")
    assert response.status_code == 200, response.content
    items = {g["convention_reference"]: g for g in response.json()["items"]}
    assert set(items) == {"AVENANT-2022-1", "CONV-2024-7", "CONV-2023-3"}
    g1 = items["AVENANT-2022-1"]
    assert (g1["total"], g1["rate"], g1["invoice_basis"], g1["status"]) == ("11000.00", "50.00", "ttc", "active")
    assert g1["legal_entity"] == {"name": "CENTRE HOSPITALIER DE LISIEUX", "finess": "140000035",
                                  "siren": "261400915", "siret": ""}
    assert [(a["title"], a["ceiling"], a["paid_before"], a["paid"], a["committed"], a["remaining"])
            for a in g1["actions"]] == [
        # Formation: 2 000 before + 4 500 paid in June; 1 500 scheduled (window 2): the ceiling is reached.
        ("Formation des managers", "8000.00", "2000.00", "6500.00", "1500.00", "0.00"),
        ("Rails de transfert", "3000.00", "0.00", "2500.00", "0.00", "500.00"),
    ]
    assert [g["convention_reference"] for g in get(client, read_token, "/ledgers", call_year=2022).json()["items"]] \
        == ["AVENANT-2022-1"]
    assert [g["convention_reference"] for g in get(client, read_token, "/ledgers",
                                                   legal_entity="140000100").json()["items"]] == ["CONV-2023-3"]
    assert get(client, read_token, "/ledgers", status="cloturee").json()["items"] == []
    page = get(client, read_token, "/ledgers", limit=2).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = get(client, read_token, "/ledgers", limit=2, cursor=page["next_cursor"]).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert get(client, read_token, "/ledgers", cursor="abc").status_code == 400


def test_a_grants_ledger(client, example, read_token, other_token):
    paid_first_window(example)
    g1 = example["g1"]
    response = get(client, read_token, f"/ledgers/{g1.pk}")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["balance"] == {"total": "11000.00", "paid": "9000.00", "pending": "1500.00", "remaining": "500.00"}
    assert [(e["label"], e["action"], e["amount"], e["status"], e["date"]) for e in data["entries"]] == [
        ("Versé avant la plateforme", "Formation des managers", "2000.00", "verse", None),
        (f"{FIRST} — dossier {example['a'].number}", "Formation des managers", "4500.00", "verse", "2024-06-28"),
        (f"{FIRST} — dossier {example['a'].number}", "Rails de transfert", "2500.00", "verse", "2024-06-28"),
        (f"{SECOND} — dossier {example['c'].number}", "Formation des managers", "1500.00", "prevu", "2024-12-31"),
    ]  # in the order the payments were computed
    assert AuditRecord.objects.filter(action="api:read", object_type="funding.grant", object_id=str(g1.pk)).exists()
    assert get(client, other_token, f"/ledgers/{g1.pk}").status_code == 404
    assert get(client, other_token, "/ledgers").json()["items"] == []


def test_the_proofs_dossiers_of_a_call_with_their_invoices(client, example, read_token, other_token):
    instructor, lines = example["instructor"], example["lines"]
    payments.validate_line(InvoiceLine.objects.get(pk=lines["a_rails"].pk), instructor, LineStatus.PARTIAL,
                           accepted_amount="5000", reason="Seuls 5 000 € concernent l'action.")
    slug = example["call"].slug
    response = get(client, read_token, f"/calls/{slug}/proofs-dossiers")
    assert response.status_code == 200, response.content
    items = response.json()["items"]
    assert [d["number"] for d in items] == [example[k].number for k in ("a", "b", "c")]
    a = items[0]
    assert (a["state"], a["received_on"], a["window"]) == (
        "en_instruction", "2024-05-20", {"index": 0, "label": FIRST, "pay_by": "2024-06-30"})
    assert dt.datetime.fromisoformat(a["first_filed_at"]).utcoffset() == dt.timedelta(hours=2)  # Paris, summer
    assert a["establishment"] == {"name": "CENTRE HOSPITALIER DE LISIEUX", "finess": "140000027", "siren": "",
                                  "siret": "26140091500011"}
    rails = next(line for line in a["invoice_lines"] if line["id"] == lines["a_rails"].pk)
    assert dt.datetime.fromisoformat(rails.pop("received_at")) == paris(2024, 5, 20, 10)
    assert rails.pop("window") == {"index": 0, "label": FIRST, "pay_by": "2024-06-30"}
    assert rails.pop("not_paid_this_year") == ""
    assert rails | {"validated_at": None} == {
        "id": lines["a_rails"].pk, "dossier": example["a"].number, "grant": example["g1"].pk,
        "convention_reference": "AVENANT-2022-1", "action": example["rails"].pk, "action_title": "Rails de transfert",
        "establishment": None, "supplier": "Ergonomie Conseil", "number": "F-1", "invoice_date": "2024-03-01",
        "amount_ht": "7000.00", "amount_ttc": "7000.00", "has_file": False, "source": "online", "status": "partielle",
        "status_label": "Acceptée en partie", "accepted_amount": "5000.00",
        "reason": "Seuls 5 000 € concernent l'action.", "validated_by": "instructeur.hdf@ars.sante.fr",
        "validated_at": None}
    assert rails["validated_at"] is not None
    assert a["payments"] == [{"id": Payment.objects.get().pk, "action": example["rails"].pk, "amount": "2500.00",
                              "window": {"index": 0, "label": FIRST, "pay_by": "2024-06-30"}, "status": "prevu",
                              "status_label": "Prévu"}]
    assert items[2]["window"]["index"] == 1
    page = get(client, read_token, f"/calls/{slug}/proofs-dossiers", limit=2).json()
    assert len(page["items"]) == 2 and page["next_cursor"] == str(example["b"].pk)
    assert AuditRecord.objects.filter(action="api:read", object_type="calls.call").exists()
    # An application call has no proofs dossiers; another region's token does not see the call.
    assert get(client, read_token, f"/calls/{CallFactory().slug}/proofs-dossiers").status_code == 404
    assert get(client, other_token, f"/calls/{slug}/proofs-dossiers").status_code == 404


def test_payments_filtered_by_call_window_and_status(client, example, read_token, other_token):
    order = paid_first_window(example)
    slug = example["call"].slug
    items = get(client, read_token, "/payments", call=slug).json()["items"]
    assert len(items) == 6
    second = get(client, read_token, "/payments", call=slug, window=1).json()["items"]
    assert [(p["action_title"], p["amount"], p["status"], p["order"]) for p in second] == [
        ("Formation des managers", "1500.00", "prevu", None), ("Salle de repos", "2999.99", "prevu", None)]
    paid = get(client, read_token, "/payments", status="verse").json()["items"]
    assert {p["order"] for p in paid} == {order.pk} and len(paid) == 4
    ergonomie = next(p for p in paid if p["convention_reference"] == "CONV-2023-3")
    assert ergonomie | {"id": 0} == {
        "id": 0, "call": slug, "window": {"index": 0, "label": FIRST, "pay_by": "2024-06-30"},
        "dossier": example["b"].number, "grant": example["g3"].pk, "convention_reference": "CONV-2023-3",
        "action": example["ergonomie"].pk, "action_title": "Ergonomie des postes",
        "beneficiary": {"name": "CHU COTE DE NACRE - CAEN", "finess": "140000209", "siren": "",
                        "siret": "26140093100018"},
        "legal_entity": {"name": "CHU COTE DE NACRE - CAEN", "finess": "140000100", "siren": "261400931",
                         "siret": ""},
        "amount": "1500.00", "status": "verse", "status_label": "Versé", "order": order.pk,
        "paid_on": "2024-06-28", "reference": "Mandat 2024-0042"}
    assert get(client, read_token, "/payments", status="inconnu").status_code == 422
    assert get(client, read_token, "/payments", call="inconnu").status_code == 404
    assert get(client, other_token, "/payments").json()["items"] == []
    assert get(client, other_token, "/payments", call=slug).status_code == 404


def test_payment_orders_with_their_lines(client, example, read_token, other_token):
    order = paid_first_window(example)
    second = payments.create_order(example["call"], 1, example["instructor"])
    listed = get(client, read_token, "/payment-orders").json()["items"]
    assert [(o["id"], o["status"], o["lines"], o["total"]) for o in listed] == [
        (order.pk, "verse", 4, "10500.01"), (second.pk, "ordonnance", 2, "4499.99")]
    data = get(client, read_token, f"/payment-orders/{order.pk}").json()
    assert (data["window"], data["paid_on"], data["reference"], data["created_by"]) == (
        {"index": 0, "label": FIRST, "pay_by": "2024-06-30"}, "2024-06-28", "Mandat 2024-0042",
        "instructeur.hdf@ars.sante.fr")
    assert [(r["legal_entity"]["finess"], r["establishment"]["finess"], r["convention_reference"], r["action"],
             r["amount"]) for r in data["order_lines"]] == [
        ("140000035", "140000027", "AVENANT-2022-1", "Formation des managers", "4500.00"),
        ("140000035", "140000027", "AVENANT-2022-1", "Rails de transfert", "2500.00"),
        ("140000035", "140000076", "CONV-2024-7", "Salle de repos", "2000.01"),
        ("140000100", "140000209", "CONV-2023-3", "Ergonomie des postes", "1500.00"),
    ]
    assert data["order_lines"][0]["dossiers"] == [example["a"].number]
    assert sorted(data["payments"]) == sorted(order.payments.values_list("pk", flat=True))
    assert get(client, read_token, "/payment-orders", call=example["call"].slug).json()["items"][1]["id"] == second.pk
    assert get(client, other_token, f"/payment-orders/{order.pk}").status_code == 404
    assert get(client, other_token, "/payment-orders").json()["items"] == []


# --- writes -------------------------------------------------------------------------------------

def test_validating_an_invoice(client, example, write_token):
    line = example["lines"]["a_formation"]
    url = f"/invoice-lines/{line.pk}/validation"
    response = post(client, write_token, url, {"status": "acceptee"})
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["line"]["status"], data["line"]["validated_by"]) == ("acceptee", "instructeur.hdf@ars.sante.fr")
    assert [(p["action"], p["amount"], p["window"]["label"]) for p in data["payments"]] == [
        (example["formation"].pk, "4500.00", FIRST)]
    response = post(client, write_token, f"/invoice-lines/{example['lines']['a_rails'].pk}/validation",
                    {"status": "partielle", "accepted_amount": "5000.00", "reason": "Une partie seulement."})
    assert response.status_code == 200
    assert sorted(p["amount"] for p in response.json()["payments"]) == ["2500.00", "4500.00"]
    assert AuditRecord.objects.filter(action="proofs:validate", dossier_id=example["a"].pk).count() == 2


def test_a_refused_verdict_says_why_at_the_field(client, example, write_token):
    line = example["lines"]["a_formation"]
    url = f"/invoice-lines/{line.pk}/validation"
    response = post(client, write_token, url, {"status": "rejetee"})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"loc": ["body", "payload", "reason"], "type": "value_error",
                                          "msg": "Indiquez le motif : l'établissement le verra."}]
    response = post(client, write_token, url, {"status": "partielle", "accepted_amount": "9000", "reason": "x"})
    assert response.json()["errors"][0]["loc"][-1] == "accepted_amount"
    assert "inférieur au montant de la facture" in response.json()["errors"][0]["msg"]
    response = post(client, write_token, url, {"status": "peut-être"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["msg"] == "Choisissez : acceptée, acceptée en partie ou rejetée."
    workflow.apply(example["a"], "demander_correction", example["instructor"], motivation="Ajoutez la facture.")
    response = post(client, write_token, url, {"status": "acceptee"})
    assert response.status_code == 409
    assert response.json()["detail"] == "Les factures se valident sur un dossier en instruction."
    line.refresh_from_db()
    assert line.status == LineStatus.PENDING and not Payment.objects.exists()


def test_read_only_tokens_and_other_regions_cannot_write(client, example, read_token, other_token):
    validate_all(example)
    order = issued(payments.create_order(example["call"], 0, example["instructor"]))
    line = example["lines"]["a_formation"]
    for token, status in ((read_token, 403), (other_token, 404)):
        assert post(client, token, f"/invoice-lines/{line.pk}/validation",
                    {"status": "rejetee", "reason": "Non"}).status_code == status
        assert post(client, token, f"/payment-orders/{order.pk}/paid",
                    {"paid_on": "2024-06-28", "reference": "Mandat"}).status_code == status
    line.refresh_from_db()
    order.refresh_from_db()
    assert line.status == LineStatus.ACCEPTED and order.paid_on is None


def test_marking_an_order_paid(client, example, write_token):
    validate_all(example)
    order = issued(payments.create_order(example["call"], 0, example["instructor"]))
    url = f"/payment-orders/{order.pk}/paid"
    response = post(client, write_token, url, {"paid_on": "2024-06-28", "reference": " "})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"loc": ["body", "payload", "reference"], "type": "value_error",
                                          "msg": "Indiquez la référence du paiement (mandat, bordereau de la "
                                                 "paierie…)."}]
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = post(client, write_token, url, {"paid_on": tomorrow, "reference": "Mandat"})
    assert response.json()["errors"][0]["msg"] == "La date du versement ne peut pas être dans le futur."
    assert post(client, write_token, url, {"reference": "Mandat"}).json()["errors"][0]["loc"][-1] == "paid_on"
    assert post(client, write_token, url, {"paid_on": "28/06/2024", "reference": "Mandat"}).status_code == 422
    response = post(client, write_token, url, {"paid_on": "2024-06-28", "reference": "Mandat 2024-0042"})
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["paid_on"]) == ("verse", "2024-06-28")
    assert set(order.payments.values_list("status", flat=True)) == {PaymentStatus.PAID}
    response = post(client, write_token, url, {"paid_on": "2024-06-29", "reference": "Encore"})
    assert response.status_code == 409 and response.json()["detail"] == "Cet ordre est déjà marqué comme payé."


def test_setting_a_conventions_total_and_the_balances_it_binds(client, example, write_token, read_token,
                                                               other_token):
    """The avenant of the CH de Lisieux: ceilings 8 000 € and 3 000 €, a total of 9 500 €; after dossier a's
    verdicts 9 000 € are used (2 000 € before the platform, 4 500 € and 2 500 €): the total leaves 500 €."""
    g1, instructor, lines = example["g1"], example["instructor"], example["lines"]
    url = f"/ledgers/{g1.pk}/total"
    for token, status in ((read_token, 403), (other_token, 404)):
        assert post(client, token, url, {"total": "9500", "reason": "Avenant"}).status_code == status
    response = post(client, write_token, url, {"total": "11000.01", "reason": "Avenant"})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"loc": ["body", "payload", "total"], "type": "value_error",
                                          "msg": "Le montant total (11\u202f000,01\u00a0€) ne peut pas dépasser la "
                                                 "somme des plafonds des actions (11\u202f000,00\u00a0€)."}]
    response = post(client, write_token, url, {"total": "9500.001", "reason": ""})
    assert {e["loc"][-1]: e["msg"] for e in response.json()["errors"]} == {
        "total": "Le montant s'écrit en euros et centimes, deux décimales au plus.",
        "reason": "Indiquez le motif : par exemple, le montant total inscrit dans la convention signée."}
    g1.refresh_from_db()
    assert g1.total == Decimal("11000.00")

    response = post(client, write_token, url, {"total": "9500.00", "reason": "Article 3 de l'avenant."})
    assert response.status_code == 200, response.content
    assert (response.json()["total"], response.json()["ceilings"]) == ("9500.00", "11000.00")
    assert AuditRecord.objects.get(action="grant:total").details["reason"] == "Article 3 de l'avenant."
    payments.validate_line(InvoiceLine.objects.get(pk=lines["a_formation"].pk), instructor, LineStatus.ACCEPTED)
    payments.validate_line(InvoiceLine.objects.get(pk=lines["a_rails"].pk), instructor, LineStatus.PARTIAL,
                           accepted_amount="5000", reason="Seuls 5 000 € concernent l'action.")
    data = get(client, read_token, f"/ledgers/{g1.pk}").json()
    assert (data["available"], data["available_reason"]) == (
        "500.00", "les plafonds des actions laissent 2\u202f000,00\u00a0€, mais le total de la convention n'en "
                  "laisse que 500,00\u00a0€")
    assert data["balance"] == {"total": "9500.00", "paid": "2000.00", "pending": "7000.00", "remaining": "500.00"}
    assert [(a["title"], a["ceiling_remaining"], a["remaining"], a["remaining_reason"]) for a in data["actions"]] == [
        ("Formation des managers", "1500.00", "500.00", "plafond de l'action : 1\u202f500,00\u00a0€ restants, mais "
                                                        "le total de la convention n'en laisse que 500,00\u00a0€"),
        ("Rails de transfert", "500.00", "500.00", ""),
    ]
    listed = {g["convention_reference"]: g for g in get(client, read_token, "/ledgers").json()["items"]}
    assert listed["AVENANT-2022-1"]["actions"] == data["actions"]
    assert listed["CONV-2023-3"]["available_reason"] == ""


def test_the_openapi_document_lists_the_payment_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/ledgers", "/api/v1/ledgers/{grant_id}", "/api/v1/calls/{slug}/proofs-dossiers",
            "/api/v1/payments", "/api/v1/payment-orders", "/api/v1/payment-orders/{order_id}",
            "/api/v1/invoice-lines/{line_id}/validation", "/api/v1/payment-orders/{order_id}/paid"} <= set(paths)


# --- a fixed number of queries -----------------------------------------------------------------

def queries(client, token, url, **params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = get(client, token, url, **params)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries)


def grow(example, start, n):
    """``n`` more legal entities, each with a grant of two actions, a proofs dossier with an invoice per action
    validated and accepted, and its own payment order (every other one paid)."""
    call, instructor = example["call"], example["instructor"]
    for i in range(start, start + n):
        entity = LegalEntityFactory(finess=f"59{i:07d}", siren="", name=f"ENTITÉ {i}")
        est = EstablishmentFactory(finess=f"62{i:07d}", siret="", name=f"ÉTABLISSEMENT {i}", legal_entity=entity)
        grant = make_grant(est, ["1000", "500"], year=2023, reference=f"CONV-CROISSANCE-{i}")
        dossier = proofs_dossier(call, est, paris(2024, 3, 1, 9))
        for action in grant.actions.all():
            payments.validate_line(invoice(dossier, action, "400"), instructor, LineStatus.ACCEPTED)
        workflow.apply(dossier, "accepter", instructor)
        order = issued(payments.create_order(call, 0, instructor))
        if i % 2:
            payments.mark_paid(order, instructor, dt.date(2024, 6, 28), f"Mandat {i}")


def test_the_number_of_queries_does_not_depend_on_the_number_of_rows(client, example, read_token):
    paid_first_window(example)
    slug = example["call"].slug
    order = PaymentOrder.objects.get()
    urls = [("/ledgers", {}), ("/ledgers", {"call_year": 2023}), (f"/ledgers/{example['g1'].pk}", {}),
            (f"/calls/{slug}/proofs-dossiers", {}), ("/payments", {}), ("/payments", {"call": slug, "window": 0}),
            ("/payment-orders", {}), (f"/payment-orders/{order.pk}", {})]
    grow(example, 0, 2)
    get(client, read_token, "/ledgers")  # the token's first use is recorded once (throttled afterwards)
    small = {url + str(params): queries(client, read_token, url, **params) for url, params in urls}
    grow(example, 2, 8)
    large = {url + str(params): queries(client, read_token, url, **params) for url, params in urls}
    assert len(get(client, read_token, "/payment-orders").json()["items"]) == 11
    assert len(get(client, read_token, f"/calls/{slug}/proofs-dossiers").json()["items"]) == 13
    assert small == large, (small, large)
    assert Decimal(get(client, read_token, "/payments", call=slug, window=0, limit=200).json()["items"][0]["amount"])
