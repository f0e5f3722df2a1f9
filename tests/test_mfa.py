"""Double authentification (issue 11, point 2): an authenticator app (TOTP) with recovery codes, mandatory for
ARS staff, commission members and superusers, optional for applicants.

Logins go through the login page here, as a person's would (``client.force_login`` stands for a complete
login, second factor included: tests/conftest.py).
"""

import datetime as dt
import re

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.utils import timezone

from guichet.accounts.mfa import SESSION_KEY, activate_totp, totp_code
from guichet.commission.models import Session, SessionMember
from tests.factories import PASSWORD, ArsAdminFactory, CallFactory, InstructorFactory, UserFactory

pytestmark = pytest.mark.django_db

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
LOGIN, ACTIVATE, AUTHENTICATE = "/comptes/login/", "/comptes/2fa/totp/activate/", "/comptes/2fa/authenticate/"
WORKSPACE = "/instruction/appels/"


def _verified(user):
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def instructor():
    return _verified(InstructorFactory())


def ars_admin():
    return _verified(ArsAdminFactory())


def superuser():
    return _verified(UserFactory(is_superuser=True, is_staff=True))


def commission_member():
    """An applicant account with a seat in a commission session (no ARS role)."""
    member = _verified(UserFactory())
    call = CallFactory()
    session = Session.objects.create(call=call, title="Séance", held_on=timezone.now() + dt.timedelta(days=7),
                                     created_by=InstructorFactory())
    SessionMember.objects.create(session=session, user=member)
    return member


MANDATORY = {"instructeur": instructor, "administrateur ARS": ars_admin, "superutilisateur": superuser,
             "membre de commission": commission_member}
# A page each of them may open once fully logged in.
THEIR_PAGE = {"instructeur": WORKSPACE, "administrateur ARS": WORKSPACE, "superutilisateur": WORKSPACE,
              "membre de commission": "/commission/mes-seances/"}


