"""A commission arbitrates three dossiers within the call's envelope in the browser: the instructor puts
them on the session's agenda, types the amounts granted (the totals follow; an amount past the
envelope is refused at its field), records the decisions and applies them; the applicant then
downloads the decision letter and the convention from the dossier's page. Every page passes axe."""

import datetime as dt
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from guichet.calls.models import Call, FormVersion
from guichet.commission import arbitration
from guichet.dossiers.models import Dossier, State
from guichet.establishments.models import Establishment, EstablishmentAccess, Region
from guichet.funding.models import Grant
from tests.browser.accessibility import assert_accessible
from tests.browser.test_instruction_journey import log_in
from tests.factories import UserFactory

expect.set_options(timeout=15_000)

APPLICANT, INSTRUCTOR = "deposant@ch-nancy.fr", "instructeur@ars-grand-est.sante.fr"
SCHEMA = {"sections": [{"key": "projet", "title": "Le projet", "fields": [
    {"key": "actions", "type": "repeat", "label": "Actions", "fields": [
        {"key": "intitule", "type": "text", "label": "Intitulé", "required": True},
        {"key": "cout_total", "type": "amount", "label": "Coût total", "required": True},
        {"key": "montant_demande", "type": "amount", "label": "Montant demandé", "required": True},
    ]},
]}]}
PROJECTS = [("CH de Nancy (démonstration)", "540000007", [("Formation des encadrants", "8000", "4000")]),
            ("Clinique de Metz (démonstration)", "570000000", [("Rails de transfert", "16000", "8000")]),
            ("EHPAD de Reims (démonstration)", "510000003", [("Séminaire de cohésion", "4000", "2000")])]


@pytest.fixture
def session(transactional_db):
    cache.clear()
    region = Region.objects.get(code="44")
    applicant = UserFactory(email=APPLICANT)
    instructor = UserFactory(email=INSTRUCTOR, role="instructor", region=region)
    for person in (applicant, instructor):
        EmailAddress.objects.create(user=person, email=person.email, verified=True, primary=True)
    call = Call.objects.create(region=region, year=2025, title="CLACT-QVCT 2025 Grand Est", slug="clact-ge",
                               opens_at=timezone.now() - dt.timedelta(days=60),
                               closes_at=timezone.now() - dt.timedelta(days=10), envelope=Decimal("10000.00"))
    version = FormVersion.objects.create(call=call, number=1, schema=SCHEMA)
    for name, finess, actions in PROJECTS:
        establishment = Establishment.objects.create(finess=finess, name=name, region=region, sector="sanitaire",
                                                     legal_status="public")
        dossier = Dossier.objects.create(
            call=call, form_version=version, establishment=establishment, created_by=applicant,
            state=State.EN_INSTRUCTION, first_filed_at=timezone.now() - dt.timedelta(days=20),
            answers={"actions": [{"intitule": t, "cout_total": c, "montant_demande": r} for t, c, r in actions]})
        dossier.number = f"2025-44-{dossier.pk:06d}"
        dossier.save()
        if finess == "540000007":
            dossier.members.add(applicant)
            EstablishmentAccess.objects.create(user=applicant, establishment=establishment)
    return arbitration.create_session(call, instructor, title="Commission d'arbitrage de mars",
                                      held_on=timezone.now() + dt.timedelta(days=2), place="Nancy",
                                      signatory_name="Claire Dupont")


def amount(page, label):
    return page.get_by_label(label, exact=True)


