"""The header on a phone (375 px, issue 12): the « Menu » button opens the DSFR menu, where signing in, signing up,
the account and signing out are reachable and work by keyboard, with each role's navigation; and the DSFR script
runs without error (it used to throw « Cannot read properties of null (reading 'innerHTML') » on every page)."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache
from playwright.sync_api import expect

from guichet.dossiers.models import State
from guichet.messaging import services as messaging
from tests.browser.accessibility import assert_accessible
from tests.browser.login import log_in
from tests.factories import DossierFactory, InstructorFactory, UserFactory

PHONE = {"width": 375, "height": 812}


@pytest.fixture
def phone(page):
    """The test's page at a phone's width, recording every script error and console error it shows."""
    page.set_viewport_size(PHONE)
    errors = []
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    page.on("console", lambda message: errors.append(f"{page.url}: {message.text}")
            if message.type == "error" else None)
    yield page
    assert not errors, "Erreurs dans la console du navigateur :\n" + "\n".join(errors)


def verified(user):
    """A user whose address is confirmed, so that signing in leads straight to the site."""
    cache.clear()  # allauth's per-address rate limits live in the cache
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    return user


def open_menu(page):
    """Open the header's menu with the keyboard, as someone without a mouse would."""
    button = page.get_by_role("button", name="Menu", exact=True)
    expect(button).to_be_visible()
    button.focus()
    page.keyboard.press("Enter")
    menu = page.locator("#header-menu-modal")
    expect(menu).to_be_visible()
    return menu


def follow(page, locator):
    """Reach a link or button of the menu and activate it with the keyboard."""
    expect(locator).to_be_visible()
    locator.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_visitor_reaches_sign_in_and_sign_up_from_the_menu(phone, live_server):
    page = phone
    page.goto("/")
    # The desktop tools are hidden on a phone: the menu is the only way to them.
    expect(page.locator(".fr-header__tools-links").get_by_role("link", name="Se connecter")).to_be_hidden()
    menu = open_menu(page)
    expect(menu.get_by_role("link", name="Appels à projets")).to_be_visible()
    assert_accessible(page)
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    menu = open_menu(page)
    follow(page, menu.get_by_role("link", name="Créer un compte"))
    expect(page).to_have_url(re.compile(r"/comptes/signup/$"))
    menu = open_menu(page)
    follow(page, menu.get_by_role("link", name="Se connecter"))
    expect(page).to_have_url(re.compile(r"/comptes/login/$"))


def test_applicant_reaches_their_pages_account_and_sign_out(phone, live_server):
    page = phone
    user = verified(UserFactory(email="deposante@ehpad-exemple.fr"))
    dossier = DossierFactory(created_by=user)
    dossier.number, dossier.state = f"2024-32-{dossier.pk:06d}", State.EN_CONSTRUCTION
    dossier.save()
    messaging.post_message(dossier, InstructorFactory(), "Pouvez-vous joindre l'avis du CSE ?")
    log_in(page, user.email, "/dossiers/")
    # Her home page: the dossier, with the message she has not read, reachable by keyboard.
    page.goto("/")
    assert_accessible(page)
    follow(page, page.get_by_role("main").get_by_role("link", name="1 message non lu"))
    expect(page.get_by_role("main")).to_contain_text("Pouvez-vous joindre l'avis du CSE ?")
    page.goto("/")
    expect(page.get_by_role("main").get_by_role("link", name="1 message non lu")).to_have_count(0)
    menu = open_menu(page)
    for label in ("Mes dossiers", "Mes établissements", "Mes subventions"):
        expect(menu.get_by_role("link", name=label)).to_be_visible()
    follow(page, menu.get_by_role("link", name=user.email))
    expect(page).to_have_url(re.compile(r"/comptes/email/$"))
    menu = open_menu(page)
    follow(page, menu.get_by_role("link", name="Mes dossiers"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes dossiers")
    menu = open_menu(page)
    follow(page, menu.get_by_role("button", name="Se déconnecter"))
    menu = open_menu(page)
    expect(menu.get_by_role("link", name="Se connecter")).to_be_visible()
    expect(menu.get_by_role("link", name="Mes dossiers")).to_have_count(0)


def test_instructor_menu_has_the_ars_pages_only(phone, live_server):
    page = phone
    user = verified(InstructorFactory(email="instructrice@ars-exemple.fr"))
    log_in(page, user.email, "/instruction/appels/")
    menu = open_menu(page)
    expect(menu.get_by_role("link", name="Espace instructeur")).to_be_visible()
    expect(menu.get_by_role("link", name="Rattachements")).to_be_visible()
    expect(menu.get_by_role("link", name="Mes dossiers")).to_have_count(0)
    expect(menu.get_by_role("link", name="Mes établissements")).to_have_count(0)
    page.keyboard.press("Escape")
    page.goto("/")
    expect(page.get_by_role("heading", name="Appels à projets à instruire")).to_be_visible()
    assert_accessible(page)
    menu = open_menu(page)
    follow(page, menu.get_by_role("link", name="Espace instructeur"))
    expect(page).to_have_url(re.compile(r"/instruction/appels/$"))
    assert_accessible(page)


def test_desktop_header_keeps_its_tools_and_navigation(page, live_server):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/")
    expect(page.get_by_role("button", name="Menu", exact=True)).to_be_hidden()
    expect(page.locator(".fr-header__tools-links").get_by_role("link", name="Se connecter")).to_be_visible()
    expect(page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Appels à projets")
           ).to_be_visible()
    assert not errors, errors
