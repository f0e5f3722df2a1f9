"""The messagerie in the browser: the applicant sends the awaited CSE opinion through the thread, the
instructor reads it and answers; an attempt to inject HTML is shown as text; every page passes axe."""

import datetime as dt

import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from guichet.calls.models import Call, FormVersion
from guichet.dossiers import services
from guichet.establishments.models import Establishment, EstablishmentAccess, Region
from guichet.messaging.models import AwaitedDocument, Message
from tests.browser.accessibility import assert_accessible
from tests.browser.login import log_in
from tests.factories import InstructorFactory, UserFactory

expect.set_options(timeout=15_000)
APPLICANT, INSTRUCTOR = "rh@ehpad-colmar.fr", "instructrice@ars-grand-est.fr"


@pytest.fixture
def dossier(transactional_db):
    cache.clear()
    region = Region.objects.get(code="44")
    user = UserFactory(email=APPLICANT)
    instructor = InstructorFactory(email=INSTRUCTOR, region=region)
    for person in (user, instructor):
        EmailAddress.objects.create(user=person, email=person.email, verified=True, primary=True)
    establishment = Establishment.objects.create(finess="680000007", name="EHPAD DE COLMAR", region=region,
                                                 sector="medico_social", legal_status="public")
    EstablishmentAccess.objects.create(user=user, establishment=establishment)
    call = Call.objects.create(region=region, year=2026, title="CLACT 2025-2026 Grand Est", slug="clact-ge",
                               opens_at=timezone.now() - dt.timedelta(days=1),
                               closes_at=timezone.now() + dt.timedelta(days=10),
                               required_documents=[{"label": "Avis du CSE", "part": 4, "optional": False,
                                                    "may_come_later": True}])
    FormVersion.objects.create(call=call, number=1, schema={"sections": [{"key": "projet", "title": "Projet",
                               "fields": [{"key": "nom", "type": "text", "label": "Nom du projet"}]}]})
    started = services.start_dossier(call, establishment, user)
    return services.file_dossier(started, user)


@pytest.mark.browser
def test_the_awaited_cse_opinion_arrives_through_the_messagerie(page, browser, browser_context_args, live_server,
                                                                 dossier, tmp_path):
    url = f"/messagerie/dossiers/{dossier.pk}/"
    log_in(page, APPLICANT, url)
    expect(page.get_by_text("Avis du CSE").first).to_be_visible()
    assert_accessible(page)
    opinion = tmp_path / "PV CSE.pdf"
    opinion.write_bytes(b"%PDF-1.4\nproces-verbal du CSE")
    page.get_by_label("Votre message").fill("Voici l'avis du CSE <script>alert(1)</script>, réuni le 12 janvier.")
    page.get_by_label("Pièce jointe (facultative)").set_input_files(str(opinion))
    page.get_by_label("Ce fichier est la pièce attendue").select_option(index=1)  # the only awaited document
    page.get_by_role("button", name="Envoyer").click()
    expect(page.get_by_text("<script>alert(1)</script>", exact=False)).to_be_visible()  # shown as text
    assert_accessible(page)
    assert AwaitedDocument.objects.get(dossier=dossier).received_at is not None

    ars = browser.new_context(**browser_context_args).new_page()
    log_in(ars, INSTRUCTOR, url)
    expect(ars.get_by_text("réuni le 12 janvier")).to_be_visible()
    expect(ars.get_by_role("link", name="PV CSE.pdf")).to_be_visible()
    ars.get_by_label("Votre message").fill("Bien reçu, merci.")
    ars.get_by_role("button", name="Envoyer").click()
    expect(ars.get_by_text("Bien reçu, merci.")).to_be_visible()
    assert_accessible(ars)
    assert Message.objects.filter(dossier=dossier, from_ars=True, body="Bien reçu, merci.").exists()