@pytest.mark.browser
def test_commission_arbitrates_within_the_envelope_and_the_applicant_downloads_the_letters(
        page, browser, browser_context_args, live_server, session, tmp_path):
    dossiers = {d.establishment.finess: d for d in Dossier.objects.filter(call=session.call)
                .select_related("establishment")}
    nancy, metz, reims = dossiers["540000007"], dossiers["570000000"], dossiers["510000003"]
    log_in(page, INSTRUCTOR, f"/commission/seances/{session.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Commission d'arbitrage de mars")
    assert_accessible(page)

    # The agenda: the three dossiers in instruction are offered and put on it.
    page.get_by_role("link", name="Inscrire des dossiers à l'ordre du jour").click()
    for d in (nancy, metz, reims):  # with the keyboard (the DSFR label covers the box for the mouse)
        box = page.get_by_label(f"n° {d.number}", exact=False)
        box.focus()
        page.keyboard.press("Space")
        expect(box).to_be_checked()
    assert_accessible(page)
    page.get_by_role("button", name="Inscrire les dossiers cochés").click()
    expect(page.get_by_text("3 dossiers inscrits à l'ordre du jour.")).to_be_visible()
    assert_accessible(page)

    # Amounts typed with the keyboard: saved on leaving the field, the totals follow.
    field = amount(page, f"Montant accordé — Formation des encadrants, dossier {nancy.number}")
    field.fill("4 000")
    field.press("Tab")
    expect(page.get_by_test_id("reste")).to_have_text("6\u202f000,00\u00a0€")
    field = amount(page, f"Montant accordé — Rails de transfert, dossier {metz.number}")
    field.fill("7 000")
    field.press("Tab")
    expect(page.get_by_text("L'enveloppe de l'appel (10\u202f000,00\u00a0€) serait dépassée de 1\u202f000,00")) \
        .to_be_visible()
    field = amount(page, f"Montant accordé — Rails de transfert, dossier {metz.number}")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_value("7 000")  # what was typed is kept
    assert_accessible(page)
    field.fill("6 000")
    field.press("Tab")
    expect(page.get_by_test_id("reste")).to_have_text("0,00\u00a0€")
    expect(page.get_by_test_id("engage")).to_have_text("10\u202f000,00\u00a0€")

    # Decisions: two accepted, one refused with its motivation.
    for d, decision in ((nancy, "Accepter"), (metz, "Accepter"), (reims, "Refuser")):
        page.get_by_label(f"Décision — dossier {d.number}").select_option(label=decision)
        if decision == "Refuser":
            page.locator(f"#dossier-{d.agenda_items.get().pk}").get_by_label("Motivation").fill(
                "Le projet ne comporte pas de diagnostic partagé.")
        page.locator(f"#dossier-{d.agenda_items.get().pk}").get_by_role("button", name="Enregistrer la décision") \
            .click()
        expect(page.get_by_text(f"Décision enregistrée pour le dossier {d.number}")).to_be_visible()
    # The session sits in two days: applying now is refused until a reason is given, at its field.
    page.get_by_role("button", name="Appliquer les décisions de la séance").click()
    reason = page.get_by_label("Motif d'une application avant la séance")
    expect(reason).to_have_attribute("aria-invalid", "true")
    reason.fill("Avis de la commission recueilli par écrit, séance maintenue pour le bilan.")
    page.get_by_role("button", name="Appliquer les décisions de la séance").click()
    expect(page.get_by_text("Les décisions sont appliquées à 3 dossiers")).to_be_visible()
    assert_accessible(page)
    states = dict(Dossier.objects.filter(call=session.call).values_list("pk", "state"))
    assert states == {nancy.pk: State.ACCEPTE, metz.pk: State.ACCEPTE, reims.pk: State.REFUSE}
    assert Grant.objects.get(dossier=nancy).total == Decimal("4000.00")

    # The applicant downloads the letter and the convention from the dossier's page.
    context = browser.new_context(**browser_context_args, accept_downloads=True)
    applicant = context.new_page()
    log_in(applicant, APPLICANT, f"/dossiers/{nancy.pk}/")
    expect(applicant.get_by_role("heading", level=2, name="Documents de la décision")).to_be_visible()
    assert_accessible(applicant)
    for name in ("Lettre de notification", "Convention de financement"):
        with applicant.expect_download() as info:
            applicant.get_by_role("link", name=name).click()
        target = tmp_path / info.value.suggested_filename
        info.value.save_as(target)
        assert target.read_bytes().startswith(b"%PDF")
        assert name.split()[0] in info.value.suggested_filename
    context.close()
