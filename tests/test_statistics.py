"""Statistics of a call, a region and the country (issue 13): exact figures on a realistic set, a query count that
does not grow with the dossiers, the downloads, the pages' permissions and the national reader's confinement.

The set: ``tests.statistics_data`` (Hauts-de-France's 2024 and 2025 calls, Grand Est's call, a grant imported
from 2021).
"""

import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from guichet.accounts.models import Role
from guichet.dossiers.models import State
from guichet.funding.models import Grant
from guichet.reporting import statistics
from tests.factories import CallFactory, InstructorFactory, UserFactory
from tests.statistics_data import GHT_NAME, SCHEMA, build_data, dossier, establishments, grant, paris

D = Decimal


@pytest.fixture
def data(db):
    return build_data()


def values(figure, index=0):
    return {row.key: row.values[index] for row in figure.rows}


def test_dossier_figures_of_a_call(data):
    scope = statistics.for_call(data["call_a"])
    assert values(statistics.dossiers_by_state(scope)) == {
        "en_construction": 1, "en_instruction": 1, "accepte": 3, "refuse": 1, "sans_suite": 1}
    assert values(statistics.dossiers_by(scope, "secteurs")) == {"sanitaire": 5, "medico_social": 2}
    assert values(statistics.dossiers_by(scope, "statuts")) == {"public": 3, "prive": 2, "espic": 2}
    assert values(statistics.dossiers_by(scope, "categories")) == {"Centre hospitalier": 5, "EHPAD": 2}
    assert values(statistics.dossiers_by(scope, "departements")) == {"59": 5, "62": 2}
    assert values(statistics.dossiers_by(scope, "ght")) == {"membre": 3, "hors": 4}
    weeks = statistics.filed_and_decided_per_week(scope)
    assert [(r.key, r.values) for r in weeks.rows] == [
        ("2024-03-04", (3, 0)), ("2024-03-11", (2, 1)), ("2024-03-18", (2, 1)), ("2024-03-25", (0, 1)),
        ("2024-04-01", (0, 0)), ("2024-04-08", (0, 1)), ("2024-04-15", (0, 0)), ("2024-04-22", (0, 1))]
    assert weeks.rows[0].label == "semaine du 04/03/2024"


def test_actions_by_theme_and_sub_theme(data):
    themes, subs = statistics.actions_by_theme(statistics.for_call(data["call_a"]))
    assert values(themes)["sante_travail"] == 4 and values(themes, 1)["sante_travail"] == 3
    assert values(themes)["relations_climat"] == 2 and values(themes, 1)["relations_climat"] == 2
    assert values(themes)["egalite_chances"] == 0  # the draft's action is not counted
    assert {k: v for k, v in values(subs).items() if v} == {
        "sante_travail/organisation_temps": 3, "sante_travail/qualite_prevention": 2,
        "relations_climat/dialogue_social": 1, "relations_climat/relations_collegues": 1}
    assert values(subs, 1)["sante_travail/organisation_temps"] == 2
    assert "6 actions au total" in themes.note
    assert subs.rows[0].label == "Contenu du travail — Autonomie"


def test_money_of_a_call(data):
    scope = statistics.for_call(data["call_a"])
    assert values(statistics.amounts(scope)) == {
        "demande": D("48000.00"), "propose": D("16000.00"), "accorde": D("14500.00"), "verse": D("9500.00"),
        "engage": D("3000.00")}
    assert [(r.label, r.values) for r in statistics.payments_by_window(scope).rows] == [
        ("2024 — 1er semestre", (D("0.00"), D("500.00"), D("1500.00"))),
        ("2024 — 2nd semestre", (D("2500.00"), D("0.00"), D("8000.00")))]
    (row,) = statistics.envelope(scope).rows
    assert row.values == (D("100000.00"), D("14500.00"), D("14500.00"), D("14.5"))
    assert values(statistics.proofs_progress(scope)) == {
        "plafonds": D("14500.00"), "verse": D("9500.00"), "engage": D("3000.00"), "reste": D("2000.00"),
        "actions": None, "actions_soldees": None, "subventions": None, "subventions_cloturees": None}
    assert {k: v for k, v in values(statistics.proofs_progress(scope), 1).items() if v is not None} == {
        "actions": 3, "actions_soldees": 1, "subventions": 2, "subventions_cloturees": 1}


def test_processing_time_median_and_ninth_decile(data):
    # Call 2024: 10, 12.5, 20, 30, 40 days → median 20, 9th decile rank ⌈4.5⌉ = 5 → 40.
    assert statistics.processing_time(statistics.for_call(data["call_a"])) == statistics.ProcessingTime(
        5, D("20.0"), D("40.0"))
    # Call 2025: 1 and 4 days → median 2.5 (the mean of the two), 9th decile rank ⌈1.8⌉ = 2 → 4.
    assert statistics.processing_time(statistics.for_call(data["call_b"])) == statistics.ProcessingTime(
        2, D("2.5"), D("4.0"))
    # Region: 1, 4, 10, 12.5, 20, 30, 40 → median 12.5, rank ⌈6.3⌉ = 7 → 40.
    assert statistics.processing_time(statistics.for_region(data["hdf"])) == statistics.ProcessingTime(
        7, D("12.5"), D("40.0"))
    # Country: 1, 2, 4, 10, 12.5, 20, 30, 40 → median (10 + 12.5) / 2 = 11.25 → 11.3; rank ⌈7.2⌉ = 8 → 40.
    assert statistics.processing_time(statistics.for_country()) == statistics.ProcessingTime(
        8, D("11.3"), D("40.0"))
    figure = statistics.processing_time_figure(statistics.for_call(data["call_b"]))
    assert figure.rows[1].label == "Temps habituel de traitement" and figure.rows[1].values == (D("4.0"),)


