"""Parties prenantes are asked in one place — the dossier's establishments, chosen when it starts and changed
on its page — among the applicant's confirmed establishments implanted in the call's region."""

import pytest
from django.urls import reverse

from guichet.calls.templates_loader import load_seed_templates
from guichet.establishments.models import MembershipRequest
from tests.factories import CallFactory
from tests.test_eligibility import SCHEMA, applicant_of, draft, site


@pytest.fixture
def setting(db):
    call = CallFactory(schema=SCHEMA)  # Hauts-de-France
    porteur, partner = site("590780193", name="CH PORTEUR"), site("590000006", name="EHPAD PARTENAIRE")
    elsewhere = site("140000027", "28", name="CH DE NORMANDIE")
    user = applicant_of(porteur, partner, elsewhere)
    claimed = site("590000014", name="CLINIQUE RÉCLAMÉE")
    MembershipRequest.objects.create(user=user, establishment=claimed)
    return call, user, porteur, partner


def test_the_start_page_offers_only_confirmed_establishments_of_the_call_region(client, setting):
    call, user, porteur, partner = setting
    client.force_login(user)
    html = client.get(reverse("dossiers:start", args=[call.slug])).content.decode()
    partners = html[html.index('id="checkboxes-id_partners"'):]
    partners = partners[:partners.index("</fieldset>")]
    assert "EHPAD PARTENAIRE" in partners and "CH DE NORMANDIE" not in partners
    assert "CLINIQUE RÉCLAMÉE" not in html


def test_the_partners_page_offers_only_confirmed_establishments_of_the_call_region(client, setting):
    call, user, porteur, partner = setting
    dossier = draft(call, user, porteur)
    client.force_login(user)
    html = client.get(reverse("dossiers:partners", args=[dossier.pk])).content.decode()
    assert "EHPAD PARTENAIRE" in html and "CH DE NORMANDIE" not in html and "CLINIQUE RÉCLAMÉE" not in html


def test_the_grand_est_form_does_not_ask_for_parties_prenantes_again(db):
    calls = load_seed_templates()
    ge = next(c for c in calls if c.region.code == "44" and c.kind == "application")
    schema = ge.current_form.parsed()
    fields = [f for f in schema.top_fields() if f.type not in ("explanation", "heading")]
    fields += [child for f in fields for child in f.children]
    assert not [f.label for f in fields if "partie" in (f.label or "").lower() and "prenante" in f.label.lower()]
