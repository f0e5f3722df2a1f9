"""The commission through the API: a call's ranking, sessions with their arbitration table, the decisions
applied and the grants — read-only, scoped to the token's region, money as decimal strings, a fixed
number of queries whatever the number of rows."""

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guichet.api.models import issue_token
from guichet.commission import arbitration, documents
from guichet.commission.models import AgendaItem, Criterion, Decision, Score
from guichet.core.models import AuditRecord
from guichet.dossiers.models import Dossier, State
from guichet.funding.models import Grant, GrantAction, GrantStatus
from tests.factories import (
    PARIS,
    CallFactory,
    DossierFactory,
    EstablishmentFactory,
    InstructorFactory,
    UserFactory,
    region,
)

pytestmark = pytest.mark.django_db


def action(title, cost, requested, structures=""):
    return {"intitule": title, "cout_total": str(cost), "montant_demande": str(requested),
            "structures_concernees": structures}


def in_instruction(call, actions, establishment=None) -> Dossier:
    d = DossierFactory(call=call, **({"establishment": establishment} if establishment else {}))
    Dossier.objects.filter(pk=d.pk).update(state=State.EN_INSTRUCTION, number=f"{call.region.code}-{d.pk:06d}",
                                           answers={"actions": actions})
    return Dossier.objects.get(pk=d.pk)


def get(client, token, url, **params):
    return client.get(f"/api/v1{url}", params, HTTP_AUTHORIZATION=f"Bearer {token}")


def new_session(call, instructor, title="Commission du 12 mars", **extra):
    return arbitration.create_session(call, instructor, title=title, held_on=dt.datetime(2025, 3, 12, 14, tzinfo=PARIS),
                                      place="Lille", **extra)


@pytest.fixture
def call():
    return CallFactory(slug="clact-hdf-2024", envelope=Decimal("10000.00"), cofinancing_rate=Decimal("50.00"))


@pytest.fixture
def instructor():
    return InstructorFactory(email="instructeur.hdf@ars.sante.fr")


@pytest.fixture
def token(instructor):
    return issue_token(instructor, "Tableau de bord")[1]  # read-only


@pytest.fixture
def other_region():
    """A call of Grand Est, its instructor's token, a session with a dossier, an applied decision, a grant."""
    call = CallFactory(slug="clact-grand-est", region=region("44"))
    instructor = InstructorFactory(region=region("44"))
    session = new_session(call, instructor, title="Commission Grand Est")
    dossier = in_instruction(call, [action("A", 1000, 500)])
    [item], _ = arbitration.add_to_agenda(session, [dossier], instructor)
    AgendaItem.objects.filter(pk=item.pk).update(decision=Decision.REFUSE, applied_at=session.held_on)
    grant = make_grant(call, 0)
    return SimpleNamespace(call=call, session=session, grant=grant, token=issue_token(instructor, "GE")[1])


def make_grant(call, n, status=GrantStatus.AWAITING_SIGNATURE, actions=2):
    beneficiary = EstablishmentFactory()
    grant = Grant.objects.create(region=call.region, call=call, call_year=call.year, beneficiary=beneficiary,
                                 legal_entity=beneficiary.legal_entity, rate=Decimal("50.00"),
                                 total=Decimal("1500.00") * actions, convention_reference=f"CLACT-{call.pk}-{n}",
                                 convention_starts_on=dt.date(2025, 4, 1), convention_ends_on=dt.date(2026, 12, 31),
                                 status=status)
    for position in range(1, actions + 1):
        GrantAction.objects.create(grant=grant, position=position, title=f"Action {position}",
                                   ceiling=Decimal("1500.00"), eligible_cost=Decimal("3000.00")
                                   ).establishments.set([beneficiary])
    return grant


# --- sessions ----------------------------------------------------------------------------------