def test_region_counts_every_call_and_the_imported_grants(data):
    scope = statistics.for_region(data["hdf"])
    assert statistics.dossiers_by_state(scope).total() == 9  # the proofs call's dossier is not an application
    amounts = values(statistics.amounts(scope))
    assert amounts["accorde"] == D("17500.00") and amounts["verse"] == D("12500.00")
    assert [(r.key, r.values) for r in statistics.evolution(scope).rows] == [
        ("2021", (0, 0, 1, 1, D("3000.00"), D("3000.00"))),
        ("2024", (7, 3, 2, 0, D("14500.00"), D("9500.00"))),
        ("2025", (2, 1, 0, 0, D("0.00"), D("0.00")))]
    progress = values(statistics.proofs_progress(scope), 1)
    assert progress["actions_soldees"] == 2 and progress["subventions"] == 3
    assert [r.label for r in statistics.envelope(scope).rows] == ["CLACT-QVCT 2025", "CLACT-QVCT 2024 Hauts-de-France"]


def test_national_figures_per_region_and_without_any_name(data):
    scope = statistics.for_country()
    stats = statistics.compute(scope)
    assert stats.filed == 10
    regions = {r.key: r.values for r in stats.figure("regions").rows}
    assert regions["hauts-de-france"] == (9, 4, D("150000.00"), D("17500.00"), D("12500.00"))
    assert regions["grand-est"] == (1, 1, D("200000.00"), D("1000.00"), D("0.00"))
    text = repr(stats.figures)
    for name in ("ROUBAIX", "TILLEULS", "SAINT VINCENT", "METZ", GHT_NAME, "Jeanne", "Paul", "Camille",
                 "exemple.fr", "CLACT-QVCT 2024 Hauts-de-France", "CLACT-2024-001"):
        assert name not in text
    assert {r.label for r in stats.figure("enveloppe").rows} == {"Appel à projets 2024", "Appel à projets 2025"}


def _count_queries(scope):
    with CaptureQueriesContext(connection) as queries:
        statistics.compute(scope)
    return len(queries)


@pytest.mark.parametrize("level", ["call", "region", "country"])
def test_the_number_of_queries_does_not_grow_with_the_dossiers(data, level):
    def scope():
        return {"call": lambda: statistics.for_call(data["call_a"]),
                "region": lambda: statistics.for_region(data["hdf"]), "country": statistics.for_country}[level]()

    before = _count_queries(scope())
    e1, e2, e3, _ = establishments()
    for day in range(1, 25):
        d = dossier(data["call_a"], (e1, e2, e3)[day % 3], State.ACCEPTE, paris(2024, 4, day, 9), day % 7,
                    1000 + day, [["sante_travail/organisation_temps"]])
        grant(data["call_a"], data["hdf"], d, d.establishment, f"CLACT-2024-1{day:02}", "500", ["500"])
    assert _count_queries(scope()) == before
    assert before <= 35  # about thirty GROUP BY queries, whatever the volume


# --- pages and downloads ------------------------------------------------------------------------------

@pytest.fixture
def national(db):
    return UserFactory(email="lecteur@sante.gouv.fr", role=Role.NATIONAL)


