"""A person from an establishment files the Hauts-de-France 2024 CLACT-QVCT application in the
browser: signs up, attaches the establishment by FINESS, fills the five parts (the GHT question
shown only to GHT members, an action with its quote attached), sees the completeness check, files
the dossier and finds it in « Mes dossiers ». Every page passes axe."""

import re
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from guichet.calls.templates_loader import load_seed_templates, shift_template_for_demo
from guichet.dossiers.models import Dossier, State
from guichet.establishments import claims
from guichet.establishments.models import Establishment, LegalEntity, MembershipRequest, Region
from tests.browser.accessibility import assert_accessible
from tests.factories import InstructorFactory

# A loaded CI machine (2 cores) can be slow to answer an autosave: wait longer than the default 5 s.
expect.set_options(timeout=15_000)

EMAIL = "directrice.rh@ch-demo.fr"
PASSWORD = "Conditions-de-travail-2024"
FINESS = "590000006"  # valid key, fictitious establishment in the Nord (Hauts-de-France)

FILL_JS = """
(form) => {
  // Fields still empty and visible, in document order, described for the test to fill.
  const out = [];
  const seen = new Set();
  for (const el of form.querySelectorAll('input, textarea, select')) {
    if (el.closest('[hidden]') || el.type === 'hidden' || el.disabled) continue;
    if (el.type === 'radio' || el.type === 'checkbox') {
      if (seen.has(el.name)) continue;
      seen.add(el.name);
      const group = form.querySelectorAll(`[name="${el.name}"]`);
      if ([...group].some(i => i.checked) || el.name.endsWith('__clear')) continue;
      out.push({id: el.id, kind: el.type});
    } else if (el.type === 'file') {
      const current = document.getElementById(el.id + '-current');
      if (current && current.textContent.trim()) continue;
      out.push({id: el.id, kind: 'file', accept: el.accept});
    } else if (!el.value) {
      out.push({id: el.id, kind: el.tagName === 'SELECT' ? 'select' : el.type, name: el.name,
                inputmode: el.getAttribute('inputmode') || ''});
    }
  }
  return out;
}
"""


def value_for(field) -> str:
    name = field["name"]
    if field["kind"] == "email":
        return "referent.clact@ch-demo.fr"
    if field["kind"] == "date":
        return "2024-03-15"
    if "telephone" in name:
        return "03 20 44 59 62"
    if "code_postal" in name:
        return "59037"
    if "taux" in name:
        return "7,5"
    if field["inputmode"] == "decimal":
        return "1 200"
    return "Réponse de démonstration"


def fill_visible_fields(page, tmp_path):
    """Fill what is still empty on the current part, as a person would, field by field."""
    page.wait_for_load_state("load")  # autosave needs htmx and dossier.js to be running
    form = page.locator("#section-form")
    for _ in range(5):  # conditional fields appear as answers are given
        todo = form.evaluate(FILL_JS)
        if not todo:
            return
        for field in todo:
            target = page.locator(f"#{field['id']}")
            if field["kind"] in ("radio", "checkbox"):
                page.locator(f"label[for='{field['id']}']").click()  # DSFR draws the box on the label
            elif field["kind"] == "select":
                target.select_option(index=1)
            elif field["kind"] == "file":
                path = tmp_path / "devis signé.pdf"
                path.write_bytes(b"%PDF-1.4\n% devis de demonstration\n")
                target.set_input_files(str(path))
            else:
                target.fill(value_for(field))
                target.press("Tab")  # leaving the field saves it
            expect(page.locator("#save-status")).to_contain_text("Enregistré", timeout=10000)


@pytest.fixture
def open_call(db):
    Region.objects.get(code="32")
    template = next(t for t in load_seed_templates() if t.slug == "modele-hdf-2024-candidature")
    ej = LegalEntity.objects.create(finess="590000014", name="CH DE DÉMONSTRATION", legal_status="public")
    Establishment.objects.create(finess=FINESS, legal_entity=ej, name="CENTRE HOSPITALIER DE DÉMONSTRATION",
                                 siret="26140091500011", sector="sanitaire", legal_status="public",
                                 department="59", region=Region.objects.get(code="32"), city="LILLE")
    return shift_template_for_demo(template, timezone.now())


def sign_up(page, mailoutbox):
    page.goto("/comptes/signup/")
    page.get_by_label("Courriel").fill(EMAIL)
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_label("Mot de passe (confirmation)", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Créer mon compte").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vérifiez votre adresse e-mail")
    link = re.findall(r"https?://\S+/comptes/confirm-email/\S+/", mailoutbox[-1].body)[0]
    page.goto(urlsplit(link).path)
    page.get_by_role("button", name="Confirmer").click()
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()


