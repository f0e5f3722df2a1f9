"""The grants and payments export (issue 13): one row per funded action with its ceiling, what was paid before the
platform, scheduled, ordered, paid and what remains — the funding app's own amounts — as CSV, XLSX and ODS;
the region's grants only, ARS staff only; a fixed number of queries; a job beyond the threshold."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from guichet.funding import balances, payments
from guichet.funding.models import Grant, Payment, PaymentStatus
from guichet.reporting.models import ExportJob, ExportState
from tests.factories import CallFactory, EstablishmentFactory, InstructorFactory, UserFactory, region
from tests.test_payment_pages import WINDOWS, build_example, validate_all
from tests.test_payments import issued, make_grant
from tests.test_reporting_exports import ods_sheets

pytestmark = pytest.mark.django_db


@pytest.fixture
def example(db):
    call = CallFactory(kind="proofs", year=2024, envelope=None, payment_windows=WINDOWS,
                       covered_years=[2020, 2021, 2022, 2023, 2024])
    found = build_example(call, InstructorFactory(email="instructeur.hdf@ars.sante.fr"))
    validate_all(found)
    order = issued(payments.create_order(call, 0, found["instructor"]))
    payments.mark_paid(order, found["instructor"], dt.date(2024, 6, 28), "Mandat 2024-0042")
    return found


def sheet(client, extension="xlsx"):
    response = client.get(reverse("reporting:grants_export", args=[extension]))
    assert response.status_code == 200, response
    assert "attachment" in response["Content-Disposition"]
    return b"".join(response.streaming_content)


def by_action(example):
    """The expected figures of each action, from the funding app (balances, stored payments)."""
    _, found = balances.compute([example[g] for g in ("g1", "g2", "g3")])
    sums = {}
    for p in Payment.objects.exclude(status=PaymentStatus.CANCELLED):
        key = (p.action_id, p.status)
        sums[key] = sums.get(key, Decimal(0)) + p.amount
    return found, sums


def test_xlsx_one_row_per_action_with_the_funding_amounts(client, example):
    client.force_login(example["instructor"])
    wb = load_workbook(io.BytesIO(sheet(client)))
    ws = wb["Subventions"]
    header = [c.value for c in ws[2]]
    assert header[:10] == ["Numéro du dossier", "Établissement porteur", "FINESS", "SIRET", "Appel à projets", "Année",
                           "Référence de la convention", "Décidée le", "Montant total de la subvention", "État"]
    assert header[10:] == ["Rang", "Action", "Plafond", "Versé avant la plateforme", "Prévu", "Ordonnancé",
                           "Versé sur la plateforme", "Reste disponible"]
    rows = [{h: c for h, c in zip(header, r, strict=True)} for r in ws.iter_rows(min_row=3)]
    assert len(rows) == 4  # Formation, Rails (AVENANT-2022-1), Repos (CONV-2024-7), Ergonomie (CONV-2023-3)
    found, sums = by_action(example)
    for action in ("formation", "rails", "repos", "ergonomie"):
        a = example[action]
        row = next(r for r in rows if r["Action"].value == a.title)
        assert row["Plafond"].value == pytest.approx(float(a.ceiling)) and "€" in row["Plafond"].number_format
        assert row["Versé avant la plateforme"].value == pytest.approx(float(a.paid_before))
        for column, status in (("Prévu", "prevu"), ("Ordonnancé", "ordonnance"), ("Versé sur la plateforme", "verse")):
            assert Decimal(str(row[column].value)) == sums.get((a.pk, status), Decimal(0)), (action, column)
        assert Decimal(str(row["Reste disponible"].value)) == found[a.pk].remaining
        # The sums agree with the balances: paid = before + on the platform; committed = scheduled + ordered.
        before, platform = row["Versé avant la plateforme"].value, row["Versé sur la plateforme"].value
        assert Decimal(str(before)) + Decimal(str(platform)) == found[a.pk].paid
    formation = next(r for r in rows if r["Action"].value == "Formation des managers")
    assert formation["Versé avant la plateforme"].value == 2000
    assert formation["Référence de la convention"].value == "AVENANT-2022-1"
    assert formation["FINESS"].value == example["lisieux"].finess and formation["FINESS"].data_type == "s"
    assert formation["SIRET"].value == example["lisieux"].siret
    assert formation["Appel à projets"].value == "Reprise antérieure à la plateforme"
    assert formation["Montant total de la subvention"].value == 11000
    assert any(r["Versé sur la plateforme"].value for r in rows) and any(r["Prévu"].value for r in rows)


def test_ordered_amounts_and_csv_and_ods(client, example):
    order = issued(payments.create_order(example["call"], 1, example["instructor"]))
    assert order.payments.exists()
    client.force_login(example["instructor"])
    lines = list(csv.reader(io.StringIO(sheet(client, "csv").decode("utf-8-sig")), delimiter=";"))
    header, rows = lines[0], [dict(zip(lines[0], line, strict=True)) for line in lines[1:]]
    assert "Ordonnancé" in header and len(rows) == 4
    _, sums = by_action(example)
    repos = next(r for r in rows if r["Action"] == "Salle de repos")
    ordered = sums[(example["repos"].pk, "ordonnance")]
    assert ordered > 0 and repos["Ordonnancé"] == f"{ordered:.2f}".replace(".", ",")
    assert repos["FINESS"] == f'="{example["bayeux"].finess}"'
    ods = ods_sheets(sheet(client, "ods"))["Subventions"]
    assert len(ods) == 2 + 4 and ods[1][15][2] == "Ordonnancé"


def test_another_region_sees_its_own_grants_only_and_applicants_get_403(client, example):
    other = InstructorFactory(region=region("44"))
    theirs = make_grant(EstablishmentFactory(finess="670000017", name="EHPAD Les Tilleuls"), ["1000"],
                        reference="CONV-GE-1")
    Grant.objects.filter(pk=theirs.pk).update(region=region("44"))
    client.force_login(other)
    lines = sheet(client, "csv").decode("utf-8-sig").splitlines()
    assert len(lines) == 2 and "CONV-GE-1" in lines[1]  # none of Hauts-de-France's grants
    client.force_login(example["instructor"])
    assert "CONV-GE-1" not in sheet(client, "csv").decode("utf-8-sig")
    for user in (UserFactory(), example["a"].created_by):
        client.force_login(user)
        assert client.get(reverse("reporting:grants_export", args=["xlsx"])).status_code == 403
    client.logout()
    assert client.get(reverse("reporting:grants_export", args=["xlsx"])).status_code == 302
    client.force_login(example["instructor"])
    assert client.get(reverse("reporting:grants_export", args=["pdf"])).status_code == 404


def test_the_grants_page_offers_the_downloads(client, example):
    client.force_login(example["instructor"])
    page = client.get(reverse("funding:list")).content.decode()
    for extension in ("xlsx", "ods", "csv"):
        assert reverse("reporting:grants_export", args=[extension]) in page


@pytest.mark.parametrize("extension", ["csv", "xlsx", "ods"])
def test_queries_do_not_grow_with_the_number_of_grants(client, example, extension, django_assert_max_num_queries):
    for i in range(10):
        make_grant(EstablishmentFactory(finess=f"5900001{i:02d}"), ["1000", "2000"], reference=f"CONV-X-{i}")
    client.force_login(example["instructor"])
    with django_assert_max_num_queries(16):
        assert sheet(client, extension)


def test_many_grants_go_to_a_job_with_the_same_file(client, settings, example, django_capture_on_commit_callbacks):
    client.force_login(example["instructor"])
    direct = sheet(client, "csv")
    settings.GUICHET_EXPORT_STREAM_MAX = 2
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(reverse("reporting:grants_export", args=["csv"]))
    job = ExportJob.objects.get()
    assert response["Location"] == reverse("reporting:job", args=[job.pk])
    job.refresh_from_db()
    assert (job.state, job.kind, job.call, job.done, job.total) == (ExportState.READY, "grants", None, 4, 4)
    data = b"".join(client.get(reverse("reporting:job_file", args=[job.pk])).streaming_content)
    assert data == direct
