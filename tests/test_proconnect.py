"""ProConnect: agents and professionals log in through the State's identity federation, against a real
OpenID Connect provider on loopback (tests/oidc.py) that answers like ProConnect (signed userinfo JWT,
given_name / usual_name / siret claims). What ProConnect says never gives a role: an existing account is
found by its verified e-mail and keeps its role and region; a new person is a plain applicant."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.urls import reverse

from guichet.accounts.models import Role, User
from guichet.accounts.proconnect.provider import normalised_siret
from guichet.accounts.services import create_or_update_ars_user
from guichet.core.models import AuditRecord
from tests import oidc
from tests.factories import ArsAdminFactory, UserFactory, region

ACCOUNTS = {
    # As ProConnect sends them: no email_verified claim (the agent's own identity provider vouches for it).
    "agent-ars": {"email": "camille.martin@ars.sante.fr", "given_name": "Camille", "usual_name": "Martin",
                  "siret": "110 020 013 00097", "uid": "8412", "idp_id": "fia-ars"},
    "directrice": {"email": "directrice@ch-exemple.fr", "email_verified": True, "given_name": "Dominique",
                   "usual_name": "Leroy", "siret": "13002526500013", "uid": "77", "idp_id": "proconnect-identite"},
    # An identity provider that says it did NOT check the address: it must never open someone's account.
    "usurpateur": {"email": "chef.instruction@ars.sante.fr", "email_verified": False, "given_name": "Faux",
                   "usual_name": "Agent", "siret": "13002526500013", "uid": "666", "idp_id": "douteux"},
    "sans-siret": {"email": "sans.siret@exemple.fr", "email_verified": True, "given_name": "Alex",
                   "usual_name": "Petit", "uid": "5", "idp_id": "proconnect-identite"},
}


@pytest.fixture(scope="module")
def issuer():
    with oidc.oidc_provider(ACCOUNTS) as url:
        yield url


@pytest.fixture
def proconnect(settings, issuer, db):
    settings.SOCIALACCOUNT_PROVIDERS = {"proconnect": {
        "EMAIL_AUTHENTICATION": True,
        "APPS": [{"name": "ProConnect", "client_id": oidc.CLIENT_ID, "secret": oidc.CLIENT_SECRET,
                  "settings": {"server_url": f"{issuer}/.well-known/openid-configuration"}}],
    }}
    return issuer


def log_in_through_proconnect(client, issuer, sub):
    assert reverse("proconnect_callback") == oidc.CALLBACK_PATH
    start = client.post(reverse("proconnect_login") + "?" + urlencode(
        {"process": "login", "auth_params": f"login_hint={sub}"}))
    assert start.status_code == 302 and start["Location"].startswith(f"{issuer}/auth?"), start
    assert "nonce=" in start["Location"] and "siret" in start["Location"]
    return client.get(oidc.browse_to_callback(start["Location"]))


def logged_in_user(client):
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def test_the_login_page_shows_the_proconnect_button_only_when_configured(client, settings, db):
    settings.SOCIALACCOUNT_PROVIDERS = {}
    page = client.get(reverse("account_login")).content.decode()
    assert "ProConnect" not in page
    settings.SOCIALACCOUNT_PROVIDERS = {"proconnect": {"APPS": [
        {"name": "ProConnect", "client_id": "id", "secret": "secret", "settings": {"server_url": "https://x"}}]}}
    page = client.get(reverse("account_login")).content.decode()
    assert "S'identifier avec</span>" in page and '<span class="fr-connect__brand">ProConnect</span>' in page
    assert f'action="{reverse("proconnect_login")}?process=login"' in page
    button = page[page.index('<div class="fr-connect-group">'):]
    button = button[:button.index("</div>")]
    assert "Qu'est-ce que ProConnect ?" in button and "style=" not in button and "<script" not in button


def test_an_ars_agent_is_matched_to_their_account_by_email_and_keeps_their_role(client, proconnect):
    # An ARS account as the platform creates them (manage.py create_ars_user, the admin): e-mail verified.
    agent = create_or_update_ars_user("camille.martin@ars.sante.fr", Role.INSTRUCTOR, region("44"),
                                      password="mot-de-passe-agent-2026").user
    other = ArsAdminFactory(email="autre@ars.sante.fr")
    response = log_in_through_proconnect(client, proconnect, "agent-ars")
    assert response.status_code == 302, response.content.decode()[:2000]
    assert logged_in_user(client) == agent
    agent.refresh_from_db()
    assert (agent.role, agent.region.code, agent.is_superuser) == (Role.INSTRUCTOR, "44", False)
    assert agent.check_password("mot-de-passe-agent-2026")  # their password login still works
    assert User.objects.count() == 2 and other.role == Role.ADMIN
    account = SocialAccount.objects.get(provider="proconnect")
    assert account.user == agent and account.uid == "agent-ars"
    assert account.extra_data["siret"] == "11002001300097"  # 14 digits, the spaces ProConnect may send removed
    # The userinfo came as a JWT signed by the provider (its iss and aud are in it), checked against its keys.
    assert account.extra_data["userinfo"]["aud"] == oidc.CLIENT_ID
    assert account.extra_data["userinfo"]["iss"] == proconnect
    linked = AuditRecord.objects.get(action="account:proconnect_linked")
    assert linked.actor == agent and linked.details["siret"] == "11002001300097"
    assert (linked.details["new_account"], linked.details["idp_id"]) == (False, "fia-ars")
    # Logging in again updates the same link, no second account.
    client.logout()
    log_in_through_proconnect(client, proconnect, "agent-ars")
    assert logged_in_user(client) == agent and SocialAccount.objects.count() == 1 and User.objects.count() == 2


def test_a_new_person_becomes_a_plain_applicant(client, proconnect, db):
    response = log_in_through_proconnect(client, proconnect, "directrice")
    assert response.status_code == 302, response.content.decode()[:2000]
    user = logged_in_user(client)
    assert user is not None and user.email == "directrice@ch-exemple.fr"
    assert (user.role, user.region, user.is_staff, user.is_superuser) == (Role.APPLICANT, None, False, False)
    assert (user.first_name, user.last_name) == ("Dominique", "Leroy")
    assert EmailAddress.objects.get(user=user).verified
    assert SocialAccount.objects.get(user=user).extra_data["siret"] == "13002526500013"
    linked = AuditRecord.objects.get(action="account:proconnect_linked")
    assert linked.actor == user and linked.details["new_account"] is True


def test_an_unverified_email_is_never_matched_to_an_existing_account(client, proconnect, db):
    chief = ArsAdminFactory(email="chef.instruction@ars.sante.fr")
    response = log_in_through_proconnect(client, proconnect, "usurpateur")
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert client.get(response["Location"]).status_code == 200
    assert logged_in_user(client) is None
    assert not SocialAccount.objects.exists() and User.objects.get() == chief  # no link, no second account
    assert not AuditRecord.objects.filter(action="account:proconnect_linked").exists()
    chief.refresh_from_db()
    assert chief.role == Role.ADMIN and chief.has_usable_password()


def test_an_answer_to_another_login_attempt_is_refused(client, proconnect):
    """The ID token must carry the nonce this browser's login sent (a replayed or injected answer does not)."""
    start = client.post(reverse("proconnect_login") + "?" + urlencode(
        {"process": "login", "auth_params": "login_hint=directrice"}))
    session = client.session
    session["proconnect_nonce"] = "un-autre-essai-de-connexion"
    session.save()
    response = client.get(oidc.browse_to_callback(start["Location"]))
    assert response.status_code == 401 and logged_in_user(client) is None  # allauth's login error page
    assert not User.objects.exists() and not SocialAccount.objects.exists()


