"""Statistics of a call, a region and the country (issue 13): exact figures on a realistic set, a query count that
does not grow with the dossiers, the downloads, the pages' permissions and the national reader's confinement.

The set: Hauts-de-France's 2024 call with dossiers in every state from three establishments (sanitaire public
in a GHT, médico-social privé, sanitaire ESPIC), actions under HAS QVCT themes, a commission, two grants with
payments in two windows of a proofs call; its 2025 call; a grant imported from 2021; Grand Est's call.
"""

import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from guichet.accounts.models import Role
from guichet.calls.models import CallKind
from guichet.commission.models import ActionLine, AgendaItem, Decision, Session, SessionMember
from guichet.dossiers.models import State
from guichet.funding.models import Grant, GrantAction, GrantStatus, Payment, PaymentStatus
from guichet.reporting import statistics
from tests.factories import (
    CallFactory,
    DossierFactory,
    EstablishmentFactory,
    InstructorFactory,
    LegalEntityFactory,
    UserFactory,
    region,
)

PARIS = ZoneInfo("Europe/Paris")
D = Decimal
SCHEMA = {"sections": [{"key": "projet", "title": "Le projet", "fields": [
    {"key": "total_montant_demande", "type": "amount", "label": "Montant total demandé"},
    {"key": "actions", "type": "repeat", "label": "Actions", "min_rows": 0, "fields": [
        {"key": "intitule", "type": "text", "label": "Intitulé"},
        {"key": "theme_qvct", "type": "qvct_theme", "label": "Thèmes QVCT"},
    ]},
]}]}
GHT_NAME = "GHT Lille Métropole Flandre intérieure"


def paris(*args):
    return dt.datetime(*args, tzinfo=PARIS)


def establishments():
    hdf = region("32")
    e1 = EstablishmentFactory(finess="590780193", name="CENTRE HOSPITALIER DE ROUBAIX", sector="sanitaire",
                              legal_status="public", category="Centre hospitalier", department="59", ght=GHT_NAME,
                              legal_entity=LegalEntityFactory(finess="590780250", name="CH ROUBAIX EJ"), region=hdf)
    e2 = EstablishmentFactory(finess="620000059", name="EHPAD LES TILLEULS", sector="medico_social",
                              legal_status="prive", category="EHPAD", department="62",
                              legal_entity=LegalEntityFactory(finess="620000018", name="TILLEULS EJ"), region=hdf)
    e3 = EstablishmentFactory(finess="590000238", name="HOPITAL SAINT VINCENT", sector="sanitaire",
                              legal_status="espic", category="Centre hospitalier", department="59",
                              legal_entity=LegalEntityFactory(finess="590000220", name="GHICL EJ"), region=hdf)
    e4 = EstablishmentFactory(finess="570000026", name="EHPAD DE METZ", sector="medico_social", legal_status="public",
                              category="EHPAD", department="57",
                              legal_entity=LegalEntityFactory(finess="570000018", name="METZ EJ"), region=region("44"))
    return e1, e2, e3, e4


def dossier(call, establishment, state, filed, decided_days=None, amount=None, actions=(), creator=None):
    answers = {"actions": [{"intitule": f"Action {i + 1}", "theme_qvct": list(codes)} for i, codes in
                           enumerate(actions)]}
    if amount is not None:
        answers["total_montant_demande"] = str(amount)
    extra = {"created_by": creator} if creator else {}
    return DossierFactory(
        call=call, establishment=establishment, state=state, answers=answers,
        first_filed_at=None if state == State.BROUILLON else filed, last_filed_at=filed,
        decided_at=filed + dt.timedelta(days=decided_days) if decided_days is not None else None, **extra)


def grant(call, reg, dossier_, beneficiary, reference, total, ceilings, year=2024, paid_before=(), **extra):
    g = Grant.objects.create(region=reg, call=call, call_year=year, dossier=dossier_, beneficiary=beneficiary,
                             legal_entity=beneficiary.legal_entity, rate=D("50"), total=D(total),
                             convention_reference=reference, status=extra.pop("status", GrantStatus.ACTIVE), **extra)
    actions = []
    for position, ceiling in enumerate(ceilings, start=1):
        before = D(paid_before[position - 1]) if position <= len(paid_before) else D(0)
        actions.append(GrantAction.objects.create(grant=g, position=position, title=f"Action {position}",
                                                  ceiling=D(ceiling), paid_before=before))
    return g, actions


@pytest.fixture
def data(db):
    return build_data()


