"""The instructor's dossier page in the browser: from the filtered list to a dossier, on to the next one and back
to the same list; one « Instruire » menu (a menu button with the script, a plain list of links without it)."""

import datetime as dt
import re

import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from guichet.calls.models import Call, FormVersion
from guichet.dossiers import services
from guichet.establishments.models import Establishment, EstablishmentAccess, Region
from tests.browser.accessibility import assert_accessible
from tests.browser.login import log_in
from tests.factories import InstructorFactory, UserFactory

expect.set_options(timeout=15_000)
INSTRUCTOR = "instructrice@ars-hdf.sante.fr"
SCHEMA = {"sections": [{"key": "projet", "title": "Le projet", "fields": [
    {"key": "nom_projet", "type": "text", "label": "Nom du projet"}]}]}


@pytest.fixture
def filed(transactional_db):
    """Three dossiers filed on one call, by three establishments."""
    cache.clear()
    region = Region.objects.get(code="32")
    instructor = InstructorFactory(email=INSTRUCTOR, region=region)
    EmailAddress.objects.create(user=instructor, email=INSTRUCTOR, verified=True, primary=True)
    call = Call.objects.create(region=region, year=2026, title="CLACT-QVCT 2026 Hauts-de-France", slug="clact",
                               opens_at=timezone.now() - dt.timedelta(days=1),
                               closes_at=timezone.now() + dt.timedelta(days=10))
    FormVersion.objects.create(call=call, number=1, schema=SCHEMA)
    dossiers = []
    for i, name in enumerate(("CH d'Arras", "Clinique de Calais", "EHPAD de Béthune")):
        applicant = UserFactory(email=f"deposant{i}@exemple.fr")
        site = Establishment.objects.create(finess=f"59000{i:03d}6"[:9], name=name, region=region,
                                            sector="sanitaire", legal_status="public")
        EstablishmentAccess.objects.create(user=applicant, establishment=site)
        started = services.start_dossier(call, site, applicant)
        services.save_section(started, "projet", {"nom_projet": f"Projet {i}"}, None, applicant)
        dossiers.append(services.file_dossier(started, applicant))
    return dossiers


def test_from_the_list_to_the_next_dossier_and_back_with_one_instruire_menu(page, filed):
    log_in(page, INSTRUCTOR, "/instruction/appels/clact/?onglet=tous&tri=etablissement")
    page.get_by_role("link", name=filed[0].number).click()  # « CH d'Arras », first by establishment
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Dossier n° {filed[0].number}")
    expect(page.get_by_role("link", name="Dossier précédent")).to_have_attribute("aria-disabled", "true")

    menu = page.get_by_role("button", name="Instruire", exact=True)
    links = page.locator("#instruire-liste")
    expect(links).to_be_hidden()
    menu.click()
    expect(links.get_by_role("link", name="Passer en instruction")).to_be_focused()
    assert_accessible(page)
    page.keyboard.press("Escape")
    expect(links).to_be_hidden()
    expect(menu).to_be_focused()

    page.get_by_role("link", name="Dossier suivant").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Dossier n° {filed[1].number}")
    page.get_by_role("link", name="Dossier suivant").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Dossier n° {filed[2].number}")
    expect(page.get_by_role("link", name="Dossier suivant")).to_have_attribute("aria-disabled", "true")
    page.get_by_role("link", name="Retour à la liste").click()
    expect(page).to_have_url(re.compile(r"/instruction/appels/clact/\?onglet=tous&tri=etablissement$"))


def test_without_javascript_the_menu_is_a_list_of_links_to_each_decision(browser, browser_context_args, filed,
                                                                         live_server):
    context = browser.new_context(**{**browser_context_args, "java_script_enabled": False})
    page = context.new_page()
    log_in(page, INSTRUCTOR, f"/instruction/dossiers/{filed[0].pk}/")
    expect(page.get_by_role("heading", level=2, name="Instruire")).to_be_visible()
    page.locator("#instruire-liste").get_by_role("link", name="Passer en instruction").click()
    page.get_by_role("button", name="Confirmer : Passer en instruction").click()
    expect(page.locator("#dossier-state")).to_have_text("En instruction")
    context.close()
