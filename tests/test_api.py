"""The REST API (/api/v1/): bearer tokens, region scoping, drafts, cursor pagination, OpenAPI."""

import datetime as dt
import re
from decimal import Decimal
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from ninja.errors import HttpError

from guichet.accounts.models import Role
from guichet.api.auth import require_write
from guichet.api.models import ApiToken, Scope, issue_token
from guichet.dossiers.models import Dossier, State
from guichet.establishments.models import Establishment
from tests.factories import (
    ArsAdminFactory,
    CallFactory,
    DossierFactory,
    EstablishmentFactory,
    InstructorFactory,
    UserFactory,
    region,
)

pytestmark = pytest.mark.django_db


def bearer(raw):
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def filed(dossier, number, state=State.EN_CONSTRUCTION):
    """Put a factory-made draft into a filed state, as the filing would."""
    now = timezone.now()
    Dossier.objects.filter(pk=dossier.pk).update(state=state, number=number, first_filed_at=now, last_filed_at=now)
    dossier.refresh_from_db()
    return dossier


@pytest.fixture
def instructor():
    return InstructorFactory(email="instructeur.hdf@ars.sante.fr")


@pytest.fixture
def token(instructor):
    return issue_token(instructor, "Outil de suivi")[1]


@pytest.fixture
def call_32():
    return CallFactory(slug="clact-hdf-2024", title="CLACT-QVCT 2024 Hauts-de-France", region=region("32"))


@pytest.fixture
def call_44():
    return CallFactory(slug="clact-grand-est-2025", title="CLACT 2025-2026 Grand Est", region=region("44"))


# --- Authentication ---------------------------------------------------------------------------


