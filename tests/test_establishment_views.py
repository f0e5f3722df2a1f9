"""Applicant establishment pages: list, claim by FINESS (a request, see test_establishment_claims.py), manual
entry, leave, search, admin."""

import pytest
from django.urls import reverse
from factories import REAL_ETS, EstablishmentFactory, UserFactory, region

from guichet.establishments.models import (
    Establishment,
    EstablishmentAccess,
    LegalEntity,
    MembershipRequest,
    MembershipRole,
)

pytestmark = pytest.mark.django_db

MINE = reverse("establishments:mine")
CREATE = reverse("establishments:create")
SEARCH = reverse("establishments:search")
# A valid FINESS that is not in the test directory.
UNKNOWN_FINESS = "590780193"


@pytest.fixture
def user(client):
    user = UserFactory()
    client.force_login(user)
    return user


@pytest.fixture
def directory():
    ets = []
    for finess, ej, name, siret, dep, reg in REAL_ETS:
        ets.append(EstablishmentFactory(
            finess=finess, name=name, siret=siret, department=dep, region=region(reg), city="CAEN",
            legal_entity__finess=ej, legal_entity__name=name,
        ))
    return ets


def test_anonymous_is_redirected_to_login(client):
    for url in (MINE, CREATE, SEARCH + "?q=14"):
        response = client.get(url)
        assert response.status_code == 302
        assert reverse("account_login") in response["Location"]
    response = client.post(MINE, {"finess": "140000027"})
    assert response.status_code == 302 and reverse("account_login") in response["Location"]
    assert EstablishmentAccess.objects.count() == 0 and MembershipRequest.objects.count() == 0


def test_empty_list_shows_attach_form(client, user):
    response = client.get(MINE)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Aucun établissement n'est rattaché" in html
    assert 'name="finess"' in html and "fr-input" in html
    assert f'hx-get="{SEARCH}"' in html
    assert 'id="finess-suggestions" class="fr-mt-3w" aria-live="polite"' in html
    # suggestions hold their own forms: the container must not be nested in the attach form
    assert html.index('id="finess-suggestions"') > html.index("Demander le rattachement</button>\n  </form>")


def test_claiming_a_directory_establishment_by_finess_sends_a_request(client, user, directory):
    response = client.post(MINE, {"finess": "14 000 002 7", "function": "Directrice"}, follow=True)
    assert response.redirect_chain[-1][0] == MINE
    # A claim, not a membership: nothing of the establishment is open until someone entitled accepts it.
    assert not EstablishmentAccess.objects.filter(user=user).exists()
    req = MembershipRequest.objects.get(user=user, establishment__finess="140000027")
    assert req.is_pending and req.function == "Directrice"
    html = response.content.decode()
    assert "est envoyée à" in html and "Mes demandes de rattachement" in html and "En attente" in html
    assert "CENTRE HOSPITALIER DE LISIEUX" in html
    assert "26140091500011" not in html  # the SIRET is for members: a claimant sees name, FINESS, city
    # claiming twice does not duplicate
    client.post(MINE, {"finess": "140000027"})
    assert MembershipRequest.objects.filter(user=user).count() == 1


def test_a_confirmed_establishment_is_listed_with_the_role(client, user, directory):
    EstablishmentAccess.objects.create(user=user, establishment=directory[0], role=MembershipRole.REFERENT)
    html = client.get(MINE).content.decode()
    assert "Établissements rattachés à votre compte (1)" in html
    assert "fr-table" in html and "CENTRE HOSPITALIER DE LISIEUX" in html and "26140091500011" in html
    assert "Référent" in html and "Gérer les membres" in html