@pytest.mark.browser
def test_an_establishment_files_the_hdf_2024_application(page, live_server, mailoutbox, open_call, tmp_path):
    sign_up(page, mailoutbox)

    # Claim the establishment by its FINESS, with suggestions from the directory.
    page.get_by_role("link", name="Mes établissements").click()
    finess = page.get_by_label("Numéro FINESS géographique de l'établissement")
    finess.type(FINESS[:6], delay=30)
    expect(page.locator("#finess-suggestions")).to_contain_text("CENTRE HOSPITALIER DE DÉMONSTRATION")
    assert_accessible(page)
    finess.fill(FINESS)
    page.get_by_label("Votre fonction dans l'établissement (facultatif)").fill("Directrice des ressources humaines")
    page.get_by_role("button", name="Demander le rattachement", exact=True).click()
    expect(page.locator("table")).to_contain_text("En attente")
    assert_accessible(page)
    # Nobody manages it yet: the ARS Hauts-de-France confirms the first claim (its page: test_establishment_claims).
    claims.accept(InstructorFactory(), MembershipRequest.objects.get(establishment__finess=FINESS))
    page.reload()
    expect(page.locator("table").first).to_contain_text(FINESS)
    expect(page.locator("table").first).to_contain_text("Référent")

    # Start a dossier on the open call.
    page.goto(f"/appels/{open_call.slug}/")
    page.get_by_role("link", name="Commencer un dossier").click()
    page.get_by_label("Établissement porteur").select_option(label=f"CENTRE HOSPITALIER DE DÉMONSTRATION ({FINESS})")
    page.get_by_role("button", name="Commencer le dossier").click()

    # Part 1: identification, prefilled from the directory; the GHT name only for GHT members.
    expect(page.get_by_role("heading", level=2, name="1. Identification du demandeur")).to_be_visible()
    page.wait_for_load_state("load")  # conditions and autosave need dossier.js and htmx running
    expect(page.get_by_label("Raison sociale")).to_have_value("CENTRE HOSPITALIER DE DÉMONSTRATION")
    ght_name = page.locator("#wrap-champ-ght_nom")
    expect(ght_name).to_be_hidden()
    page.get_by_role("group", name=re.compile("membre d.un groupement hospitalier")).get_by_text("Oui").click()
    expect(ght_name).to_be_visible()
    page.locator("#champ-ght_nom").fill("GHT Lille Métropole Flandre intérieure")
    page.locator("#champ-ght_nom").press("Tab")
    expect(page.locator("#save-status")).to_contain_text("Enregistré")
    # A wrong value is announced at its field and kept.
    page.get_by_label("N° SIRET").fill("123")
    page.get_by_label("N° SIRET").press("Tab")
    expect(page.locator("#champ-siret-messages")).to_contain_text("doit comporter 14 caractères")
    assert_accessible(page)
    page.get_by_label("N° SIRET").fill("26140091500011")
    page.get_by_label("N° SIRET").press("Tab")
    expect(page.locator("#champ-siret-messages")).to_be_empty()
    fill_visible_fields(page, tmp_path)
    page.get_by_role("button", name="Enregistrer et continuer").click()

    # Parts 2 to 5, each filled and saved; part 4 holds the action and its quote.
    for title in ("2. Caractéristiques", "3. Informations sur le projet", "4. Les actions", "5. Référent"):
        expect(page.get_by_role("heading", level=2)).to_contain_text(title)
        fill_visible_fields(page, tmp_path)
        if title.startswith("4."):
            expect(page.locator("#champ-actions-0-devis-current")).to_contain_text("devis signé.pdf")
            expect(page.locator("#champ-total_cout")).to_have_text("1\u202f200,00 €")
            assert_accessible(page)
        page.get_by_role("button", name="Enregistrer et continuer").click()

    # The completeness check, then filing.
    expect(page.get_by_role("heading", level=2)).to_have_text("Vérifier et déposer le dossier")
    expect(page.get_by_text("Le dossier est complet.")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Déposer le dossier").click()
    dossier = Dossier.objects.get()
    assert dossier.state == State.EN_CONSTRUCTION
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Dossier n° {dossier.number}")
    assert dossier.answers["ght_nom"] == "GHT Lille Métropole Flandre intérieure"
    assert dossier.attachments.filter(original_name="devis signé.pdf").exists()
    assert any(dossier.number in m.subject for m in mailoutbox)
    assert_accessible(page)

    # « Mes dossiers » lists it with its state.
    page.get_by_role("link", name="Mes dossiers").first.click()
    row = page.get_by_role("row", name=re.compile(dossier.number))
    expect(row).to_contain_text("En construction")
    assert_accessible(page)