def test_no_token_is_401_in_french(client):
    response = client.get("/api/v1/calls")
    assert response.status_code == 401
    assert "Authentification requise" in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer nimportequoi",
        "Bearer gcl_abcdefgh_" + "x" * 43,  # well formed, unknown prefix
        "Basic dXRpbGlzYXRldXI6bW90ZGVwYXNzZQ==",
        "Bearer ",
    ],
)
def test_malformed_or_unknown_token_is_401(client, header):
    response = client.get("/api/v1/calls", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["detail"] == "Jeton d'API invalide."


def test_right_prefix_wrong_secret_is_401(client, token):
    forged = token[:13] + ("A" if token[13] != "A" else "B") + token[14:]
    response = client.get("/api/v1/calls", **bearer(forged))
    assert response.status_code == 401
    assert response.json()["detail"] == "Jeton d'API invalide."


def test_valid_token_authenticates_and_records_its_use(client, token):
    response = client.get("/api/v1/calls", **bearer(token))
    assert response.status_code == 200
    assert ApiToken.objects.get().last_used_at is not None


def test_expired_token_is_401(client, token):
    ApiToken.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = client.get("/api/v1/calls", **bearer(token))
    assert response.status_code == 401
    assert response.json()["detail"] == "Ce jeton d'API a expiré."


def test_revoked_token_is_401(client, token):
    ApiToken.objects.get().revoke()
    response = client.get("/api/v1/calls", **bearer(token))
    assert response.status_code == 401
    assert response.json()["detail"] == "Ce jeton d'API a été révoqué."


@pytest.mark.parametrize("change", [{"is_active": False}, {"role": Role.APPLICANT, "is_staff": False}])
def test_token_dies_with_its_users_access(client, instructor, token, change):
    type(instructor).objects.filter(pk=instructor.pk).update(**change)
    response = client.get("/api/v1/calls", **bearer(token))
    assert response.status_code == 401


def test_only_a_hash_of_the_token_is_stored(token):
    stored = ApiToken.objects.get()
    assert token.startswith(f"gcl_{stored.prefix}_")
    assert len(token) >= 4 + 8 + 1 + 43
    assert token not in stored.secret_hash and stored.secret_hash != token
    assert stored.matches(token) and not stored.matches(token + "x")


def test_an_applicant_cannot_get_a_token():
    applicant = UserFactory()
    with pytest.raises(ValidationError):
        issue_token(applicant, "essai")
    with pytest.raises(CommandError, match="ni gestionnaire instructeur ni administrateur"):
        call_command("create_api_token", applicant.email, stdout=StringIO(), stderr=StringIO())
    assert not ApiToken.objects.exists()


def test_command_refuses_unknown_email():
    with pytest.raises(CommandError, match="Aucun utilisateur"):
        call_command("create_api_token", "personne@exemple.fr", stdout=StringIO(), stderr=StringIO())


def test_command_prints_a_token_that_works(client, call_32):
    admin = ArsAdminFactory(email="admin.hdf@ars.sante.fr")
    out, err = StringIO(), StringIO()
    call_command("create_api_token", "Admin.HDF@ars.sante.fr", "--name", "Tableau de bord", "--write",
                 "--days", "30", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    assert re.fullmatch(r"gcl_[a-z0-9]{8}_[A-Za-z0-9_-]{43}", raw)
    assert "ne sera plus jamais affiché" in err.getvalue()
    stored = ApiToken.objects.get(user=admin)
    assert stored.name == "Tableau de bord" and stored.scope == Scope.READ_WRITE
    assert dt.timedelta(days=29) < stored.expires_at - timezone.now() <= dt.timedelta(days=30)

    response = client.get("/api/v1/calls", **bearer(raw))
    assert response.status_code == 200
    assert [c["slug"] for c in response.json()] == ["clact-hdf-2024"]


def test_command_default_is_read_only_for_the_default_duration(instructor, settings):
    call_command("create_api_token", instructor.email, stdout=StringIO(), stderr=StringIO())
    stored = ApiToken.objects.get()
    assert stored.scope == Scope.READ
    days = settings.API_TOKEN_DEFAULT_DAYS
    assert dt.timedelta(days=days - 1) < stored.expires_at - timezone.now() <= dt.timedelta(days=days)


def test_write_endpoints_require_a_read_write_token(instructor):
    read_only, _ = issue_token(instructor, "lecture")
    read_write, _ = issue_token(instructor, "écriture", write=True)
    with pytest.raises(HttpError) as excinfo:
        require_write(SimpleNamespace(api_token=read_only))
    assert excinfo.value.status_code == 403
    with pytest.raises(HttpError):
        require_write(SimpleNamespace())
    require_write(SimpleNamespace(api_token=read_write))


# --- Calls ------------------------------------------------------------------------------------


def test_calls_of_the_tokens_region_only_without_templates(client, token, call_32, call_44):
    CallFactory(slug="modele-hdf", region=region("32"), is_template=True)
    response = client.get("/api/v1/calls", **bearer(token))
    assert response.status_code == 200
    (call,) = response.json()
    assert call["slug"] == "clact-hdf-2024"
    assert call["region"] == "32"
    assert call["id"] == call_32.id
    assert call["year"] == 2024 and call["kind"] == "application"
    assert call["envelope"] == "1000000.00"
    assert call["cofinancing_rate"] == "50.00"
    opens_at = dt.datetime.fromisoformat(call["opens_at"])
    assert opens_at.utcoffset() in {dt.timedelta(hours=1), dt.timedelta(hours=2)}
    assert abs(opens_at - call_32.opens_at) < dt.timedelta(milliseconds=1)
    assert dt.datetime.fromisoformat(call["closes_at"]).tzinfo is not None


def test_money_is_a_string_never_a_float(client, token):
    CallFactory(region=region("32"), envelope=Decimal("3800000.10"), cofinancing_rate=Decimal("33.33"))
    CallFactory(region=region("32"), envelope=None)
    body = client.get("/api/v1/calls", **bearer(token)).content.decode()
    assert '"envelope": "3800000.10"' in body
    assert '"cofinancing_rate": "33.33"' in body
    assert '"envelope": null' in body


def test_a_superusers_token_sees_every_region(client, call_32, call_44):
    root = UserFactory(email="root@exemple.fr", is_superuser=True)
    _, raw = issue_token(root, "plateforme")
    slugs = {c["slug"] for c in client.get("/api/v1/calls", **bearer(raw)).json()}
    assert slugs == {"clact-hdf-2024", "clact-grand-est-2025"}


# --- Dossiers: scoping ------------------------------------------------------------------------


def test_another_regions_call_and_dossier_answer_404(client, token, call_44):
    dossier = filed(DossierFactory(call=call_44), "GE-2025-0001")
    response = client.get(f"/api/v1/calls/{call_44.slug}/dossiers", **bearer(token))
    assert response.status_code == 404
    assert response.json()["detail"] == "Ressource introuvable."
    response = client.get(f"/api/v1/dossiers/{dossier.number}", **bearer(token))
    assert response.status_code == 404
    # … exactly as for something that does not exist.
    assert client.get("/api/v1/dossiers/N-EXISTE-PAS", **bearer(token)).json() == response.json()
    assert client.get("/api/v1/calls/n-existe-pas/dossiers", **bearer(token)).status_code == 404


def test_drafts_are_invisible(client, token, call_32):
    draft = DossierFactory(call=call_32)
    Dossier.objects.filter(pk=draft.pk).update(number="HDF-BROUILLON")  # even with a number
    filed_one = filed(DossierFactory(call=call_32), "HDF-2024-0001")
    response = client.get(f"/api/v1/calls/{call_32.slug}/dossiers", **bearer(token))
    assert [d["number"] for d in response.json()["items"]] == [filed_one.number]
    assert client.get("/api/v1/dossiers/HDF-BROUILLON", **bearer(token)).status_code == 404


def test_drafts_are_invisible_even_to_a_superusers_token(client, call_32):
    DossierFactory(call=call_32)
    _, raw = issue_token(UserFactory(is_superuser=True), "plateforme")
    assert client.get(f"/api/v1/calls/{call_32.slug}/dossiers", **bearer(raw)).json()["items"] == []


def test_state_filter(client, token, call_32):
    filed(DossierFactory(call=call_32), "HDF-1", State.EN_CONSTRUCTION)
    filed(DossierFactory(call=call_32), "HDF-2", State.EN_INSTRUCTION)
    filed(DossierFactory(call=call_32), "HDF-3", State.ACCEPTE)
    url = f"/api/v1/calls/{call_32.slug}/dossiers"
    response = client.get(url, {"state": "en_instruction"}, **bearer(token))
    assert [d["number"] for d in response.json()["items"]] == ["HDF-2"]
    response = client.get(url, {"state": "inconnu"}, **bearer(token))
    assert response.status_code == 422
    assert response.json()["detail"] == "Paramètres de la requête invalides."


def test_one_dossier(client, token, call_32):
    partner = EstablishmentFactory(finess="140000076", siret="26140092300015", name="CENTRE HOSPITALIER AUNAY-BAYEUX",
                                   sector="medico_social", department="14")
    dossier = DossierFactory(call=call_32, answers={"nom_projet": "Ergonomie des postes", "cout": "12000.00"})
    dossier.partners.add(partner)
    filed(dossier, "HDF-2024-0042", State.EN_INSTRUCTION)

    response = client.get("/api/v1/dossiers/HDF-2024-0042", **bearer(token))
    assert response.status_code == 200
    data = response.json()
    assert data["number"] == "HDF-2024-0042"
    assert data["state"] == "en_instruction"
    assert data["call"] == "clact-hdf-2024"
    assert data["establishment"] == {
        "finess": "140000027", "name": "CENTRE HOSPITALIER DE LISIEUX", "siret": "26140091500011",
        "sector": "sanitaire", "department": "14",
    }
    assert [p["finess"] for p in data["partners"]] == ["140000076"]
    assert data["partners"][0]["sector"] == "medico_social"
    assert data["answers"] == {"nom_projet": "Ergonomie des postes", "cout": "12000.00"}
    assert data["form_version"] == 1
    for key in ("created_at", "first_filed_at", "last_filed_at", "updated_at"):
        assert dt.datetime.fromisoformat(data[key]).tzinfo is not None
    assert "pending" not in data and "members" not in data


# --- Dossiers: pagination ---------------------------------------------------------------------


@pytest.fixture
def many_dossiers(call_32):
    """120 filed dossiers on call_32, every third one with two partners; 5 drafts among them."""
    applicant = UserFactory()
    carrier = EstablishmentFactory()
    partners = [
        Establishment.objects.create(finess=f"99000000{i}", name=f"Partenaire {i}", siret="", department="59",
                                     region=region("32"))
        for i in range(2)
    ]
    form = call_32.current_form
    Dossier.objects.bulk_create(
        Dossier(call=call_32, form_version=form, establishment=carrier, created_by=applicant,
                state=State.EN_CONSTRUCTION, number=f"HDF-2024-{i:04d}", answers={"nom_projet": f"Projet {i}"})
        for i in range(120)
    )
    Dossier.objects.bulk_create(
        Dossier(call=call_32, form_version=form, establishment=carrier, created_by=applicant)
        for _ in range(5)
    )
    filed_ids = Dossier.objects.filter(call=call_32, number__isnull=False).order_by("pk").values_list("pk", flat=True)
    through = Dossier.partners.through
    through.objects.bulk_create(
        through(dossier_id=pk, establishment_id=p.pk) for pk in list(filed_ids)[::3] for p in partners
    )
    return Dossier.objects.filter(call=call_32).exclude(state=State.BROUILLON)


def walk(client, token, url, limit):
    numbers, cursor, pages = [], None, 0
    while True:
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        response = client.get(url, params, **bearer(token))
        assert response.status_code == 200, response.content
        page = response.json()
        numbers += [d["number"] for d in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return numbers, pages


@pytest.mark.parametrize("limit, pages", [(10, 12), (50, 3), (200, 1), (7, 18)])
def test_pagination_returns_each_dossier_exactly_once(client, token, call_32, many_dossiers, limit, pages):
    numbers, seen_pages = walk(client, token, f"/api/v1/calls/{call_32.slug}/dossiers", limit)
    assert len(numbers) == 120
    assert sorted(numbers) == sorted(many_dossiers.values_list("number", flat=True))
    assert seen_pages == pages


def test_default_and_maximum_page_size(client, token, call_32, many_dossiers):
    url = f"/api/v1/calls/{call_32.slug}/dossiers"
    page = client.get(url, **bearer(token)).json()
    assert len(page["items"]) == 50 and page["next_cursor"] is not None
    assert client.get(url, {"limit": 201}, **bearer(token)).status_code == 422
    assert client.get(url, {"limit": 0}, **bearer(token)).status_code == 422
    response = client.get(url, {"cursor": "pas-un-curseur"}, **bearer(token))
    assert response.status_code == 400
    assert response.json()["detail"] == "Curseur de pagination invalide."


def test_partners_are_listed_on_the_page(client, token, call_32, many_dossiers):
    items = client.get(f"/api/v1/calls/{call_32.slug}/dossiers", {"limit": 3}, **bearer(token)).json()["items"]
    assert [len(d["partners"]) for d in items] == [2, 0, 0]
    assert items[0]["establishment"]["finess"] == "140000027"


def test_the_number_of_queries_does_not_depend_on_the_page_size(client, token, call_32, many_dossiers):
    url = f"/api/v1/calls/{call_32.slug}/dossiers"
    client.get(url, {"limit": 1}, **bearer(token))  # records the token's use once (throttled afterwards)
    counts = {}
    for limit in (10, 100):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url, {"limit": limit}, **bearer(token))
        assert len(response.json()["items"]) == limit
        counts[limit] = len(ctx.captured_queries)
    assert counts[10] == counts[100], [q["sql"] for q in ctx.captured_queries]
    assert counts[10] <= 5  # token, call, dossiers, partners


# --- OpenAPI ----------------------------------------------------------------------------------


def test_openapi_document_lists_the_paths(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "API Guichet CLACT"
    assert {"/api/v1/calls", "/api/v1/calls/{slug}/dossiers", "/api/v1/dossiers/{number}"} <= set(document["paths"])
    schemes = document["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())
    call_schema = document["components"]["schemas"]["CallOut"]["properties"]
    assert call_schema["envelope"]["anyOf"][0]["type"] == "string"


def test_docs_page_answers(client):
    assert client.get("/api/v1/docs").status_code == 200


def test_admin_lists_tokens_without_their_secret(admin_client, token):
    stored = ApiToken.objects.get()
    response = admin_client.get("/admin/api/apitoken/")
    assert response.status_code == 200
    body = response.content.decode()
    assert stored.prefix in body
    assert stored.secret_hash not in body and token not in body
    response = admin_client.get(f"/admin/api/apitoken/{stored.pk}/change/")
    assert response.status_code == 200
    assert stored.secret_hash not in response.content.decode()
    assert admin_client.get("/admin/api/apitoken/add/").status_code == 403
