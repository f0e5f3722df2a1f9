"""The API's refusals as a client meets them: French messages at the refused parameter, a 4xx (never a server
error) for any bad value, and an OpenAPI schema that says so — the statuses, the cursor, the required fields.

Each case here is one schemathesis found or would find (tests/test_api_contract.py), written down to stay fixed.
"""

import pytest

from guichet.api.models import issue_token
from tests.factories import CallFactory, InstructorFactory, region
from tests.test_api_commission import make_grant

pytestmark = pytest.mark.django_db

TOO_BIG = "99999999999999999999"  # beyond a database integer: an OverflowError on SQLite before the bounds


@pytest.fixture
def call():
    return CallFactory(slug="clact-hdf-2024", region=region("32"))


@pytest.fixture
def token(call):
    return issue_token(InstructorFactory(region=region("32")), "Outil", write=True)[1]


def get(client, token, url, **params):
    return client.get(f"/api/v1{url}", params, HTTP_AUTHORIZATION=f"Bearer {token}")


def post(client, token, url, body, content_type="application/json"):
    return client.post(f"/api/v1{url}", body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {token}")


def errors(response) -> list[tuple]:
    assert response.status_code == 422, response.content
    assert response.json()["detail"] == "Paramètres de la requête invalides."
    return [(tuple(e["loc"]), e["msg"]) for e in response.json()["errors"]]


def test_validation_errors_are_in_french_at_their_parameter(client, call, token):
    url = f"/calls/{call.slug}/dossiers"
    assert errors(get(client, token, url, limit=0)) == [(("query", "limit"), "La valeur est au moins 1.")]
    assert errors(get(client, token, url, limit=201)) == [(("query", "limit"), "La valeur est au plus 200.")]
    assert errors(get(client, token, url, limit="dix")) == [(("query", "limit"), "Un nombre entier est attendu.")]
    assert errors(get(client, token, url, state="perdu")) == [
        (("query", "state"), "Valeur inconnue ; valeurs permises : 'brouillon', 'en_construction', 'en_instruction', "
                             "'accepte', 'refuse' ou 'sans_suite'.")]
    assert errors(get(client, token, "/decisions")) == [(("query", "call"), "Ce paramètre est obligatoire.")]
    assert errors(post(client, token, "/dossiers/2024-32-00001/transitions", {"event": ""})) == [
        (("body", "payload", "event"), "Ce paramètre ne peut pas être vide.")]
    assert errors(post(client, token, "/payment-orders/1/paid", {"paid_on": "28/06/2024", "reference": "M"})) == [
        (("body", "payload", "paid_on"), "Une date au format AAAA-MM-JJ est attendue.")]
    assert errors(post(client, token, "/payment-orders/1/paid", {})) == [
        (("body", "payload", "paid_on"), "Ce paramètre est obligatoire."),
        (("body", "payload", "reference"), "Ce paramètre est obligatoire.")]


def test_a_workspace_tab_that_does_not_exist_is_refused_at_the_parameter(client, call, token):
    [(loc, message)] = errors(get(client, token, f"/calls/{call.slug}/workspace", tab="inconnu"))
    assert loc == ("query", "tab") and message.startswith("Onglet inconnu « inconnu »")


@pytest.mark.parametrize("url, params", [
    ("/calls/clact-hdf-2024/workspace", {"label": TOO_BIG}),
    ("/calls/clact-hdf-2024/workspace", {"group": TOO_BIG}),
    ("/calls", {"year": TOO_BIG}),
    ("/ledgers", {"call_year": TOO_BIG}),
    ("/payments", {"window": TOO_BIG}),
    (f"/sessions/{TOO_BIG}", {}),
    (f"/grants/{TOO_BIG}", {}),
    (f"/ledgers/{TOO_BIG}", {}),
    (f"/payment-orders/{TOO_BIG}", {}),
])
def test_a_number_beyond_a_database_integer_is_422_not_a_server_error(client, call, token, url, params):
    client.raise_request_exception = False
    [(loc, message)] = errors(get(client, token, url, **params))
    assert message.startswith("La valeur est au plus ")


@pytest.mark.parametrize("cursor", ["²", "١٢", "-1", "1.5", TOO_BIG, "9223372036854775808"])
def test_a_cursor_the_server_did_not_give_is_400(client, call, token, cursor):
    client.raise_request_exception = False
    for url in (f"/calls/{call.slug}/dossiers", "/sessions", "/grants", "/payments", "/payment-orders", "/ledgers"):
        response = get(client, token, url, cursor=cursor)
        assert response.status_code == 400, (url, response.status_code)
        assert response.json() == {"detail": "Curseur de pagination invalide."}


def test_an_unreadable_body_is_400_in_french(client, call, token):
    response = post(client, token, "/dossiers/2024-32-00001/messages", "{pas du JSON")
    assert response.status_code == 400
    assert response.json() == {"detail": "Le corps de la requête n'est pas un document JSON lisible."}


@pytest.mark.parametrize("total", ["NaN", "Infinity", "-Infinity", "1e999999"])
def test_an_amount_that_is_not_a_finite_number_is_422(client, call, token, total):
    client.raise_request_exception = False
    grant = make_grant(call, 1)
    response = post(client, token, f"/ledgers/{grant.pk}/total", {"total": total, "reason": "Avenant"})
    [(loc, _)] = errors(response)
    assert loc == ("body", "payload", "total")


# --- the schema says it ---------------------------------------------------------------------------------

@pytest.fixture
def openapi(client):
    return client.get("/api/v1/openapi.json").json()


def operations(openapi):
    for path, methods in openapi["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def test_every_operation_documents_the_statuses_it_returns(openapi):
    for name, operation in operations(openapi):
        documented = set(operation["responses"])
        parameters = {p["name"]: p for p in operation.get("parameters", [])}
        expected = {"401"}
        if any(p["in"] == "path" for p in parameters.values()):
            expected |= {"404", "422"}  # nothing there, or an id, a slug or a number out of its format
        if "call" in parameters:
            expected.add("404")
        if "cursor" in parameters and not name.endswith("/workspace"):
            expected.add("400")
        if name.startswith("POST"):
            expected |= {"400", "403", "404", "409", "422"}
        if name == "POST /api/v1/exports":  # an export job only reads: a read-only token may start one (no 403)
            expected.discard("403")
        if any(p["in"] == "query" for p in parameters.values()):
            expected.add("422")
        assert expected <= documented, f"{name}: {sorted(expected - documented)} missing"
        assert operation["responses"]["401"]["description"] == "Jeton d'API absent, invalide, expiré ou révoqué."


def test_the_cursor_format_is_documented(openapi):
    for name, operation in operations(openapi):
        for parameter in operation.get("parameters", []):
            if parameter["name"] == "cursor":
                assert "next_cursor" in parameter["description"], name


def test_required_fields_are_required_and_blank_strings_refused_in_the_schema(openapi):
    schemas = openapi["components"]["schemas"]
    assert set(schemas["PaidIn"]["required"]) == {"paid_on", "reference"}
    assert set(schemas["TotalIn"]["required"]) == {"total", "reason"}
    assert schemas["TotalIn"]["properties"]["reason"]["minLength"] == 1
    assert schemas["PaidIn"]["properties"]["reference"]["minLength"] == 1
    assert schemas["MessageIn"]["properties"]["body"]["minLength"] == 1
    assert schemas["TransitionIn"]["properties"]["event"]["minLength"] == 1
    assert schemas["ValidationIn"]["properties"]["status"]["enum"] == ["a_valider", "acceptee", "partielle", "rejetee"]
    assert set(schemas["ValidationErrorItem"]["required"]) == {"loc", "type", "msg"}


NUL_MESSAGE = "Le caractère nul (U+0000) n'est pas permis."


@pytest.mark.parametrize("url, params", [
    ("/decisions", {"call": "clact\x00"}),
    ("/grants", {"call": "\x00"}),
    ("/ledgers", {"legal_entity": "59\x000"}),
    ("/calls/clact-hdf-2024/workspace", {"q": "CH\x00"}),
])
def test_a_nul_character_in_the_query_is_refused_at_its_parameter(client, call, token, url, params):
    """PostgreSQL refuses NUL in a query (a server error, found by schemathesis); the web forms refuse it too."""
    client.raise_request_exception = False
    [(loc, message)] = errors(get(client, token, url, **params))
    assert (loc, message) == (("query", next(iter(params))), NUL_MESSAGE)


def test_a_nul_character_in_a_body_is_refused_at_its_field(client, call, token):
    client.raise_request_exception = False
    response = post(client, token, "/dossiers/2024-32-000001/messages", {"body": "Bonjour\x00"})
    assert errors(response) == [(("body", "payload", "body"), NUL_MESSAGE)]
    response = post(client, token, "/dossiers/2024-32-000001/transitions", {"event": "accepter", "motivation": "\x00"})
    assert errors(response) == [(("body", "payload", "motivation"), NUL_MESSAGE)]


@pytest.mark.parametrize("url", ["/calls/clact%00/dossiers", "/dossiers/2024%00/history", "/calls/a.b/workspace"])
def test_a_slug_or_a_number_out_of_its_format_is_refused(client, call, token, url):
    client.raise_request_exception = False
    [(loc, message)] = errors(get(client, token, url))
    assert loc[0] == "path" and message.startswith("Format invalide")
