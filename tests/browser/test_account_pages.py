"""The other account pages in the browser, each checked with axe: password reset by e-mail
(request, sent, new password, done), e-mail addresses and password change of a signed-in
user, sign-out confirmation."""

import re
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache
from playwright.sync_api import expect

from tests.browser.accessibility import assert_accessible, axe_violations
from tests.factories import PASSWORD, UserFactory

EMAIL = "directeur@clinique-exemple.fr"
NEW_PASSWORD = "Nouvelle-phrase-de-passe-2025"


@pytest.fixture
def applicant(live_server):
    cache.clear()  # allauth's per-address rate limits live in the cache
    user = UserFactory(email=EMAIL)
    EmailAddress.objects.create(user=user, email=EMAIL, primary=True, verified=True)
    return user


def sign_in(page, password=PASSWORD):
    page.goto("/comptes/login/")
    page.get_by_label("Courriel").fill(EMAIL)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("banner")).to_contain_text(EMAIL)


@pytest.mark.browser
def test_password_reset_pages(page, applicant, mailoutbox):
    page.goto("/comptes/login/")
    page.get_by_role("link", name="Mot de passe oublié ?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Réinitialisation du mot de passe")
    assert_accessible(page)
    page.get_by_label("Courriel").fill(EMAIL)
    page.get_by_role("button").filter(has_text="initialis").click()
    expect(page).to_have_url(re.compile(r"/comptes/password/reset/done/$"))
    assert_accessible(page)

    links = re.findall(r"https?://\S+/comptes/password/reset/key/\S+/", mailoutbox[-1].body)
    page.goto(urlsplit(links[0]).path)
    expect(page.get_by_label("Nouveau mot de passe", exact=True)).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Nouveau mot de passe", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Nouveau mot de passe (confirmation)", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button").filter(has_text="mot de passe").click()
    expect(page).to_have_url(re.compile(r"/comptes/password/reset/key/done/$"))
    expect(page.get_by_role("main")).to_contain_text("modifié")
    assert_accessible(page)
    sign_in(page, NEW_PASSWORD)


@pytest.mark.browser
def test_signed_in_account_pages(page, applicant):
    sign_in(page)
    for path in ("/comptes/email/", "/comptes/password/change/", "/comptes/logout/"):
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert_accessible(page)
    # Minor and moderate findings are not blocking, but the e-mail page should have none at all.
    page.goto("/comptes/email/")
    assert [v["id"] for v in axe_violations(page, impacts=("minor", "moderate", "serious", "critical"))] == []