def test_a_session_with_its_members_totals_and_arbitration_table(client, call, instructor, token):
    session = new_session(call, instructor, convention_starts_on=dt.date(2025, 4, 1))
    dossier = in_instruction(call, [action("Formation", 10000, 6000, "CH AUNAY-BAYEUX (140000076)"),
                                    action("Ergonomie", "999.99", 1000)])
    [item], _ = arbitration.add_to_agenda(session, [dossier], instructor)
    formation = item.lines.get(position=1)
    arbitration.set_amounts(formation, instructor, proposed="4000", granted="4500.50")
    member = UserFactory(first_name="Claire", last_name="Martin")
    arbitration.add_member(session, instructor, member, "president", "CFDT")
    arbitration.set_decision(item, instructor, Decision.ACCEPT, "Projet solide.")

    response = get(client, token, f"/sessions/{session.pk}")
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["id"], data["call"], data["title"], data["place"]) == (session.pk, "clact-hdf-2024",
                                                                      "Commission du 12 mars", "Lille")
    assert (data["status"], data["status_label"], data["decided_at"]) == ("preparation", "En préparation", None)
    assert dt.datetime.fromisoformat(data["held_on"]) == session.held_on
    assert dt.datetime.fromisoformat(data["held_on"]).utcoffset() == dt.timedelta(hours=1)
    assert data["convention_starts_on"] == "2025-04-01" and data["agenda_size"] == 1
    assert data["members"] == [{"name": "Claire Martin", "capacity": "president", "capacity_label": "Président(e)",
                                "organisation": "CFDT"}]
    assert data["totals"] == {"envelope": "10000.00", "committed": "4500.50", "remaining": "5499.50"}
    [row] = data["items"]
    assert {k: row[k] for k in ("number", "establishment", "finess", "decision", "decision_label", "motivation",
                                "applied_at")} == {
        "number": dossier.number, "establishment": "CENTRE HOSPITALIER DE LISIEUX", "finess": "140000027",
        "decision": "accepter", "decision_label": "Accepter", "motivation": "Projet solide.", "applied_at": None}
    assert row["lines"] == [
        {"position": 1, "title": "Formation", "establishments": "CH AUNAY-BAYEUX (140000076)", "cost": "10000.00",
         "eligible_cost": "10000.00", "requested": "6000.00", "proposed": "4000.00", "granted": "4500.50",
         "ceiling": "5000.00"},
        {"position": 2, "title": "Ergonomie", "establishments": "", "cost": "999.99", "eligible_cost": "999.99",
         "requested": "1000.00", "proposed": None, "granted": None, "ceiling": "499.99"},  # rounded down
    ]


def test_reading_a_session_is_on_the_audit_trail(client, call, instructor, token):
    session = new_session(call, instructor)
    assert get(client, token, f"/sessions/{session.pk}").status_code == 200
    record = AuditRecord.objects.get(action="api:read")
    assert (record.actor, record.object_type, record.object_id) == (instructor, "commission.session", str(session.pk))


def test_sessions_list_filter_and_pagination(client, call, instructor, token, other_region):
    other_call = CallFactory(region=region("32"))
    made = [new_session(call, instructor, title=f"Séance {i}") for i in range(3)]
    elsewhere = new_session(other_call, instructor, title="Autre appel")
    in_instruction_dossiers = [in_instruction(call, [action("A", 100, 50)]) for _ in range(2)]
    arbitration.add_to_agenda(made[0], in_instruction_dossiers, instructor)

    seen, cursor = [], None
    while True:
        page = get(client, token, "/sessions", limit=2, **({"cursor": cursor} if cursor else {})).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [s["id"] for s in seen] == [s.pk for s in made] + [elsewhere.pk]  # never Grand Est's
    assert seen[0]["agenda_size"] == 2 and seen[0]["call"] == "clact-hdf-2024"
    page = get(client, token, "/sessions", call="clact-hdf-2024").json()
    assert [s["title"] for s in page["items"]] == ["Séance 0", "Séance 1", "Séance 2"]
    assert get(client, token, "/sessions", cursor="x").status_code == 400
    assert get(client, token, "/sessions", limit=201).status_code == 422


# --- scoping -----------------------------------------------------------------------------------

def test_another_regions_commission_answers_404_like_nothing(client, call, instructor, token, other_region):
    for url in (f"/sessions/{other_region.session.pk}", f"/grants/{other_region.grant.pk}",
                "/calls/clact-grand-est/scores"):
        response = get(client, token, url)
        assert response.status_code == 404, url
        assert response.json() == {"detail": "Ressource introuvable."}
    assert get(client, token, "/sessions/999999").json() == {"detail": "Ressource introuvable."}
    for url in ("/sessions", "/decisions", "/grants"):
        assert get(client, token, url, call="clact-grand-est").status_code == 404, url
    assert get(client, token, "/sessions").json()["items"] == []
    assert get(client, token, "/grants").json()["items"] == []
    # Grand Est's own token sees its own.
    assert get(client, other_region.token, f"/sessions/{other_region.session.pk}").status_code == 200
    assert get(client, other_region.token, f"/grants/{other_region.grant.pk}").status_code == 200
    assert len(get(client, other_region.token, "/decisions", call="clact-grand-est").json()["items"]) == 1
    assert not AuditRecord.objects.filter(action="api:read", actor__region__code="32").exists()


def test_the_commission_endpoints_need_a_token(client, call, instructor):
    session = new_session(call, instructor)
    for url in (f"/sessions/{session.pk}", "/sessions", "/grants", "/decisions?call=clact-hdf-2024",
                "/calls/clact-hdf-2024/scores"):
        assert client.get(f"/api/v1{url}").status_code == 401, url


