"""An ARS instructor handles a filed dossier in the browser: takes it into instruction, asks for a
correction with a message; the applicant changes an answer, adds a file and files the corrections;
the instructor takes it back into instruction and accepts it. The instructor's page passes axe at
every step."""

import datetime as dt
import re

import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from guichet.calls.models import Call, FormVersion
from guichet.dossiers import services
from guichet.dossiers.models import Dossier, DossierEvent
from guichet.establishments.models import Establishment, EstablishmentAccess, Region
from tests.browser.accessibility import assert_accessible
from tests.browser.instruire import instruire
from tests.browser.login import log_in  # also imported from here by other journeys
from tests.factories import InstructorFactory, UserFactory

expect.set_options(timeout=15_000)

APPLICANT, INSTRUCTOR = "deposant@ch-exemple.fr", "instructeur@ars-hdf.sante.fr"
SCHEMA = {"sections": [{"key": "projet", "title": "Le projet", "fields": [
    {"key": "nom_projet", "type": "text", "label": "Nom du projet", "required": True},
    {"key": "duerp", "type": "file", "label": "Document unique (DUERP)", "allowed_types": ["pdf"]},
]}]}
MESSAGE = "Merci de joindre le document unique (DUERP) et de préciser le nom du projet."


@pytest.fixture
def dossier(transactional_db):
    cache.clear()  # allauth's per-address rate limits live in the cache
    region = Region.objects.get(code="32")
    user = UserFactory(email=APPLICANT)
    instructor = InstructorFactory(email=INSTRUCTOR, region=region)
    for person in (user, instructor):
        EmailAddress.objects.create(user=person, email=person.email, verified=True, primary=True)
    establishment = Establishment.objects.create(finess="590000006", name="CH EXEMPLE", region=region,
                                                 sector="sanitaire", legal_status="public")
    EstablishmentAccess.objects.create(user=user, establishment=establishment)
    call = Call.objects.create(region=region, year=2026, title="CLACT-QVCT 2026 Hauts-de-France", slug="clact",
                               opens_at=timezone.now() - dt.timedelta(days=1),
                               closes_at=timezone.now() + dt.timedelta(days=10))
    FormVersion.objects.create(call=call, number=1, schema=SCHEMA)
    started = services.start_dossier(call, establishment, user)
    services.save_section(started, "projet", {"nom_projet": "Ateliers"}, None, user)
    return services.file_dossier(started, user)


def state_is(page, label):
    expect(page.locator("#dossier-state")).to_have_text(label)


@pytest.mark.browser
def test_instructor_asks_for_a_correction_then_accepts(page, browser, browser_context_args, live_server, dossier,
                                                       tmp_path, mailoutbox):
    dossier = Dossier.objects.get(pk=dossier.pk)
    instruction_url = f"/instruction/dossiers/{dossier.pk}/"
    # The workspace of the call: the new dossier waits in « À traiter »; the page passes axe.
    log_in(page, INSTRUCTOR, "/instruction/appels/clact/")
    expect(page.get_by_role("link", name=dossier.number)).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name=dossier.number).click()
    expect(page).to_have_url(re.compile(re.escape(instruction_url) + r"\?onglet=a_traiter$"))  # the list travels
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Dossier n° {dossier.number}")
    state_is(page, "En construction")
    assert_accessible(page)

    instruire(page, "Passer en instruction")
    state_is(page, "En instruction")
    expect(page.get_by_text("Le dossier est passé en instruction.")).to_be_visible()
    expect(page).to_have_url(re.compile(re.escape(instruction_url) + r"\?onglet=a_traiter$"))
    assert_accessible(page)

    # The message is mandatory: an empty one is refused at its field, on the decision's own page.
    instruire(page, "Demander une correction")
    message = page.get_by_label("Message au déposant")
    expect(message).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#motivation-demander_correction-messages")).to_contain_text("Saisissez message au déposant")
    assert_accessible(page)
    message.fill(MESSAGE)
    page.get_by_role("button", name="Confirmer : Demander une correction", exact=True).click()
    state_is(page, "En construction")
    expect(page.locator("#historique ~ ol")).to_contain_text(MESSAGE)
    assert_accessible(page)
    assert any(MESSAGE in m.body and m.to == [APPLICANT] for m in mailoutbox)

    # The applicant, in a browser of their own, corrects the dossier and files the corrections.
    applicant_context = browser.new_context(**browser_context_args)
    applicant = applicant_context.new_page()
    log_in(applicant, APPLICANT, f"/dossiers/{dossier.pk}/partie/projet/")
    expect(applicant.get_by_role("heading", level=2, name="Le projet")).to_be_visible()
    name = applicant.get_by_label("Nom du projet")
    expect(name).to_be_editable()
    name.fill("Ateliers de prévention des TMS")
    name.press("Tab")
    expect(applicant.locator("#save-status")).to_contain_text("Enregistré")
    duerp = tmp_path / "duerp.pdf"
    duerp.write_bytes(b"%PDF-1.4\n% document unique de demonstration\n")
    applicant.get_by_label("Document unique (DUERP)").set_input_files(str(duerp))
    expect(applicant.locator("#champ-duerp-current")).to_contain_text("duerp.pdf")
    applicant.goto(f"/dossiers/{dossier.pk}/deposer/")
    applicant.get_by_role("button", name="Déposer les corrections", exact=True).click()
    expect(applicant.get_by_text("Vos corrections ont été déposées")).to_be_visible()
    applicant_context.close()
    dossier.refresh_from_db()
    assert dossier.answers["nom_projet"] == "Ateliers de prévention des TMS"
    assert dossier.attachments.filter(original_name="duerp.pdf").exists()
    assert not dossier.correction_requested

    # The instructor takes it back and accepts it.
    page.goto(instruction_url)
    expect(page.get_by_text("Ateliers de prévention des TMS")).to_be_visible()
    expect(page.locator("#historique ~ ol")).to_contain_text("Déposer les corrections")
    assert_accessible(page)
    instruire(page, "Passer en instruction")
    state_is(page, "En instruction")
    instruire(page, "Accepter")
    state_is(page, "Accepté")
    expect(page.get_by_text("Le dossier est accepté.")).to_be_visible()
    assert_accessible(page)
    assert list(DossierEvent.objects.filter(dossier=dossier).exclude(event="").values_list("event", flat=True)) == [
        "passer_en_instruction", "demander_correction", "deposer_corrections", "passer_en_instruction", "accepter"]
