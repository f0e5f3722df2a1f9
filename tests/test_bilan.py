"""« Bilan de l'appel » (the call's PDF report) and the public page of a call's figures (issue 13): the narrative's
exact numbers and plurals read back from the PDF, French money, who may download it; the public page's opt-in,
its anonymity (no name, small counts left out) and who may open or close it.

The set: ``tests.statistics_data`` (Hauts-de-France's 2024 call: 7 dossiers filed, 5 by sanitaire and 2 by
médico-social establishments, 14 500 € granted in two conventions).
"""

import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from pypdf import PdfReader

from guichet.accounts.models import Role
from guichet.core.models import AuditRecord
from guichet.dossiers.models import State
from guichet.experts.models import ExpertRequest
from guichet.reporting import bilan, public, snapshots, statistics
from tests.factories import InstructorFactory, UserFactory
from tests.statistics_data import build_data, dossier, establishments, grant, paris

D = Decimal
NAMES = ("CENTRE HOSPITALIER DE ROUBAIX", "ROUBAIX", "EHPAD LES TILLEULS", "TILLEULS", "HOPITAL SAINT VINCENT",
         "GHT Lille", "Jeanne", "Déposante", "Paul", "Instructeur", "Camille", "exemple.fr", "CLACT-2024-001",
         "590780193", "620000059")


@pytest.fixture
def data(db):
    return build_data()


def expert(data):
    """An expert asked for an opinion on one of the call's dossiers."""
    user = UserFactory(email="expert.qvct@exemple.fr")
    ExpertRequest.objects.create(dossier=data["d1"], invited_by=data["staff"], email=user.email,
                                 question="Votre avis sur l'action 1 ?")
    return user


def pdf_text(content: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages).replace("-\n", "-")
    return re.sub(r"[\s\u00a0\u202f]+", " ", text)


# --- the narrative ------------------------------------------------------------------------------------

def test_french_amounts_in_sentences():
    assert bilan.short_euros(D("3800000.00")) == "3,8\u00a0M€"
    assert bilan.short_euros(D("3000000")) == "3\u00a0M€"
    assert bilan.short_euros(D("12345678.90")) == "12,3\u00a0M€"
    assert bilan.short_euros(D("14500.00")) == "14\u202f500\u00a0€"
    assert bilan.short_euros(D("1234567.89") - D("1000000")) == "234\u202f567,89\u00a0€"
    assert bilan.short_euros(None) == "0\u00a0€"


def test_the_narrative_of_a_call(data):
    paragraphs = bilan.narrative(statistics.compute(statistics.for_call(data["call_a"])))
    assert paragraphs == [
        "7 projets ont été reçus ; 5 par des établissements sanitaires ; 2 par des établissements médico-sociaux.",
        "3 projets retenus, 1 refusé et 1 classé sans suite ; 2 sont encore en cours d'instruction.",
        "Temps habituel de traitement, du dépôt à la décision : 40\u00a0jours (9 dossiers sur 10 ont été décidés "
        "dans ce délai) ; durée médiane : 20\u00a0jours, sur 5 dossiers décidés.",
        "14\u202f500\u00a0€ ont été délégués pour les projets retenus (48\u202f000\u00a0€ demandés), soit "
        "14,5\u00a0% de l'enveloppe de 100\u202f000\u00a0€.",
        "9\u202f500\u00a0€ ont été versés à ce jour."]


def test_the_narrative_agrees_in_the_singular(data):
    # The 2025 call: one sanitaire (accepted in 1 day), one médico-social (refused in 4 days), nothing granted.
    paragraphs = bilan.narrative(statistics.compute(statistics.for_call(data["call_b"])))
    assert paragraphs[0] == ("2 projets ont été reçus ; 1 par un établissement sanitaire ; "
                             "1 par un établissement médico-social.")
    assert paragraphs[1] == "1 projet retenu et 1 refusé."
    assert "0\u00a0€ a été délégué pour les projets retenus" in paragraphs[3]


