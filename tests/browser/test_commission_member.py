"""A commission member in the browser: a union representative (an applicant-role account) sitting on a
session logs in, opens « Mes séances » from the menu, reads a dossier of the agenda, scores it with the
keyboard only (a mistake first, explained at its field), and sees their mark; every page passes axe."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from guichet.calls.models import Call, FormVersion
from guichet.commission import arbitration
from guichet.commission.models import Criterion, Score
from guichet.dossiers import services, workflow
from guichet.establishments.models import Establishment, EstablishmentAccess, Region
from tests.browser.accessibility import assert_accessible
from tests.browser.login import log_in
from tests.factories import InstructorFactory, UserFactory

expect.set_options(timeout=15_000)
MEMBER = "representante@syndicat-sante.fr"
SCHEMA = {"sections": [{"key": "projet", "title": "Le projet", "fields": [
    {"key": "nom_projet", "type": "text", "label": "Nom du projet", "required": True},
]}]}


@pytest.fixture
def agenda(transactional_db):
    cache.clear()  # allauth's per-address rate limits live in the cache
    region = Region.objects.get(code="32")
    applicant, member = UserFactory(email="deposant@ch-exemple.fr"), UserFactory(email=MEMBER)
    instructor = InstructorFactory(email="instructeur@ars-hdf.sante.fr", region=region)
    EmailAddress.objects.create(user=member, email=MEMBER, verified=True, primary=True)
    establishment = Establishment.objects.create(finess="590000006", name="CH EXEMPLE", region=region,
                                                 sector="sanitaire", legal_status="public")
    EstablishmentAccess.objects.create(user=applicant, establishment=establishment)
    call = Call.objects.create(region=region, year=2026, title="CLACT-QVCT 2026 Hauts-de-France", slug="clact",
                               opens_at=timezone.now() - dt.timedelta(days=1),
                               closes_at=timezone.now() + dt.timedelta(days=10))
    FormVersion.objects.create(call=call, number=1, schema=SCHEMA)
    diagnostic = Criterion.objects.create(call=call, label="Qualité du diagnostic", weight=Decimal("2"), scale_max=5,
                                          order=1)
    dialogue = Criterion.objects.create(call=call, label="Dialogue social", weight=Decimal("1"), scale_max=10,
                                        order=2)
    started = services.start_dossier(call, establishment, applicant)
    services.save_section(started, "projet", {"nom_projet": "Ateliers de prévention des TMS"}, None, applicant)
    dossier = services.file_dossier(started, applicant)
    workflow.apply(dossier, "passer_en_instruction", instructor)
    dossier.refresh_from_db()
    session = arbitration.create_session(call, instructor, title="Commission du 12 mars",
                                         held_on=timezone.now() + dt.timedelta(days=7), place="Lille")
    arbitration.add_member(session, instructor, member, "membre", "Organisation syndicale")
    added, refused = arbitration.add_to_agenda(session, [dossier], instructor)
    assert added and not refused
    return dossier, member, (diagnostic, dialogue)


@pytest.mark.browser
def test_a_member_scores_a_dossier_of_their_session_with_the_keyboard(page, live_server, agenda):
    dossier, member, (diagnostic, dialogue) = agenda
    log_in(page, MEMBER, "/dossiers/")
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Mes séances").click()
    expect(page).to_have_url(re.compile(r"/commission/mes-seances/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes séances de commission")
    expect(page.get_by_role("heading", level=2, name="Commission du 12 mars")).to_be_visible()
    assert_accessible(page)

    # The dossier, read-only: its answers, and the way to its grid.
    page.get_by_role("link", name=f"Dossier n° {dossier.number}", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Dossier n° {dossier.number} en commission")
    expect(page.get_by_text("Ateliers de prévention des TMS")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Noter ce dossier").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Notation du dossier n° {dossier.number}")
    assert_accessible(page)

    # Keyboard only: a mark above the scale first, refused at its field.
    first = page.get_by_label("Note — Qualité du diagnostic")
    first.focus()
    page.keyboard.type("7")
    page.keyboard.press("Tab")  # the comment
    page.keyboard.type("Diagnostic partagé avec le CSE")
    page.keyboard.press("Tab")  # the second mark
    page.keyboard.type("5")
    page.keyboard.press("Enter")
    first = page.get_by_label("Note — Qualité du diagnostic")
    expect(first).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"#note-{diagnostic.pk}-messages")).to_have_text("Saisissez un nombre entier de 0 à 5.")
    expect(page.get_by_label("Note — Dialogue social")).to_have_value("5")
    assert_accessible(page)
    assert not Score.objects.exists()

    first.focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("4")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Votre notation est enregistrée.")).to_be_visible()
    # (2 × 4/5 + 1 × 5/10) / 3 × 20 = 14
    expect(page.locator("#note-moyenne")).to_contain_text("votre note : 14,00 / 20")
    expect(page.get_by_label("Commentaire — Qualité du diagnostic (facultatif)")).to_have_value(
        "Diagnostic partagé avec le CSE")
    assert_accessible(page)
    assert Score.objects.filter(dossier=dossier, scorer=member).count() == 2

    # Back on « Mes séances », the mark is in the agenda.
    page.get_by_role("link", name="Mes séances").first.click()
    expect(page.get_by_role("row", name=re.compile(dossier.number))).to_contain_text("14,00")
    assert_accessible(page)
