"""Who acts for an establishment, in the browser: a director claims it, the ARS of the region confirms the
first claim from its « Rattachements » page, then the new referent refuses a stranger's claim (the missing
reason announced at its field) and names a colleague referent; every page passes axe."""

import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache
from playwright.sync_api import expect

from guichet.establishments import claims
from guichet.establishments.models import (
    Establishment,
    EstablishmentAccess,
    MembershipRequest,
    MembershipRole,
    Region,
    RequestStatus,
)
from tests.browser.accessibility import assert_accessible
from tests.browser.test_messaging_journey import log_in
from tests.factories import InstructorFactory, UserFactory

expect.set_options(timeout=15_000)
DIRECTOR, INSTRUCTOR, STRANGER, COLLEAGUE = ("directeur@ehpad-amiens.fr", "instructrice@ars-hdf.fr",
                                             "inconnu@exemple.fr", "drh@ehpad-amiens.fr")


@pytest.fixture
def establishment(transactional_db):
    cache.clear()
    region = Region.objects.get(code="32")
    for email in (DIRECTOR, STRANGER, COLLEAGUE):
        user = UserFactory(email=email)
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    instructor = InstructorFactory(email=INSTRUCTOR, region=region)
    EmailAddress.objects.create(user=instructor, email=INSTRUCTOR, verified=True, primary=True)
    return Establishment.objects.create(finess="800000002", name="EHPAD D'AMIENS", region=region, city="AMIENS",
                                        sector="medico_social", legal_status="public")


@pytest.mark.browser
def test_a_first_claim_confirmed_by_the_ars_then_managed_by_the_referent(page, live_server, establishment):
    log_in(page, DIRECTOR, "/etablissements/")
    page.get_by_label("Numéro FINESS géographique de l'établissement").fill(establishment.finess)
    page.get_by_label("Votre fonction dans l'établissement (facultatif)").fill("Directeur")
    page.get_by_role("button", name="Demander le rattachement", exact=True).click()
    expect(page.get_by_text("décision attendue de l'ARS Hauts-de-France")).to_be_visible()
    assert_accessible(page)

    page.context.clear_cookies()
    log_in(page, INSTRUCTOR, "/etablissements/")
    page.get_by_role("link", name="Rattachements").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Premières demandes de rattachement")
    expect(page.locator("table")).to_contain_text(DIRECTOR)
    assert_accessible(page)
    page.get_by_role("button", name=f"Confirmer la demande de {DIRECTOR} pour EHPAD D'AMIENS").click()
    expect(page.get_by_text("Aucune demande de rattachement n'attend la décision de l'ARS.")).to_be_visible()
    assert EstablishmentAccess.objects.get(establishment=establishment).role == MembershipRole.REFERENT

    from guichet.accounts.models import User

    claims.claim(User.objects.get(email=STRANGER), establishment, function="Consultant")
    colleague = User.objects.get(email=COLLEAGUE)
    claims.accept(User.objects.get(email=DIRECTOR), claims.claim(colleague, establishment).request)
    page.context.clear_cookies()
    log_in(page, DIRECTOR, "/etablissements/")
    expect(page.get_by_role("heading", name="Demandes de rattachement à traiter (1)")).to_be_visible()
    page.get_by_role("link", name=f"Refuser la demande de {STRANGER} pour EHPAD D'AMIENS").click()
    page.get_by_role("button", name="Refuser la demande").click()
    expect(page.get_by_text("Indiquez le motif du refus : il est communiqué au demandeur.").first).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Motif du refus").fill("Personne inconnue de la direction.")
    page.get_by_role("button", name="Refuser la demande").click()
    expect(page.get_by_text("le motif lui est envoyé")).to_be_visible()
    assert MembershipRequest.objects.get(user__email=STRANGER).status == RequestStatus.REFUSED

    page.get_by_role("link", name="Gérer les membres de EHPAD D'AMIENS").click()
    expect(page.locator("table")).to_contain_text(COLLEAGUE)
    assert_accessible(page)
    page.get_by_role("button", name=f"Nommer référent {COLLEAGUE}").click()
    expect(page.get_by_text(f"{COLLEAGUE} est désormais référent")).to_be_visible()
    assert EstablishmentAccess.objects.get(user=colleague).role == MembershipRole.REFERENT
