"""A part with many rows: each filled row is a summary line that posts its values unchanged and opens on
demand; a row with anything missing, refused or in error is always shown open, its messages at its fields."""

import re

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils.datastructures import MultiValueDict

from guichet.dossiers import services
from guichet.dossiers.models import State
from guichet.establishments.models import EstablishmentAccess
from guichet.formschema import qvct
from guichet.formschema.forms import build_section_form
from guichet.formschema.schema import parse_schema
from guichet.formschema.templatetags.formschema_tags import field_input
from tests.factories import CallFactory, EstablishmentFactory, UserFactory
from tests.test_dossier_filling import SCHEMA

ROWS = [{"intitule": "Formation des encadrants à la prévention des TMS", "cout": "1000.00",
         "devis": {"name": "devis-formation.pdf", "size": 2048, "attachment": 999}},
        {"intitule": "Rails de transfert", "cout": None},
        {"intitule": "Équipement « lève-personne »", "cout": "2500.50"}]


@pytest.fixture
def applicant(db):
    user = UserFactory()
    EstablishmentAccess.objects.create(user=user, establishment=EstablishmentFactory())
    return user


@pytest.fixture
def dossier(applicant):
    dossier = services.start_dossier(CallFactory(schema=SCHEMA), applicant.establishments.get(), applicant)
    dossier.answers = {**dossier.answers, "actions": [dict(r) for r in ROWS]}
    dossier.pending = {"actions.2.cout": "deux mille"}  # row 3: a value typed that did not validate
    dossier.save()
    return dossier


def url(dossier, query=""):
    return reverse("dossiers:section", args=[dossier.pk, "actions"]) + query


def row_html(page: str, index: int) -> str:
    """The markup of row ``index``, up to the next row (or the end of the page)."""
    start = page.index(f'id="bloc-actions-{index}"')
    following = page.find('<div class="guichet-repeat-row', start)
    return page[page.rindex("<div", 0, start):following if following != -1 else None]


def test_a_filled_row_is_a_summary_and_the_others_stay_open_with_their_messages(client, dossier, applicant):
    client.force_login(applicant)
    page = client.get(url(dossier)).content.decode()
    first = row_html(page, 0)
    assert "guichet-repeat-row--collapsed" in first and 'id="champ-actions-0-intitule"' not in first
    # The summary line: the first text, the row's computed values (kept live by the autosave), its files.
    assert "Formation des encadrants à la prévention des TMS · " in first and " · Devis : devis-formation.pdf" in first
    assert ('<span id="champ-actions-0-demande-label">Montant demandé</span> : <output class="guichet-computed" '
            'id="champ-actions-0-demande" aria-labelledby="champ-actions-0-demande-label" aria-live="polite">') in first
    assert '<input type="hidden" name="actions__0__intitule" value="Formation des encadrants' in first
    assert '<input type="hidden" name="actions__0__cout" value="1\u202f000,00">' in first
    assert ">Modifier la ligne n° 1</button>" in first and ">Supprimer la ligne n° 1</button>" in first
    # Row 2 misses its cost, row 3 holds a refused value: both open, the message at the field.
    assert 'id="champ-actions-1-cout"' in row_html(page, 1) and "repeat-row--collapsed" not in row_html(page, 1)
    third = row_html(page, 2)
    assert 'value="deux mille"' in third
    messages = third.split('id="champ-actions-2-cout-messages"')[1].split("</div>")[0]
    assert "fr-message--error" in messages