def test_call_page_for_its_instructor(client, data):
    client.force_login(data["staff"])
    workspace = client.get(reverse("instruction:workspace", args=["clact-2024-hdf"]))
    assert reverse("reporting:call_statistics", args=["clact-2024-hdf"]) in workspace.content.decode()
    response = client.get(reverse("reporting:call_statistics", args=["clact-2024-hdf"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="img"' in html and "Voir les données" in html and "Temps habituel de traitement" in html
    assert "40,0\u00a0j" in html and "14\u202f500,00\u00a0€" in html
    assert " style=" not in html and "<style" not in html and "<script>" not in html


def test_downloads_csv_xlsx_svg(client, data):
    client.force_login(data["staff"])
    url = reverse("reporting:call_statistics_download", args=["clact-2024-hdf", "montants", "csv"])
    response = client.get(url)
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0] == "Montant;Euros" and lines[1] == "Demandé;48000,00"
    response = client.get(reverse("reporting:call_statistics_download", args=["clact-2024-hdf", "etats", "xlsx"]))
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Dossiers déposés par état" and rows[1] == ("État", "Dossiers")
    assert ("Accepté", 3) in rows
    response = client.get(reverse("reporting:call_statistics_download", args=["clact-2024-hdf", "themes", "svg"]))
    assert response["Content-Type"].startswith("image/svg+xml") and "attachment" in response["Content-Disposition"]
    svg = response.content.decode()
    assert 'role="img"' in svg and 'aria-labelledby="graphique-themes-titre graphique-themes-desc"' in svg
    assert "style=" not in svg
    for bad in ("inconnu", "etats.pdf"):
        assert client.get(f"/suivi/appels/clact-2024-hdf/statistiques/{bad}").status_code == 404
    assert client.get(reverse("reporting:call_statistics_download",
                              args=["clact-2024-hdf", "justificatifs", "svg"])).status_code == 404  # no chart


def test_call_and_region_pages_permissions(client, data, national):
    call_url = reverse("reporting:call_statistics", args=["clact-2024-hdf"])
    region_url = reverse("reporting:region_statistics_of", args=["hauts-de-france"])
    csv_url = reverse("reporting:region_statistics_download", args=["hauts-de-france", "etats", "csv"])
    other = InstructorFactory(region=data["grand_est"])
    superuser = UserFactory(is_superuser=True, is_staff=True)
    expected = [(data["staff"], 200, 200), (other, 404, 404), (data["applicant"], 404, 404),
                (data["member"], 404, 404), (national, 403, 403), (superuser, 200, 200)]
    for user, call_status, region_status in expected:
        client.force_login(user)
        assert client.get(call_url).status_code == call_status, user
        assert client.get(region_url).status_code == region_status, user
        assert client.get(csv_url).status_code == region_status, user
    client.logout()
    assert client.get(call_url).status_code == 302
    client.force_login(data["staff"])
    assert client.get(reverse("reporting:region_statistics")).url == region_url
    client.force_login(superuser)
    assert "Grand Est" in client.get(reverse("reporting:region_statistics")).content.decode()


def test_national_page_permissions(client, data, national):
    url = reverse("reporting:national_statistics")
    csv_url = reverse("reporting:national_statistics_download", args=["regions", "csv"])
    for user, status in ((national, 200), (UserFactory(is_superuser=True, is_staff=True), 200),
                         (data["staff"], 403), (data["applicant"], 403), (data["member"], 403)):
        client.force_login(user)
        assert client.get(url).status_code == status, user
        assert client.get(csv_url).status_code == status, user
    client.force_login(national)
    html = client.get(url).content.decode()
    assert "Hauts-de-France" in html and "Par région" in html
    for name in ("ROUBAIX", "TILLEULS", GHT_NAME, "Jeanne", "jeanne.deposante", "CLACT-2024-001"):
        assert name not in html


def test_the_national_reader_reaches_nothing_else(client, data, national):
    client.force_login(national)
    d1, g1 = data["d1"], data["g1"]
    for url in (reverse("dossiers:summary", args=[d1.pk]), reverse("instruction:dossier", args=[d1.pk]),
                reverse("instruction:workspace", args=["clact-2024-hdf"]), reverse("instruction:calls"),
                reverse("payments:ledger", args=[g1.pk]), reverse("funding:list"), reverse("funding:mine"),
                reverse("dossiers:mine"), reverse("dossiers:start", args=["clact-2024-hdf"]),
                reverse("establishments:mine"), reverse("establishments:search"),
                reverse("reporting:workspace_export", args=["clact-2024-hdf", "csv"]),
                "/api/v1/calls/clact-2024-hdf/dossiers", "/admin/"):
        assert client.get(url).status_code in (403, 404), url
    # The scopes give such an account nothing, even without the middleware's allow-list.
    from guichet.calls.models import Call
    from guichet.dossiers.models import Dossier

    assert not Dossier.objects.visible_to(national).exists()
    assert not Call.objects.instructed_by(national).exists()
    assert not Grant.objects.visible_to(national).exists()
    home = client.get("/")
    assert home.status_code == 200
    html = home.content.decode()
    assert reverse("reporting:national_statistics") in html and "Statistiques nationales" in html
    assert reverse("dossiers:mine") not in html and reverse("instruction:calls") not in html


def test_navigation_of_each_role(data, national):
    from guichet.accounts.navigation import nav_items

    assert [i.key for i in nav_items(national)] == ["calls", "national"]
    assert "statistics" in [i.key for i in nav_items(data["staff"])]
    assert "statistics" not in [i.key for i in nav_items(data["applicant"])]


def test_too_many_weeks_for_a_chart_are_a_table_only(data):
    from guichet.reporting import charts

    old = CallFactory(region=data["grand_est"], year=2021, slug="clact-2021-ge", schema=SCHEMA)
    e4 = establishments()[3]
    dossier(old, e4, State.REFUSE, paris(2021, 1, 4, 10), 3)
    weeks = statistics.filed_and_decided_per_week(statistics.for_region(data["grand_est"]))
    assert len(weeks.rows) > statistics.MAX_CHARTED_WEEKS and weeks.charted == () and charts.svg(weeks) == ""
    assert "trop pour un graphique lisible" in weeks.note
    call_weeks = statistics.filed_and_decided_per_week(statistics.for_call(data["call_a"]))
    assert 'role="img"' in charts.svg(call_weeks)