# --- scores ------------------------------------------------------------------------------------

def test_the_ranking_with_its_grid(client, call, instructor, token):
    impact = Criterion.objects.create(call=call, label="Impact", weight=Decimal("2"), scale_max=5, order=1)
    method = Criterion.objects.create(call=call, label="Méthode", help="Diagnostic partagé", scale_max=10, order=2)
    first, second, unscored = (in_instruction(call, [action("A", 100, 50)]) for _ in range(3))
    colleague = InstructorFactory()
    for dossier, scorer, values in [(first, instructor, (5, 10)), (first, colleague, (4, 5)),
                                    (second, instructor, (2, 5))]:
        for criterion, value in zip((impact, method), values, strict=True):
            Score.objects.create(dossier=dossier, criterion=criterion, scorer=scorer, value=value)

    response = get(client, token, "/calls/clact-hdf-2024/scores")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["criteria"] == [
        {"id": impact.pk, "label": "Impact", "help": "", "weight": "2.00", "scale_max": 5},
        {"id": method.pk, "label": "Méthode", "help": "Diagnostic partagé", "weight": "1.00", "scale_max": 10}]
    # first: (20, 14.00) → mean 17.00, spread 6.00; second: (2×0.4 + 0.5)/3 × 20 = 8.67
    assert [(d["number"], d["mean"], d["spread"], d["scorers"], d["rank"]) for d in data["dossiers"]] == [
        (first.number, "17.00", "6.00", 2, 1), (second.number, "8.67", "0.00", 1, 2),
        (unscored.number, None, None, 0, None)]
    assert data["dossiers"][0]["finess"] == "140000027"
    assert AuditRecord.objects.filter(action="api:read", object_type="calls.call").count() == 1


# --- decisions and grants ----------------------------------------------------------------------

@pytest.fixture
def decided(call, instructor, monkeypatch, django_capture_on_commit_callbacks):
    """A session whose decisions are applied: one accepted (two actions granted), one refused, one postponed."""
    monkeypatch.setattr(documents, "enqueue_decision_documents", lambda session: None)
    session = new_session(call, instructor, convention_starts_on=dt.date(2025, 4, 1),
                          convention_ends_on=dt.date(2026, 12, 31))
    partner = EstablishmentFactory(finess="140000076", siret="26140092300015", name="CH AUNAY-BAYEUX")
    accepted = in_instruction(call, [action("Formation", 10000, 5000, "Tous (140000076)"),
                                     action("Ergonomie", 3000, 1500)])
    accepted.partners.add(partner)
    refused = in_instruction(call, [action("X", 1000, 500)])
    postponed = in_instruction(call, [action("Y", 1000, 500)])
    (a, r, p), _ = arbitration.add_to_agenda(session, [accepted, refused, postponed], instructor)
    first, second = a.lines.all()
    arbitration.set_amounts(first, instructor, granted="4000")
    arbitration.set_amounts(second, instructor, granted="1499.75")
    arbitration.set_decision(a, instructor, Decision.ACCEPT, convention_kind="avenant")
    arbitration.set_decision(r, instructor, Decision.REFUSE, "Hors critères.")
    arbitration.set_decision(p, instructor, Decision.POSTPONE)
    with django_capture_on_commit_callbacks(execute=True):
        arbitration.apply_decisions(session, instructor)
    return SimpleNamespace(session=session, accepted=accepted, refused=refused, postponed=postponed,
                           grant=Grant.objects.get(dossier=accepted))


def test_applied_decisions_of_a_call(client, token, decided):
    response = get(client, token, "/decisions", call="clact-hdf-2024")
    assert response.status_code == 200, response.content
    items = response.json()["items"]
    assert [(d["number"], d["decision"], d["decision_label"], d["granted_total"], d["session"]) for d in items] == [
        (decided.accepted.number, "accepter", "Accepter", "5499.75", decided.session.pk),
        (decided.refused.number, "refuser", "Refuser", "0.00", decided.session.pk)]  # postponed: not applied
    assert items[1]["motivation"] == "Hors critères."
    assert dt.datetime.fromisoformat(items[0]["applied_at"]).tzinfo is not None
    assert get(client, token, "/decisions").status_code == 422  # the call is required
    assert get(client, token, "/decisions", call="n-existe-pas").status_code == 404


