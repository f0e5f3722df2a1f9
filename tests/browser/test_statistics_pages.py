"""The statistics pages in the browser (issue 13): the call's, the region's and the national one, at 1 280 px and
375 px, on the realistic set of tests/test_statistics.py — no serious or critical axe violation, no sideways scroll,
each chart reachable with the keyboard and named, its data one click away, and the national reader's home page
leading to its figures."""

import pytest
from allauth.account.models import EmailAddress

from guichet.accounts.models import Role
from tests.browser.accessibility import assert_accessible
from tests.browser.login import log_in
from tests.factories import UserFactory
from tests.statistics_data import build_data

pytestmark = pytest.mark.browser
WIDTHS = (1280, 375)
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


@pytest.fixture
def data(transactional_db):
    built = build_data()
    built["national"] = UserFactory(email="lecteur@sante.gouv.fr", role=Role.NATIONAL)
    built["superuser"] = UserFactory(email="super@sante.gouv.fr", is_superuser=True, is_staff=True)
    for key in ("staff", "national", "superuser"):
        EmailAddress.objects.create(user=built[key], email=built[key].email, verified=True, primary=True)
    return built


def _check(page, path):
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(path)
        assert page.locator("h1").inner_text().startswith("Statistiques")
        assert page.evaluate(OVERFLOW) <= 0, f"{path} scrolls sideways at {width} px"
        assert_accessible(page)
        chart = page.locator('svg[role="img"]').first
        chart.focus()
        assert page.evaluate("() => document.activeElement.tagName.toLowerCase()") == "svg"
        assert chart.get_attribute("aria-labelledby")
        details = page.locator("details").first
        details.locator("summary").click()
        assert details.locator("table").is_visible()
        assert_accessible(page)  # with a data table open


def test_call_and_region_pages_of_an_instructor(page, live_server, data):
    log_in(page, data["staff"].email, "/comptes/login/")
    page.goto("/instruction/appels/clact-2024-hdf/")
    page.get_by_role("link", name="Statistiques", exact=True).first.click()
    _check(page, "/suivi/appels/clact-2024-hdf/statistiques/")
    _check(page, "/suivi/statistiques/regions/hauts-de-france/")


def test_national_page_of_the_national_reader(page, live_server, data):
    log_in(page, data["national"].email, "/comptes/login/")
    page.goto("/")
    page.get_by_role("link", name="Voir les statistiques nationales").click()
    page.wait_for_url("**/suivi/statistiques/national/")
    _check(page, "/suivi/statistiques/national/")


def test_region_choice_of_a_superuser(page, live_server, data):
    log_in(page, data["superuser"].email, "/comptes/login/")
    page.goto("/suivi/statistiques/regions/")
    assert_accessible(page)
    page.get_by_role("link", name="ARS Grand Est").click()
    page.wait_for_url("**/regions/grand-est/")
    _check(page, "/suivi/statistiques/regions/grand-est/")


def test_the_instructor_publishes_the_call_s_figures_for_anyone(page, live_server, data):
    log_in(page, data["staff"].email, "/comptes/login/")
    page.goto("/suivi/appels/clact-2024-hdf/statistiques/")
    assert page.get_by_role("link", name="Bilan de l'appel (PDF)").get_attribute("href").endswith("/bilan.pdf")
    page.get_by_role("button", name="Publier les chiffres de l'appel").click()
    page.wait_for_url("**/suivi/appels/clact-2024-hdf/statistiques/")
    assert page.get_by_text("La page publique des chiffres de l'appel est en ligne.").is_visible()
    assert_accessible(page)
    page.context.clear_cookies()
    page.goto("/appels/clact-2024-hdf/")
    page.get_by_role("link", name="Les chiffres de l'appel à projets").click()
    page.wait_for_url("**/appels/clact-2024-hdf/chiffres/")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.reload()
        assert page.locator("h1").inner_text() == "Les chiffres de l'appel à projets"
        assert page.evaluate(OVERFLOW) <= 0, f"the public page scrolls sideways at {width} px"
        assert_accessible(page)