def test_the_narrative_of_a_call_without_dossiers(data):
    from tests.factories import CallFactory

    empty = CallFactory(region=data["hdf"], year=2026, slug="clact-2026-hdf")
    assert bilan.narrative(statistics.compute(statistics.for_call(empty))) == [
        "Aucun projet n'a été reçu pour cet appel à projets."]


# --- the PDF ------------------------------------------------------------------------------------------

def test_the_bilan_pdf_reads_the_figures(client, data):
    client.force_login(data["staff"])
    page = client.get(reverse("reporting:call_statistics", args=["clact-2024-hdf"])).content.decode()
    url = reverse("reporting:call_bilan", args=["clact-2024-hdf"])
    assert url in page and "Bilan de l'appel (PDF)" in page
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"] and "Bilan" in response["Content-Disposition"]
    text = pdf_text(response.content)
    assert ("7 projets ont été reçus ; 5 par des établissements sanitaires ; 2 par des établissements "
            "médico-sociaux.") in text
    assert "14 500 € ont été délégués pour les projets retenus (48 000 € demandés)" in text
    assert "Temps habituel de traitement, du dépôt à la décision : 40 jours" in text
    # The figures follow as tables (and charts): the amounts with cents, the themes.
    assert "Montants demandés, proposés, accordés et versés" in text and "14 500,00 €" in text
    assert "Actions par thème QVCT" in text and "Hauts-de-France" in text


def test_the_bilan_is_for_the_region_s_staff_only(client, data):
    url = reverse("reporting:call_bilan", args=["clact-2024-hdf"])
    national = UserFactory(email="lecteur@sante.gouv.fr", role=Role.NATIONAL)
    for user, status in ((InstructorFactory(region=data["grand_est"]), 404), (data["applicant"], 404),
                         (data["member"], 404), (expert(data), 404), (national, 403)):
        client.force_login(user)
        assert client.get(url).status_code == status, user
    client.logout()
    assert client.get(url).status_code == 302
    assert client.get(reverse("reporting:call_bilan", args=["inconnu"])).status_code == 302


# --- the public page ----------------------------------------------------------------------------------

def test_the_public_page_is_opt_in(client, data):
    url = reverse("figures:call", args=["clact-2024-hdf"])
    assert url == "/appels/clact-2024-hdf/chiffres/"
    assert client.get(url).status_code == 404
    assert url not in client.get(reverse("calls:detail", args=["clact-2024-hdf"])).content.decode()
    client.force_login(data["staff"])
    stats_url = reverse("reporting:call_statistics", args=["clact-2024-hdf"])
    assert "Publier les chiffres de l'appel" in client.get(stats_url).content.decode()
    toggle = reverse("reporting:call_public_toggle", args=["clact-2024-hdf"])
    assert client.get(toggle).status_code == 405
    response = client.post(toggle, {"public": "1"})
    assert response.status_code == 302 and response.url == stats_url
    assert AuditRecord.objects.filter(action="statistics:public_on", actor=data["staff"]).count() == 1
    assert "Retirer la page publique des chiffres" in client.get(stats_url).content.decode()
    client.logout()
    assert url in client.get(reverse("calls:detail", args=["clact-2024-hdf"])).content.decode()
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "7 </p>" not in html and ">7</p>" in html and "dossiers reçus" in html and ">5</p>" in html
    assert "40,0\u00a0j" in html and "20,0\u00a0j" in html  # 5 decided: the processing time is shown
    for name in NAMES:
        assert name not in html, name
    assert " style=" not in html and "<style" not in html and "<script>" not in html
    client.force_login(data["staff"])
    client.post(toggle, {"public": "0"})
    assert AuditRecord.objects.filter(action="statistics:public_off").count() == 1
    client.logout()
    assert client.get(url).status_code == 404


