"""An ARS instructor's first login in the browser: sent to set up the double authentification before any page,
reads the key off the page into an « app » (the code is computed as allauth checks it), keeps the recovery
codes, reaches the workspace; the next login asks the code. Each page passes axe."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache
from playwright.sync_api import expect

from guichet.accounts.mfa import totp_code
from guichet.establishments.models import Region
from tests.browser.accessibility import assert_accessible
from tests.browser.login import log_in
from tests.factories import PASSWORD, InstructorFactory

expect.set_options(timeout=15_000)
INSTRUCTOR = "nouvel.agent@ars-hdf.sante.fr"


@pytest.fixture
def instructor(transactional_db):
    cache.clear()
    user = InstructorFactory(email=INSTRUCTOR, region=Region.objects.get(code="32"))
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


@pytest.mark.browser
def test_first_login_sets_up_the_authenticator_app_then_the_login_asks_its_code(page, live_server, instructor):
    page.goto("/instruction/appels/")
    page.get_by_label("Courriel").fill(INSTRUCTOR)
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter", exact=True).last.click()

    # Before anything else: the set-up page, with why, the QR code and the key.
    expect(page).to_have_url(re.compile(r"/comptes/2fa/totp/activate/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Activer la double authentification")
    expect(page.get_by_text("La double authentification est obligatoire pour votre compte")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    assert_accessible(page)
    page.goto("/instruction/appels/")
    expect(page).to_have_url(re.compile(r"/comptes/2fa/totp/activate/$"))
    secret = page.get_by_label("Clé de l'application d'authentification").input_value()

    # A wrong code is announced at the field; the right one shows the recovery codes.
    code_field = page.get_by_label("Code à 6 chiffres affiché par l'application")
    code_field.fill("000000" if totp_code(secret) != "000000" else "111111")
    page.get_by_role("button", name="Activer").click()
    expect(page.get_by_role("alert")).to_contain_text("Code incorrect")
    assert_accessible(page)
    code_field.fill(totp_code(secret))
    page.get_by_role("button", name="Activer").click()
    expect(page).to_have_url(re.compile(r"/comptes/2fa/recovery-codes/$"))
    expect(page.locator(".guichet-recovery-codes li")).to_have_count(10)
    assert_accessible(page)
    page.get_by_role("link", name="Continuer vers Guichet CLACT").click()
    page.goto("/instruction/appels/")
    expect(page).to_have_url(re.compile(r"/instruction/appels/$"))

    # Next time, the login asks the code (the shared helper types it).
    page.get_by_role("button", name="Se déconnecter").click()
    log_in(page, INSTRUCTOR, "/instruction/appels/")
    expect(page).to_have_url(re.compile(r"/instruction/appels/$"))