def test_saving_the_page_as_shown_keeps_the_summarised_rows(client, dossier, applicant):
    client.force_login(applicant)
    page = client.get(url(dossier)).content.decode()
    posted = dict(re.findall(r'<input type="hidden" name="(actions__[^"]+)" value="([^"]*)">', page))
    assert set(posted) == {"actions__rows", "actions__0__intitule", "actions__0__cout"}
    posted.update({"actions__1__intitule": "Rails de transfert", "actions__1__cout": "800",
                   "actions__2__intitule": "Équipement « lève-personne »", "actions__2__cout": "2500,50"})
    response = client.post(url(dossier), {k: v.replace("&#x27;", "'") for k, v in posted.items()},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Enregistré" in response.content.decode()
    dossier.refresh_from_db()
    assert [r["cout"] for r in dossier.answers["actions"]] == ["1000.00", "800.00", "2500.50"]
    assert dossier.answers["actions"][0]["intitule"] == ROWS[0]["intitule"] and dossier.pending == {}
    assert dossier.answers["actions"][0]["devis"]["name"] == "devis-formation.pdf"  # a file is not posted again
    # Now that every row is filled, every row is a summary line.
    page = client.get(url(dossier)).content.decode()
    assert page.count("guichet-repeat-row--collapsed") == 3 and 'id="champ-actions-0-cout"' not in page


def test_a_summarised_row_opens_in_place_or_by_reloading(client, dossier, applicant):
    client.force_login(applicant)
    fragment = client.get(url(dossier, "?ouvrir=actions:0&_action=open:actions:0"), HTTP_HX_REQUEST="true")
    body = fragment.content.decode()
    assert fragment.status_code == 200 and "<html" not in body
    assert 'id="bloc-actions-0"' in body and 'name="actions__0__cout" value="1\u202f000,00"' in body
    assert 'for="champ-actions-0-intitule"' in body and ">Supprimer la ligne n° 1</button>" in body
    # Without JavaScript: the button saves the part and shows it again with the row open.
    response = client.post(url(dossier), {"actions__rows": "3", "actions__0__intitule": "Formation",
                                          "actions__0__cout": "1000", "_action": "open:actions:0"})
    assert response.status_code == 302 and response["Location"] == url(dossier, "?ouvrir=actions:0#bloc-actions-0")
    dossier.refresh_from_db()
    assert dossier.answers["actions"][0]["intitule"] == "Formation"
    page = client.get(response["Location"]).content.decode()
    assert 'id="champ-actions-0-intitule"' in row_html(page, 0) and "repeat-row--collapsed" not in row_html(page, 0)


@pytest.mark.parametrize("value", ["actions", "actions:", "actions:x", "actions:-1", "inconnu:0", "actions:7",
                                   "actions:99999999999999999999"])
def test_a_wrong_row_to_open_is_ignored_or_not_found_never_an_error(client, dossier, applicant, value):
    client.force_login(applicant)
    assert client.get(url(dossier, f"?ouvrir={value}")).status_code == 200
    assert client.get(url(dossier, f"?ouvrir={value}"), HTTP_HX_REQUEST="true").status_code in (200, 404)
    response = client.post(url(dossier), {"actions__rows": "3", "_action": f"open:{value}"})
    assert response.status_code == 302 and "ouvrir" not in response["Location"]


def test_a_row_is_opened_for_the_dossiers_members_only(client, dossier):
    """The fragment is the part's page cut down: the same check of membership, for every other role."""
    other = UserFactory()
    EstablishmentAccess.objects.create(user=other, establishment=EstablishmentFactory())
    client.force_login(other)
    response = client.get(url(dossier, "?ouvrir=actions:0"), HTTP_HX_REQUEST="true")
    assert response.status_code in (403, 404) and "Formation des encadrants" not in response.content.decode()


def test_a_dossier_that_can_no_longer_be_edited_shows_every_row_in_full(client, dossier, applicant):
    dossier.state = State.EN_INSTRUCTION
    dossier.save()
    client.force_login(applicant)
    page = client.get(url(dossier)).content.decode()
    assert "guichet-repeat-row--collapsed" not in page and "Modifier la ligne" not in page
    assert "Formation des encadrants à la prévention des TMS" in row_html(page, 0)


def test_the_qvct_options_follow_the_deployments_own_themes():
    assert ("sante_travail/qualite_prevention", "Santé au travail — Qualité de la prévention") in qvct.choices()
    themes = [("cadre", "Cadre de travail", [("locaux", "Locaux")])]
    with override_settings(GUICHET_QVCT_THEMES=themes):
        assert qvct.choices() == [("cadre", "Cadre de travail"), ("cadre/locaux", "Cadre de travail — Locaux")]
        assert qvct.grouped_choices() == [("Cadre de travail", [("cadre", "Cadre de travail (ensemble)"),
                                                                ("cadre/locaux", "Locaux")])]
        assert qvct.label("cadre/locaux") == "Cadre de travail — Locaux"
    assert qvct.label("cadre/locaux") == "cadre/locaux"


def test_inputs_written_directly_are_those_of_djangos_widgets():
    schema = parse_schema({"sections": [{"key": "s", "title": "Partie", "fields": [
        {"key": "texte", "type": "text", "label": "Intitulé", "max_length": 80},
        {"key": "long", "type": "textarea", "label": "Description"},
        {"key": "montant", "type": "amount", "label": "Coût"},
        {"key": "jour", "type": "date", "label": "Début"},
        {"key": "courriel", "type": "email", "label": "Courriel"},
        {"key": "theme", "type": "qvct_theme", "label": "Thème", "multiple": False},
        {"key": "liste", "type": "choice", "label": "Statut", "widget": "select", "options": ["Public", "Privé"]},
    ]}]})
    data = MultiValueDict({"texte": ['Rails "de transfert" <2>'], "long": ["Ligne 1\nLigne 2 & suite"],
                           "montant": ["12 500,5"], "jour": ["2025-03-15"], "courriel": ["pas un courriel"],
                           "theme": ["sante_travail/qualite_prevention"], "liste": ["Privé"]})
    form = build_section_form(schema, schema.sections[0], {}, data=data)
    assert form.errors  # an input in error carries aria-invalid, as Django's own rendering does
    for name in form.fields:
        expected = re.sub(r"\n\s*", "", str(form[name].as_widget()))
        assert str(field_input(form[name])).replace("\n", "") == expected, name
