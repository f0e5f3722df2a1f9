"""On a phone (375 px), the list of a dossier's parts folds behind the DSFR side menu's button: the applicant
opens it and goes to any part, not only on with « Enregistrer et continuer » (the button used to be `hidden`)."""

from allauth.account.models import EmailAddress
from playwright.sync_api import expect

from tests.browser.accessibility import assert_accessible
from tests.browser.login import log_in
from tests.factories import CallFactory, DossierFactory, UserFactory


def three_parts():
    return {
        "sections": [
            {"key": key, "title": title, "fields": [{"key": f"{key}_texte", "type": "text", "label": "Réponse"}]}
            for key, title in [
                ("identification", "Identification de l'établissement"),
                ("actions", "Actions envisagées"),
                ("financement", "Plan de financement"),
            ]
        ]
    }


def test_an_applicant_on_a_phone_opens_the_list_of_parts_and_jumps_to_the_last(page, live_server):
    applicant = UserFactory(email="deposante.mobile@ch-demo.fr")
    EmailAddress.objects.create(user=applicant, email=applicant.email, primary=True, verified=True)
    dossier = DossierFactory(call=CallFactory(schema=three_parts()), created_by=applicant)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size({"width": 375, "height": 760})
    log_in(page, applicant.email, f"/dossiers/{dossier.pk}/partie/identification/")

    menu = page.locator(".fr-sidemenu")
    last_part = menu.get_by_role("link", name="Plan de financement")
    toggle = menu.get_by_role("button", name="Parties du formulaire")
    expect(toggle).to_be_visible()
    # DSFR's script stops at its first error, and then no collapse opens (the menu's own markup is not the cause).
    assert not errors, (
        f"DSFR's script failed on the page ({errors}): the header needs DSFR's mobile menu markup "
        "(.fr-header__menu-links…), the header fix of issue 12"
    )
    expect(last_part).to_be_hidden()  # folded, so that the part's fields come first on a small screen
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(last_part).to_be_visible()
    assert_accessible(page)
    last_part.click()
    page.wait_for_url(f"**/dossiers/{dossier.pk}/partie/financement/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