def log_in(client, user):
    response = client.post(LOGIN, {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302, "the password step failed"
    return response


def secret_on_page(html: str) -> str:
    return re.search(r'id="authenticator_secret" value="([A-Z2-7]+)"', html).group(1)


# Transactional: allauth reports the activation once it is committed, within the request as in production.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", MANDATORY)
def test_an_account_without_mfa_is_sent_to_set_it_up_before_anything_else(client, kind):
    user = MANDATORY[kind]()
    log_in(client, user)
    for path in ("/", THEIR_PAGE[kind], "/dossiers/", "/admin/"):
        response = client.get(path)
        assert response.status_code == 302 and response.url == ACTIVATE, path
    page = client.get(ACTIVATE)
    html = page.content.decode()
    assert page.status_code == 200
    assert "La double authentification est obligatoire pour votre compte" in html
    assert '<svg class="guichet-totp-qr" role="img"' in html and "<?xml" not in html
    main = html[html.index("<main"):html.index("</main>")]
    assert "style=" not in main and "<script" not in main  # a Content-Security-Policy is coming
    secret = secret_on_page(html)

    # A wrong code is refused at the field, in French; the pages stay closed.
    wrong = client.post(ACTIVATE, {"code": "000000" if totp_code(secret) != "000000" else "111111"})
    assert wrong.status_code == 200 and "Code incorrect." in wrong.content.decode()
    assert client.get(THEIR_PAGE[kind]).url == ACTIVATE

    # The right code sets it up and shows the recovery codes; then the pages open.
    done = client.post(ACTIVATE, {"code": totp_code(secret)})
    assert done.status_code == 302 and done.url == "/comptes/2fa/recovery-codes/"
    codes = client.get(done.url)
    assert codes.status_code == 200 and "Codes de récupération" in codes.content.decode()
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    assert client.get(THEIR_PAGE[kind]).status_code == 200


@pytest.mark.parametrize("kind", MANDATORY)
def test_login_asks_the_code_refuses_a_wrong_one_and_takes_a_recovery_code_once(client, kind):
    user = MANDATORY[kind]()
    activate_totp(user, SECRET)
    recovery = RecoveryCodes(Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES))
    recovery_code = recovery.get_unused_codes()[0]

    assert log_in(client, user).url == AUTHENTICATE
    # Between the password and the code, the account is not logged in.
    assert client.get(THEIR_PAGE[kind]).status_code == 302 and "_auth_user_id" not in client.session
    wrong = "000000" if totp_code(SECRET) != "000000" else "111111"
    response = client.post(AUTHENTICATE, {"code": wrong})
    assert response.status_code == 200 and "Code incorrect." in response.content.decode()
    assert "_auth_user_id" not in client.session
    response = client.post(AUTHENTICATE, {"code": totp_code(SECRET)})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(user.pk)
    assert client.get(THEIR_PAGE[kind]).status_code == 200

    # A recovery code stands in for the app once.
    client.post("/comptes/logout/")
    log_in(client, user)
    assert client.post(AUTHENTICATE, {"code": recovery_code}).status_code == 302
    assert client.get(THEIR_PAGE[kind]).status_code == 200
    client.post("/comptes/logout/")
    log_in(client, user)
    again = client.post(AUTHENTICATE, {"code": recovery_code})
    assert again.status_code == 200 and "Code incorrect." in again.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_code_page_is_in_french_and_dsfr(client):
    user = instructor()
    activate_totp(user, SECRET)
    log_in(client, user)
    html = client.get(AUTHENTICATE).content.decode()
    assert "Double authentification" in html and "codes de récupération" in html
    assert 'class="fr-input' in html and 'for="id_code">Code de l&#x27;application ou code de récupération' in html


def test_an_applicant_is_not_forced_and_may_turn_it_on(client):
    applicant = _verified(UserFactory())
    log_in(client, applicant)
    assert client.get("/dossiers/").status_code == 200
    home = client.get("/").content.decode()
    assert 'href="/comptes/2fa/"' in home  # « Double authentification » in the account menu
    index = client.get("/comptes/2fa/").content.decode()
    assert "Facultative pour votre compte" in index and ACTIVATE in index
    # Turned on, it is asked at the next login, and the applicant may turn it off again.
    activate_totp(applicant, SECRET)
    client.post("/comptes/logout/")
    assert log_in(client, applicant).url == AUTHENTICATE
    client.post(AUTHENTICATE, {"code": totp_code(SECRET)})
    assert "Désactiver" in client.get("/comptes/2fa/").content.decode()
    client.post("/comptes/2fa/totp/deactivate/", {})
    assert not Authenticator.objects.filter(user=applicant, type=Authenticator.Type.TOTP).exists()


def test_mandatory_mfa_cannot_be_turned_off(client):
    user = instructor()
    activate_totp(user, SECRET)
    log_in(client, user)
    client.post(AUTHENTICATE, {"code": totp_code(SECRET)})
    assert "Désactiver" not in client.get("/comptes/2fa/").content.decode()
    response = client.post("/comptes/2fa/totp/deactivate/", {})
    assert "Vous ne pouvez pas désactiver" in response.content.decode()
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


@pytest.mark.real_mfa
def test_a_session_that_skipped_the_code_must_pass_it(client):
    """A session opened without allauth's code step (any other way in) is asked the code before any page."""
    user = instructor()
    activate_totp(user, SECRET)
    client.force_login(user)
    response = client.get(WORKSPACE)
    assert response.status_code == 302
    assert response.url == "/comptes/2fa/reauthenticate/?next=%2Finstruction%2Fappels%2F"
    done = client.post(response.url, {"code": totp_code(SECRET)})
    assert done.status_code == 302 and done.url == WORKSPACE
    assert client.session[SESSION_KEY] == str(user.pk)
    assert client.get(WORKSPACE).status_code == 200


@pytest.mark.real_mfa
def test_htmx_requests_are_sent_to_the_set_up_page_as_a_whole(client):
    user = instructor()
    client.force_login(user)
    response = client.get(WORKSPACE, headers={"HX-Request": "true"})
    assert response.headers.get("HX-Redirect") == ACTIVATE


@pytest.mark.real_mfa
def test_the_api_keeps_its_own_tokens(client):
    """The API authenticates each request by its bearer token: no MFA redirect there."""
    user = instructor()
    client.force_login(user)
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