def test_proconnect_unreachable_is_an_error_page_not_a_server_error(client, settings, db):
    settings.SOCIALACCOUNT_PROVIDERS = {"proconnect": {"APPS": [
        {"name": "ProConnect", "client_id": "id", "secret": "secret",
         "settings": {"server_url": f"http://127.0.0.1:{oidc.free_port()}/.well-known/openid-configuration"}}]}}
    response = client.post(reverse("proconnect_login") + "?process=login")
    assert response.status_code == 401 and logged_in_user(client) is None


def test_without_a_siret_the_key_holds_an_empty_string(client, proconnect, db):
    log_in_through_proconnect(client, proconnect, "sans-siret")
    assert SocialAccount.objects.get().extra_data["siret"] == ""


@pytest.mark.parametrize("claim, expected", [
    ("11002001300097", "11002001300097"), ("110 020 013 00097", "11002001300097"),
    ("11002001300098", ""), ("1100200130009", ""), (None, ""), (11002001300097, "11002001300097"),
])
def test_the_siret_is_kept_as_14_digits_or_an_empty_string(claim, expected):
    assert normalised_siret(claim) == expected


def test_settings_refuse_a_half_configured_proconnect(tmp_path):
    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "PROCONNECT_"))}
    env.update({"DJANGO_SETTINGS_MODULE": "guichet.settings", "DJANGO_DEBUG": "1", "GUICHET_VAR_DIR": str(tmp_path),
                "PROCONNECT_CLIENT_ID": "guichet"})
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=root, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "missing: PROCONNECT_CLIENT_SECRET, PROCONNECT_DISCOVERY_URL" in result.stderr


def test_a_proconnect_identity_of_the_organisation_makes_its_claim_a_referent_at_once(client, proconnect, db):
    """Issue 11, point 1: the SIRET that ProConnect vouches for opens the establishment of the directory with that
    SIRET at once (the person is its referent); a site entered by hand with the same SIRET proves nothing."""
    from guichet.establishments.models import (
        EstablishmentAccess,
        GrantedVia,
        MembershipRequest,
        MembershipRole,
        RequestStatus,
        Source,
    )
    from tests.factories import EstablishmentFactory

    directory_site = EstablishmentFactory(finess="140000027", siret="13002526500013")
    typed_site = EstablishmentFactory(finess="140000035", siret="13002526500013", source=Source.MANUAL,
                                      legal_entity=None, name="SITE SAISI À LA MAIN")
    log_in_through_proconnect(client, proconnect, "directrice")
    user = logged_in_user(client)
    assert user is not None
    for site in (directory_site, typed_site):
        assert client.post(reverse("establishments:mine"), {"finess": site.finess}).status_code == 302
    access = EstablishmentAccess.objects.get(user=user)
    assert (access.establishment, access.role, access.granted_via) == (
        directory_site, MembershipRole.REFERENT, GrantedVia.PROCONNECT)
    assert MembershipRequest.objects.get(user=user, establishment=typed_site).status == RequestStatus.PENDING
    # Someone logged in by password, claiming the same directory site, waits for its referent.
    stranger = UserFactory()
    client.force_login(stranger)
    client.post(reverse("establishments:mine"), {"finess": directory_site.finess})
    assert not EstablishmentAccess.objects.filter(user=stranger).exists()
    assert MembershipRequest.objects.get(user=stranger).status == RequestStatus.PENDING


@pytest.mark.parametrize("name", ["proconnect_login", "proconnect_callback"])
def test_without_its_configuration_proconnect_answers_404(client, db, name):
    """Found by the page crawler (tests/test_every_page.py): both addresses were a server error (no app)."""
    client.raise_request_exception = False
    assert client.get(reverse(name)).status_code == 404
    assert client.post(reverse(name)).status_code == 404
