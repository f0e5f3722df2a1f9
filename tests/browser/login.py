"""Logging in through the login page in the browser, second factor included.

An account that must use MFA (ARS staff, commission members, superusers) is given an authenticator app with a
known secret if it has none, as its owner would have set one up; the helper then types the code an app would
show, computed as allauth checks it (guichet.accounts.mfa.totp_code).
"""

import time

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import decrypt

from guichet.accounts import mfa
from guichet.accounts.models import User
from tests.factories import PASSWORD

TEST_SECRET = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"
# allauth accepts each code once: a second login of the same account within one 30-second step waits
# for the next code, as a person would.
_last_step: dict[int, int] = {}


def code_for(user) -> str:
    step = int(time.time()) // mfa_settings.TOTP_PERIOD
    if _last_step.get(user.pk) == step:
        time.sleep(mfa_settings.TOTP_PERIOD - time.time() % mfa_settings.TOTP_PERIOD + 0.2)
        step = int(time.time()) // mfa_settings.TOTP_PERIOD
    _last_step[user.pk] = step
    secret = decrypt(Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP).data["secret"])
    return mfa.totp_code(secret)


def log_in(page, email, path, password=PASSWORD):
    user = User.objects.get(email=email)
    if mfa.mfa_required(user) and not mfa.has_totp(user):
        mfa.activate_totp(user, TEST_SECRET)
    page.goto(path)
    page.get_by_label("Courriel").fill(email)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    page.get_by_role("button", name="Se connecter", exact=True).last.click()
    page.wait_for_url(lambda url: "/comptes/login" not in url)
    if "/comptes/2fa/authenticate/" in page.url:
        page.get_by_label("Code de l'application ou code de récupération").fill(code_for(user))
        page.get_by_role("button", name="Se connecter", exact=True).last.click()
        page.wait_for_url(lambda url: "/comptes/2fa/" not in url)
    page.wait_for_load_state("load")  # the page's scripts (htmx, dossier.js) are running before anything is typed
