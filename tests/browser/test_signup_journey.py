"""A person creates an account in the browser: sign-up form, verification e-mail, confirmation,
signed in on the home page; then signs out and signs in again. Every page passes axe
(no serious or critical violation) and the DSFR stylesheet and script are loaded."""

import os
import re
import shutil
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from guichet.accounts.models import User
from tests.browser.accessibility import assert_accessible

EMAIL = "responsable.rh@ehpad-exemple.fr"
PASSWORD = "Qualite-de-vie-au-travail-2025"
DSFR_BLUE = "rgb(0, 0, 145)"  # --blue-france-sun-113-625, the primary button colour


def confirmation_path(mailoutbox) -> str:
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [EMAIL]
    links = re.findall(r"https?://\S+/comptes/confirm-email/\S+/", message.body)
    assert len(links) == 1, message.body
    return urlsplit(links[0]).path


@pytest.mark.browser
def test_sign_up_confirm_and_sign_in(page, live_server, mailoutbox, failed_requests, tmp_path):
    # Home page, as an anonymous visitor.
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Guichet CLACT")
    assert_accessible(page)

    # The DSFR assets are served and applied: primary button colour, DSFR script started.
    # The header's tool link (the home page offers the same link in its presentation).
    page.locator("header").get_by_role("link", name="Créer un compte").click()
    expect(page).to_have_url(re.compile(r"/comptes/signup/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Créer un compte")
    submit = page.get_by_role("button", name="Créer mon compte")
    assert submit.evaluate("el => getComputedStyle(el).backgroundColor") == DSFR_BLUE
    page.wait_for_function("() => document.documentElement.hasAttribute('data-fr-js')")
    page.screenshot(path=str(tmp_path / "signup.png"), full_page=True)
    assert_accessible(page)

    # A first attempt with mistakes: the errors are announced and the page stays accessible.
    page.get_by_label("Courriel").fill("pas-une-adresse")
    submit.click()
    expect(page.get_by_role("alert")).to_contain_text("Le formulaire contient des erreurs")
    expect(page.get_by_label("Courriel")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)

    # The form filled with the keyboard only.
    page.get_by_label("Courriel").click()
    page.keyboard.press("Control+A")
    page.keyboard.type(EMAIL)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Mot de passe", exact=True)).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.get_by_label("Mot de passe (confirmation)", exact=True).focus()
    page.keyboard.type(PASSWORD)
    # DSFR's password component: "Afficher" reveals the password (DSFR script at work).
    page.get_by_text("Afficher").first.click()
    expect(page.get_by_label("Mot de passe", exact=True)).to_have_attribute("type", "text")
    page.get_by_label("Mot de passe (confirmation)", exact=True).press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Vérifiez votre adresse e-mail")
    assert_accessible(page)
    assert User.objects.filter(email=EMAIL).exists()

    # The link of the verification e-mail, then the confirmation button.
    page.goto(confirmation_path(mailoutbox))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Confirmer")
    expect(page.get_by_text(EMAIL).first).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Confirmer").click()

    # Signed in, on the home page.
    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tableau de bord")  # the logged-in home page
    expect(page.get_by_role("banner")).to_contain_text(EMAIL)
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()
    page.screenshot(path=str(tmp_path / "home.png"), full_page=True)
    assert_accessible(page)

    # Sign out, then sign in again with the password.
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("banner").get_by_role("link", name="Se connecter")).to_be_visible()
    page.get_by_role("banner").get_by_role("link", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Se connecter à Guichet CLACT")
    assert_accessible(page)
    page.get_by_label("Courriel").fill(EMAIL)
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_role("banner")).to_contain_text(EMAIL)

    assert failed_requests == []
    if os.environ.get("GUICHET_SCREENSHOTS"):
        shutil.copytree(tmp_path, os.environ["GUICHET_SCREENSHOTS"], dirs_exist_ok=True)