def test_small_counts_are_not_published(client, data):
    call = data["call_a"]
    call.public_statistics = True
    call.save()
    html = client.get(reverse("figures:call", args=[call.slug])).content.decode()
    # 2 médico-social dossiers, 1 refusal, 2 grants: the breakdowns and the amounts are left out, and said so.
    assert html.count("au moins une catégorie compte moins de 3 dossiers") == 2
    assert "14\u202f500,00\u00a0€" not in html and "les montants délégués (moins de 3 conventions)" in html
    assert "Médico-social" not in html and "Refusés" not in html
    # Three more médico-social acceptances each with its grant, two refusals, two dropped: every count reaches 3.
    e2 = establishments()[1]
    for day in (2, 3, 4):
        d = dossier(call, e2, State.ACCEPTE, paris(2024, 3, day, 10), 5, 1000)
        grant(call, data["hdf"], d, e2, f"CLACT-2024-10{day}", "1000", ["1000"])
    for hour, state in enumerate((State.REFUSE, State.REFUSE, State.SANS_SUITE, State.SANS_SUITE)):
        dossier(call, e2, state, paris(2024, 3, 9, 10 + hour), 5, 1000)
    figures = public.figures(statistics.compute(statistics.for_call(call)))
    assert [(b.title, b.suppressed) for b in figures["breakdowns"]] == [
        ("Dossiers reçus par secteur", False), ("Dossiers décidés, par décision", False)]
    assert figures["amounts_shown"] and figures["granted"] == "17\u202f500,00\u00a0€"
    # The page reads the precomputed figures: the factory's dossiers bypass the workflow (no filing signal).
    snapshots.store(statistics.for_call(call))
    html = client.get(reverse("figures:call", args=[call.slug])).content.decode()
    assert "Médico-social" in html and "17\u202f500,00\u00a0€" in html and "moins de 3" not in html
    for name in NAMES:
        assert name not in html, name


def test_the_public_page_of_an_unpublished_or_proofs_call_stays_closed(client, data):
    call = data["call_a"]
    call.public_statistics, call.published = True, False
    call.save()
    assert client.get(reverse("figures:call", args=[call.slug])).status_code == 404
    assert client.get(reverse("figures:call", args=["justificatifs-2024"])).status_code == 404


def test_who_may_open_the_public_page(client, data):
    toggle = reverse("reporting:call_public_toggle", args=["clact-2024-hdf"])
    national = UserFactory(email="lecteur@sante.gouv.fr", role=Role.NATIONAL)
    for user, status in ((InstructorFactory(region=data["grand_est"]), 404), (data["applicant"], 404),
                         (data["member"], 404), (expert(data), 404), (national, 403)):
        client.force_login(user)
        assert client.post(toggle, {"public": "1"}).status_code == status, user
    client.logout()
    assert client.post(toggle, {"public": "1"}).status_code == 302  # to the login page
    data["call_a"].refresh_from_db()
    assert not data["call_a"].public_statistics
    assert not AuditRecord.objects.filter(action__startswith="statistics:public").exists()
    # The national reader may read a public page like anyone.
    data["call_a"].public_statistics = True
    data["call_a"].save()
    client.force_login(national)
    assert client.get(reverse("figures:call", args=["clact-2024-hdf"])).status_code == 200


def test_the_toggle_needs_the_csrf_token(data):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(data["staff"])
    assert client.post(reverse("reporting:call_public_toggle", args=["clact-2024-hdf"]),
                       {"public": "1"}).status_code == 403


def test_the_demo_s_public_page_names_no_one(client, db):
    from django.core.management import call_command

    from guichet.calls.models import Call
    from guichet.core.management.commands.seed_demo import DEMO_ESTABLISHMENTS, DOMAIN

    call_command("seed_demo", stdout=io.StringIO())
    call = Call.objects.get(public_statistics=True)  # the Grand Est commission's call
    detail = client.get(reverse("calls:detail", args=[call.slug])).content.decode()
    url = reverse("figures:call", args=[call.slug])
    assert url in detail
    html = client.get(url).content.decode()
    assert "dossiers reçus" in html
    for _, _, name, *_ in DEMO_ESTABLISHMENTS:
        assert name not in html, name
    for finess, ej, *_ in DEMO_ESTABLISHMENTS:
        assert finess not in html and ej not in html
    assert DOMAIN not in html and "Claire Lambert" not in html and "démonstration (" not in html