def test_a_grant_and_the_grants_list(client, instructor, token, decided):
    grant = decided.grant
    response = get(client, token, f"/grants/{grant.pk}")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["beneficiary"] == {"name": "CENTRE HOSPITALIER DE LISIEUX", "finess": "140000027"}
    assert data["legal_entity"] == {"name": "CENTRE HOSPITALIER DE LISIEUX", "finess": "140000035",
                                    "siren": "261400915"}
    assert (data["call"], data["call_year"], data["dossier"], data["session"]) == (
        "clact-hdf-2024", 2024, decided.accepted.number, decided.session.pk)
    assert (data["rate"], data["total"], data["status"], data["status_label"]) == (
        "50.00", "5499.75", "a_signer", "Convention à signer")
    assert data["convention"] == {"reference": grant.convention_reference, "kind": "avenant",
                                  "kind_label": "Avenant au CPOM", "starts_on": "2025-04-01",
                                  "ends_on": "2026-12-31", "signed_on": None}
    assert data["actions"] == [
        {"position": 1, "title": "Formation", "ceiling": "4000.00", "eligible_cost": "10000.00",
         "establishments": ["140000076"]},
        {"position": 2, "title": "Ergonomie", "ceiling": "1499.75", "eligible_cost": "3000.00",
         "establishments": ["140000027"]}]
    record = AuditRecord.objects.get(action="api:read")
    assert (record.object_type, record.object_id, record.dossier_id) == ("funding.grant", str(grant.pk),
                                                                        decided.accepted.pk)

    active = make_grant(decided.session.call, 1, status=GrantStatus.ACTIVE)
    page = get(client, token, "/grants").json()
    assert [g["id"] for g in page["items"]] == [grant.pk, active.pk]
    assert page["items"][0] == data
    assert [g["id"] for g in get(client, token, "/grants", status="active").json()["items"]] == [active.pk]
    assert get(client, token, "/grants", status="inconnu").status_code == 422
    assert get(client, token, "/grants", call="clact-hdf-2024", limit=1).json()["next_cursor"] == str(grant.pk)


def test_a_read_only_token_reads_everything(client, call, instructor, decided):
    api_token, raw = issue_token(instructor, "lecture seule")
    assert not api_token.can_write
    for url in (f"/sessions/{decided.session.pk}", "/sessions", f"/grants/{decided.grant.pk}", "/grants",
                "/decisions?call=clact-hdf-2024", "/calls/clact-hdf-2024/scores"):
        assert client.get(f"/api/v1{url}", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200, url


def test_the_openapi_document_lists_the_commission(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/calls/{slug}/scores", "/api/v1/sessions", "/api/v1/sessions/{session_id}", "/api/v1/decisions",
            "/api/v1/grants", "/api/v1/grants/{grant_id}"} <= set(paths)


# --- a fixed number of queries -----------------------------------------------------------------

def queries(client, token, url, **params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = get(client, token, url, **params)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries)


def grow(call, instructor, session, n):
    """Up to ``n`` dossiers on the session (two actions each, amounts granted), decided and applied,
    each with a grant and scores."""
    criterion = call.criteria.first() or Criterion.objects.create(call=call, label="Impact")
    have = session.items.count()
    dossiers = [in_instruction(call, [action("A", 1000, 500), action("B", 300, 100)]) for _ in range(n - have)]
    items, _ = arbitration.add_to_agenda(session, dossiers, instructor)
    for item in items:
        for line in item.lines.all():
            arbitration.set_amounts(line, instructor, proposed="50", granted="50")
        AgendaItem.objects.filter(pk=item.pk).update(decision=Decision.ACCEPT,
                                                                 applied_at=session.held_on)
        Score.objects.create(dossier=item.dossier, criterion=criterion, scorer=instructor, value=3)
        arbitration.add_member(session, instructor, UserFactory(), "membre", f"Organisme {item.pk}")
        make_grant(call, item.pk)
        new_session(call, instructor, title=f"Séance {item.pk}")


def test_the_number_of_queries_does_not_depend_on_the_number_of_rows(client, call, instructor, token):
    session = new_session(call, instructor)
    urls = [(f"/sessions/{session.pk}", {}), ("/sessions", {}), ("/decisions", {"call": call.slug}),
            ("/grants", {}), ("/grants", {"call": call.slug, "status": "a_signer"}),
            (f"/calls/{call.slug}/scores", {})]
    grow(call, instructor, session, 3)
    get(client, token, "/sessions")  # the token's first use is recorded once (throttled afterwards)
    small = {url + str(params): queries(client, token, url, **params) for url, params in urls}
    grow(call, instructor, session, 10)
    large = {url + str(params): queries(client, token, url, **params) for url, params in urls}
    assert len(get(client, token, f"/sessions/{session.pk}").json()["items"]) == 10
    assert len(get(client, token, "/grants").json()["items"]) == 10
    assert small == large, (small, large)
    few, many = make_grant(call, 900, actions=2), make_grant(call, 901, actions=10)
    assert queries(client, token, f"/grants/{few.pk}") == queries(client, token, f"/grants/{many.pk}")
