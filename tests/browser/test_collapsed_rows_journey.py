"""A part of many actions in the browser: filled actions are summary lines; « Modifier » opens one in place
(mouse or keyboard), the keyboard lands on its first field, and what is typed there is autosaved while the
other actions keep their values."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from guichet.calls.models import Call, FormVersion
from guichet.dossiers import services
from guichet.dossiers.models import Dossier
from guichet.establishments.models import Establishment, EstablishmentAccess, Region
from tests.browser.accessibility import assert_accessible
from tests.factories import PASSWORD, UserFactory

expect.set_options(timeout=15_000)

SCHEMA = {"sections": [{"key": "actions_projet", "title": "Les actions du projet", "fields": [
    {"key": "actions", "type": "repeat", "label": "Actions du projet", "row_label": "Action", "min_rows": 1,
     "fields": [
         {"key": "intitule", "type": "text", "label": "Intitulé de l'action", "required": True},
         {"key": "theme_qvct", "type": "qvct_theme", "label": "Thème QVCT de l'action", "multiple": False,
          "required": True},
         {"key": "cout", "type": "amount", "label": "Coût total de l'action (€)", "required": True},
         {"key": "demande", "type": "computed", "label": "Montant demandé (€)", "expression": "round(cout / 2, 2)",
          "format": "amount"},
     ]},
    {"key": "total", "type": "computed", "label": "Coût total du projet (€)", "expression": "sum(actions.cout)",
     "format": "amount"},
]}]}
ROWS = [{"intitule": f"Action {n} : prévention des TMS", "theme_qvct": "sante_travail/qualite_prevention",
         "cout": f"{n}000.00"} for n in range(1, 13)]


@pytest.fixture
def dossier(transactional_db):
    from allauth.account.models import EmailAddress

    region = Region.objects.get(code="32")
    user = UserFactory(email="deposant@ch-exemple.fr")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    establishment = Establishment.objects.create(finess="590000006", name="CH EXEMPLE", region=region,
                                                 sector="sanitaire", legal_status="public")
    EstablishmentAccess.objects.create(user=user, establishment=establishment)
    call = Call.objects.create(region=region, year=2026, title="Appel", slug="appel",
                               opens_at=timezone.now() - dt.timedelta(days=1),
                               closes_at=timezone.now() + dt.timedelta(days=1))
    FormVersion.objects.create(call=call, number=1, schema=SCHEMA)
    dossier = services.start_dossier(call, establishment, user)
    dossier.answers = {**dossier.answers, "actions": [dict(r) for r in ROWS]}
    dossier.save()
    return dossier


@pytest.mark.browser
def test_a_filled_action_opens_in_place_and_is_autosaved(page, live_server, dossier):
    page.goto(f"/dossiers/{dossier.pk}/partie/actions_projet/")
    page.get_by_label("Courriel").fill("deposant@ch-exemple.fr")
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").last.click()
    page.wait_for_url(lambda url: "/comptes/login" not in url)
    page.wait_for_load_state("load")  # htmx and dossier.js are running
    expect(page.get_by_role("group", name="Action n° 3")).to_contain_text("Action 3 : prévention des TMS")
    expect(page.locator("#champ-actions-2-cout")).to_have_count(0)
    assert_accessible(page)

    # Mouse: the third action's fields replace its summary line, the keyboard is on its first field.
    page.get_by_role("button", name="Modifier action n° 3").click()
    expect(page.get_by_label("Intitulé de l'action").first).to_be_focused()
    expect(page.locator("#champ-actions-2-theme_qvct")).to_have_value("sante_travail/qualite_prevention")
    page.locator("#champ-actions-2-cout").fill("3 500")
    page.locator("#champ-actions-2-cout").press("Tab")
    expect(page.locator("#save-status")).to_contain_text("Enregistré")
    expect(page.locator("#champ-total")).to_contain_text("78\u202f500,00")
    expect(page.locator("#champ-actions-2-demande")).to_have_text("1\u202f750,00 €")
    expect(page.get_by_role("group", name="Action n° 8")).to_contain_text("Montant demandé (€) : 4\u202f000,00 €")
    assert_accessible(page)

    # Keyboard: the button of the fifth action, then Enter.
    page.get_by_role("button", name="Modifier action n° 5").focus()
    page.keyboard.press("Enter")
    intitule = page.locator("#champ-actions-4-intitule")
    expect(intitule).to_be_focused()
    intitule.fill("Action 5 : ateliers d'analyse des pratiques")
    with page.expect_response(lambda r: r.request.method == "POST" and "actions_projet" in r.url) as saved:
        intitule.press("Tab")
    assert saved.value.ok
    expect(page.locator("#save-status")).to_contain_text("Enregistré")

    answers = Dossier.objects.get(pk=dossier.pk).answers
    assert answers["actions"][2]["cout"] == "3500.00"
    assert answers["actions"][4]["intitule"] == "Action 5 : ateliers d'analyse des pratiques"
    assert [r["cout"] for r in answers["actions"][5:]] == [r["cout"] for r in ROWS[5:]]
    assert all(r["theme_qvct"] == "sante_travail/qualite_prevention" for r in answers["actions"])
