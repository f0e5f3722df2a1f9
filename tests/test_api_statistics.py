"""API endpoints of the statistics (issue 13): a call's, a region's and the national figures as JSON — counts as
integers, euros and days as decimal strings —, scoped like the pages: the region's ARS tokens for a call and a
region (404 beyond), a superuser's token for the country (403 for any other); the national reader holds no token
and its session stays off /api/.

The set: ``tests.statistics_data``.
"""

import pytest
from django.core.exceptions import ValidationError

from guichet.accounts.models import Role
from guichet.api.models import ApiToken, issue_token
from tests.factories import InstructorFactory, UserFactory
from tests.statistics_data import GHT_NAME, build_data

API = "/api/v1"
NAMES = ("ROUBAIX", "TILLEULS", "SAINT VINCENT", "METZ", GHT_NAME, "Jeanne", "jeanne.deposante", "CLACT-2024-001")


@pytest.fixture
def data(db):
    return build_data()


def get(client, token, url):
    return client.get(API + url, headers={"Authorization": f"Bearer {token}"})


def token_of(user):
    return issue_token(user, "Tableau de bord")[1]


def figure(body, key):
    return next(f for f in body["figures"] if f["key"] == key)


def rows(body, key):
    return {r["key"]: r["values"] for r in figure(body, key)["rows"]}


def test_the_figures_of_a_call(client, data):
    response = get(client, token_of(data["staff"]), "/calls/clact-2024-hdf/statistics")
    assert response.status_code == 200
    body = response.json()
    assert (body["level"], body["filed"], body["decided"]) == ("call", 7, 5)
    assert (body["median_days"], body["usual_days"]) == ("20.0", "40.0")
    assert rows(body, "etats")["accepte"] == [3]
    assert rows(body, "montants") == {"demande": ["48000.00"], "propose": ["16000.00"], "accorde": ["14500.00"],
                                      "verse": ["9500.00"], "engage": ["3000.00"]}
    assert rows(body, "enveloppe")[str(data["call_a"].pk)] == ["100000.00", "14500.00", "14500.00", "14.5"]
    assert rows(body, "justificatifs")["subventions"] == [None, 2]
    montants = figure(body, "montants")
    assert montants["title"] == "Montants demandés, proposés, accordés et versés"
    assert montants["series"] == [{"name": "Euros", "unit": "euros"}]
    assert [f["key"] for f in body["figures"]][:3] == ["etats", "semaines", "delais"]


def test_the_figures_of_a_region(client, data):
    body = get(client, token_of(data["staff"]), "/regions/hauts-de-france/statistics").json()
    assert (body["level"], body["filed"]) == ("region", 9)
    assert rows(body, "annees")["2021"] == [0, 0, 1, 1, "3000.00", "3000.00"]


def test_national_figures_for_a_superuser_token_only(client, data):
    superuser = UserFactory(email="admin@sante.gouv.fr", is_superuser=True, is_staff=True)
    response = get(client, token_of(superuser), "/statistics/national")
    assert response.status_code == 200
    body = response.json()
    assert body["level"] == "country" and body["filed"] == 10
    assert rows(body, "regions")["grand-est"] == [1, 1, "200000.00", "1000.00", "0.00"]
    for name in NAMES:
        assert name not in response.content.decode(), name
    response = get(client, token_of(data["staff"]), "/statistics/national")
    assert response.status_code == 403
    assert response.json() == {"detail": "Les chiffres nationaux sont réservés aux administrateurs de la plateforme."}


def test_another_region_s_token_gets_404(client, data):
    other = token_of(InstructorFactory(region=data["grand_est"]))
    for url in ("/calls/clact-2024-hdf/statistics", "/regions/hauts-de-france/statistics",
                "/regions/inconnue/statistics", "/calls/inconnu/statistics"):
        response = get(client, other, url)
        assert response.status_code == 404, url
        assert response.json() == {"detail": "Ressource introuvable."}
    assert get(client, other, "/calls/clact-2024-ge/statistics").status_code == 200
    assert get(client, other, "/regions/grand-est/statistics").json()["filed"] == 1


def test_no_token_no_figures(client, data):
    for url in ("/calls/clact-2024-hdf/statistics", "/regions/hauts-de-france/statistics", "/statistics/national"):
        response = client.get(API + url)
        assert response.status_code == 401, url
        assert response.json()["detail"].startswith("Authentification requise")
    client.raise_request_exception = False
    response = get(client, token_of(data["staff"]), "/regions/a.b/statistics")
    assert response.status_code == 422 and response.json()["errors"][0]["loc"] == ["path", "region"]


def test_the_national_reader_stays_off_the_api(client, data):
    national = UserFactory(email="lecteur@sante.gouv.fr", role=Role.NATIONAL)
    with pytest.raises(ValidationError):
        issue_token(national, "Tableau de bord du ministère")
    # A token made for it anyway (by hand in the database) authenticates nothing.
    token, clear = issue_token(data["staff"], "Détourné")
    ApiToken.objects.filter(pk=token.pk).update(user=national)
    for url in ("/statistics/national", "/regions/hauts-de-france/statistics", "/calls/clact-2024-hdf/statistics"):
        assert get(client, clear, url).status_code == 401, url
    # Its session does not open the API either, the national figures included.
    client.force_login(national)
    for url in ("/statistics/national", "/regions/hauts-de-france/statistics", "/calls/clact-2024-hdf/statistics"):
        assert client.get(API + url).status_code in (401, 403), url