def test_invalid_finess_shows_french_error_and_keeps_input(client, user, directory):
    response = client.post(MINE, {"finess": "140000028"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "fr-input-group--error" in html and "fr-error-text" in html
    assert "La clé de contrôle du numéro FINESS" in html
    assert 'value="140000028"' in html
    response = client.post(MINE, {"finess": "1400"})
    html = response.content.decode()
    assert "doit comporter 9 caractères" in html and "en comporte 4" in html
    assert 'value="1400"' in html
    assert EstablishmentAccess.objects.count() == 0 and MembershipRequest.objects.count() == 0


def test_unknown_valid_finess_leads_to_manual_form_and_creation(client, user):
    response = client.post(MINE, {"finess": UNKNOWN_FINESS})
    assert response.status_code == 302
    assert response["Location"] == f"{CREATE}?finess={UNKNOWN_FINESS}"
    page = client.get(response["Location"]).content.decode()
    assert f'value="{UNKNOWN_FINESS}"' in page and "Raison sociale" in page

    response = client.post(CREATE, {
        "finess": UNKNOWN_FINESS, "name": "  Clinique   des Tilleuls ", "sector": "medico_social",
        "legal_status": "espic", "department": "59", "region": region("32").pk,
        "siret": "261 400 915 00011", "ej_finess": "140000035", "ej_name": "Association des Tilleuls",
    })
    assert response.status_code == 302 and response["Location"] == MINE
    et = Establishment.objects.get(finess=UNKNOWN_FINESS)
    assert et.source == "manual" and et.name == "Clinique des Tilleuls"
    assert et.sector == "medico_social" and et.legal_status == "espic"
    assert et.department == "59" and et.region.code == "32" and et.siret == "26140091500011"
    assert et.legal_entity.finess == "140000035" and et.legal_entity.source == "manual"
    assert et.legal_entity.name == "Association des Tilleuls" and et.legal_entity.siren == "261400915"
    assert not EstablishmentAccess.objects.filter(user=user, establishment=et).exists()
    assert MembershipRequest.objects.get(user=user, establishment=et).is_pending


def test_manual_form_errors_are_in_french_and_nothing_is_lost(client, user):
    data = {
        "finess": UNKNOWN_FINESS, "name": "Clinique des Tilleuls", "sector": "", "legal_status": "prive",
        "department": "20", "region": region("32").pk, "siret": "26140091500012", "ej_finess": "12345",
    }
    response = client.post(CREATE, data)
    html = response.content.decode()
    assert response.status_code == 400
    assert "Choisissez le secteur." in html
    assert "Saisissez un code de département valide" in html
    assert "La clé de contrôle du numéro SIRET" in html
    assert "Le numéro FINESS doit comporter 9 caractères" in html
    for kept in ('value="Clinique des Tilleuls"', 'value="20"', 'value="26140091500012"', 'value="12345"',
                 'value="prive" selected'):
        assert kept in html
    assert not Establishment.objects.filter(finess=UNKNOWN_FINESS).exists()
    assert not LegalEntity.objects.filter(finess="12345").exists()


def test_manual_form_with_known_finess_just_claims(client, user, directory):
    response = client.post(CREATE, {
        "finess": "140000027", "name": "Autre nom", "sector": "sanitaire", "legal_status": "public",
        "department": "14", "region": region("28").pk,
    })
    assert response.status_code == 302
    et = Establishment.objects.get(finess="140000027")
    assert et.name == "CENTRE HOSPITALIER DE LISIEUX" and et.source == "directory"
    assert not EstablishmentAccess.objects.filter(user=user, establishment=et).exists()
    assert MembershipRequest.objects.get(user=user, establishment=et).is_pending


def test_search_endpoint_returns_matches(client, user, directory):
    response = client.get(SEARCH, {"finess": "1400000"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "140000027" in html and "140000076" in html
    assert 'role="list"' in html and 'name="finess"' in html and "csrfmiddlewaretoken" in html
    html = client.get(SEARCH, {"q": "bayeux"}).content.decode()
    assert "CENTRE HOSPITALIER AUNAY-BAYEUX" in html and "LISIEUX" not in html
    html = client.get(SEARCH, {"q": "zzzz"}).content.decode()
    assert "Aucun établissement de l'annuaire ne correspond" in html
    assert client.get(SEARCH, {"q": "1"}).content.decode().strip() == ""


def test_search_marks_already_attached(client, user, directory):
    EstablishmentAccess.objects.create(user=user, establishment=directory[0])
    html = client.get(SEARCH, {"q": directory[0].finess}).content.decode()
    assert "Déjà rattaché" in html
    MembershipRequest.objects.create(user=user, establishment=directory[1])
    html = client.get(SEARCH, {"q": directory[1].finess}).content.decode()
    assert "Demande en attente" in html and "Demander le rattachement<" not in html


def test_user_never_sees_another_users_establishments(client, user, directory):
    other = UserFactory()
    EstablishmentAccess.objects.create(user=other, establishment=directory[1])
    EstablishmentAccess.objects.create(user=user, establishment=directory[0])
    html = client.get(MINE).content.decode()
    assert directory[0].name in html
    assert "CENTRE HOSPITALIER AUNAY-BAYEUX" not in html
    # and cannot detach it either
    response = client.post(reverse("establishments:detach", args=[directory[1].pk]))
    assert response.status_code == 404
    assert EstablishmentAccess.objects.filter(user=other, establishment=directory[1]).exists()


def test_detach(client, user, directory):
    EstablishmentAccess.objects.create(user=user, establishment=directory[0])
    assert client.get(reverse("establishments:detach", args=[directory[0].pk])).status_code == 405
    response = client.post(reverse("establishments:detach", args=[directory[0].pk]), follow=True)
    assert "Vous n&#x27;agissez plus pour l&#x27;établissement" in response.content.decode()
    assert not EstablishmentAccess.objects.filter(user=user).exists()
    assert Establishment.objects.filter(pk=directory[0].pk).exists()


def test_admin_pages(client, directory):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    assert client.get(reverse("admin:establishments_region_changelist")).status_code == 200
    assert client.get(reverse("admin:establishments_region_add")).status_code == 403
    html = client.get(reverse("admin:establishments_establishment_changelist"), {"q": "140000027"}).content.decode()
    assert "CENTRE HOSPITALIER DE LISIEUX" in html
    assert client.get(reverse("admin:establishments_legalentity_changelist"), {"q": "lisieux"}).status_code == 200
    assert client.get(reverse("admin:establishments_establishment_change", args=[directory[0].pk])).status_code == 200