def build_data():
    """The realistic set of the module docstring (also the browser test's)."""
    hdf, grand_est = region("32"), region("44")
    e1, e2, e3, e4 = establishments()
    call_a = CallFactory(region=hdf, year=2024, title="CLACT-QVCT 2024 Hauts-de-France", slug="clact-2024-hdf",
                         envelope=D("100000.00"), schema=SCHEMA)
    call_b = CallFactory(region=hdf, year=2025, title="CLACT-QVCT 2025", slug="clact-2025-hdf",
                         envelope=D("50000.00"), schema=SCHEMA)
    call_c = CallFactory(region=grand_est, year=2024, title="CLACT Grand Est 2024", slug="clact-2024-ge",
                         envelope=D("200000.00"), schema=SCHEMA)
    proofs = CallFactory(region=hdf, year=2024, kind=CallKind.PROOFS, title="Justificatifs 2024",
                         slug="justificatifs-2024", envelope=None, schema=SCHEMA)
    org, qual = "sante_travail/organisation_temps", "sante_travail/qualite_prevention"
    applicant = UserFactory(email="jeanne.deposante@exemple.fr", first_name="Jeanne", last_name="Déposante")
    d1 = dossier(call_a, e1, State.ACCEPTE, paris(2024, 3, 4, 10), 10, 10000,
                 [[org], [qual, "relations_climat/dialogue_social"]], creator=applicant)
    d2 = dossier(call_a, e2, State.ACCEPTE, paris(2024, 3, 5, 9), 20, 20000, [["relations_climat/relations_collegues"]])
    dossier(call_a, e1, State.ACCEPTE, paris(2024, 3, 6, 10), 12.5, 4000, [[org, qual]])
    d3 = dossier(call_a, e3, State.REFUSE, paris(2024, 3, 12, 10), 30, 5000, [[org]])
    dossier(call_a, e1, State.SANS_SUITE, paris(2024, 3, 13, 10), 40)
    dossier(call_a, e2, State.EN_INSTRUCTION, paris(2024, 3, 20, 10), None, 8000, [[]])
    # Sunday 23:30 UTC is Monday 00:30 in Paris: the week of 18 March.
    dossier(call_a, e3, State.EN_CONSTRUCTION, dt.datetime(2024, 3, 17, 23, 30, tzinfo=dt.UTC), None, 1000)
    dossier(call_a, e1, State.BROUILLON, paris(2024, 3, 22, 10), None, 99999, [["egalite_chances/diversite"]])
    dossier(call_b, e1, State.ACCEPTE, paris(2025, 1, 6, 10), 1)
    dossier(call_b, e2, State.REFUSE, paris(2025, 1, 7, 10), 4)
    d_ge = dossier(call_c, e4, State.ACCEPTE, paris(2024, 5, 6, 10), 2, 3000)
    proofs_dossier = dossier(proofs, e1, State.EN_INSTRUCTION, paris(2024, 5, 2, 10))

    # The commission of the 2024 call: two accepted, one refused (its lines are not committed).
    staff = InstructorFactory(email="paul.instructeur@ars.sante.fr", first_name="Paul", last_name="Instructeur")
    session = Session.objects.create(call=call_a, title="Commission du 2 avril", held_on=paris(2024, 4, 2, 14),
                                     created_by=staff)
    member = UserFactory(email="camille.membre@exemple.fr")
    SessionMember.objects.create(session=session, user=member)
    for order, (d, decision, lines) in enumerate((
            (d1, Decision.ACCEPT, [(4000, 4000), (3000, 2500)]), (d2, Decision.ACCEPT, [(9000, 8000)]),
            (d3, Decision.REFUSE, [(2000, None)]))):
        item = AgendaItem.objects.create(session=session, dossier=d, order=order, decision=decision)
        for position, (proposed, granted) in enumerate(lines, start=1):
            ActionLine.objects.create(item=item, position=position, title=f"Action {position}", cost=D(10000),
                                      eligible_cost=D(10000), requested=D(5000), proposed=D(proposed),
                                      granted=None if granted is None else D(granted))
    g1, (a11, a12) = grant(call_a, hdf, d1, e1, "CLACT-2024-001", "6500", ["4000", "2500"])
    g2, (a21,) = grant(call_a, hdf, d2, e2, "CLACT-2024-002", "8000", ["8000"], status=GrantStatus.CLOSED)
    g0, (a01,) = grant(None, hdf, None, e3, "CLACT-2021-017", "3000", ["3000"], year=2021, paid_before=["1000"],
                       imported=True)
    grant(call_c, grand_est, d_ge, e4, "GE-2024-001", "1000", ["1000"])
    windows = {0: ("1er semestre", dt.date(2024, 6, 30)), 1: ("2nd semestre", dt.date(2024, 12, 31))}

    def pay(action, amount, window, status):
        label, pay_by = windows[window]
        Payment.objects.create(action=action, dossier=proofs_dossier, call=proofs, window_index=window,
                               window_label=label, pay_by=pay_by, amount=D(amount), status=status)

    pay(a11, "1500", 0, PaymentStatus.PAID)
    pay(a11, "2500", 1, PaymentStatus.SCHEDULED)
    pay(a12, "500", 0, PaymentStatus.ORDERED)
    pay(a21, "8000", 1, PaymentStatus.PAID)
    pay(a21, "999", 0, PaymentStatus.CANCELLED)
    pay(a01, "2000", 0, PaymentStatus.PAID)
    return {"call_a": call_a, "call_b": call_b, "call_c": call_c, "hdf": hdf, "grand_est": grand_est,
            "staff": staff, "member": member, "applicant": applicant, "d1": d1, "g1": g1}


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
