"""Documents the ARS sends, rendered to PDF from templates each region may adapt.

Specifications: every default template renders with sample data into a PDF whose text holds the
establishment, its FINESS, each amount in French format, the totals, dates and motivation; a body
is refused when it has a syntax error, an unknown placeholder or a tag reaching files or settings;
a region's own template wins for that region only; the admin keeps each ARS to its region.
"""

import base64
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from pypdf import PdfReader

from guichet.documents import placeholders
from guichet.documents.filters import date_fr, euros, nombre, pourcent
from guichet.documents.models import DocumentKind, DocumentTemplate, default_body, ensure_defaults
from guichet.documents.render import (
    render_html,
    render_pdf,
    render_template_pdf,
    sample_context,
    template_for,
    validate_body,
)
from tests.factories import ArsAdminFactory, InstructorFactory, UserFactory, region

pytestmark = pytest.mark.django_db

NNBSP = "\u202f"
ADMIN_URL = "/admin/documents/documenttemplate/"


def pdf_text(pdf: bytes) -> str:
    """The text of every page, line breaks folded into spaces (narrow no-break spaces are kept)."""
    reader = PdfReader(io.BytesIO(pdf))
    return re.sub(r"[ \t\r\n]+", " ", " ".join(page.extract_text() for page in reader.pages))


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def money(amount: str) -> str:
    return euros(Decimal(amount))


def default(kind) -> DocumentTemplate:
    return DocumentTemplate.objects.get(kind=kind, region__isnull=True)


# --- Filters -------------------------------------------------------------------------------------------

def test_euros_groups_thousands_with_narrow_no_break_spaces():
    assert euros(Decimal("12345.67")) == f"12{NNBSP}345,67{NNBSP}€"
    assert euros(Decimal("1200000")) == f"1{NNBSP}200{NNBSP}000,00{NNBSP}€"
    assert euros(Decimal("0.005")) == f"0,01{NNBSP}€"
    assert euros(Decimal("-1234.5")) == f"-1{NNBSP}234,50{NNBSP}€"
    assert euros(Decimal("999.99")) == f"999,99{NNBSP}€"
    assert euros(Decimal("38500"), 0) == f"38{NNBSP}500{NNBSP}€"
    assert euros(None) == "—"


def test_date_fr_writes_the_month_and_uses_paris_time():
    assert date_fr(dt.date(2026, 11, 22)) == "22 novembre 2026"
    assert date_fr(dt.date(2026, 12, 1)) == "1er décembre 2026"
    late_utc = dt.datetime(2026, 2, 28, 23, 30, tzinfo=dt.UTC)  # already 1 March in Paris
    assert date_fr(late_utc) == "1er mars 2026"
    assert date_fr(None) == "—"


def test_pourcent_and_nombre():
    assert pourcent(Decimal("50")) == f"50{NNBSP}%"
    assert pourcent(Decimal("50.00")) == f"50{NNBSP}%"
    assert pourcent(Decimal("12.50")) == f"12,5{NNBSP}%"
    assert pourcent(None) == "—"
    assert nombre(Decimal("16.50")) == "16,5"
    assert nombre(Decimal("12345")) == f"12{NNBSP}345"


# --- Defaults ------------------------------------------------------------------------------------------

def test_the_migration_loads_one_default_per_kind_and_ensure_defaults_is_idempotent():
    assert sorted(DocumentTemplate.objects.filter(region__isnull=True).values_list("kind", flat=True)) == sorted(
        DocumentKind.values)
    ensure_defaults()
    assert DocumentTemplate.objects.count() == len(DocumentKind.values)
    assert default(DocumentKind.CONVENTION).body == default_body(DocumentKind.CONVENTION)


def test_one_default_and_one_template_per_region_for_each_kind_even_with_a_null_region():
    with pytest.raises(IntegrityError), transaction.atomic():
        DocumentTemplate.objects.create(region=None, kind=DocumentKind.CONVENTION, title="Second", body="<p></p>")
    DocumentTemplate.objects.create(region=region("28"), kind=DocumentKind.CONVENTION, title="A", body="<p></p>")
    with pytest.raises(IntegrityError), transaction.atomic():
        DocumentTemplate.objects.create(region=region("28"), kind=DocumentKind.CONVENTION, title="B", body="<p></p>")
    DocumentTemplate.objects.create(region=region("44"), kind=DocumentKind.CONVENTION, title="C", body="<p></p>")


def test_a_lost_default_is_loaded_again_from_its_file():
    DocumentTemplate.objects.all().delete()
    assert template_for(DocumentKind.LETTRE_REFUS, region("28")).body == default_body(DocumentKind.LETTRE_REFUS)


@pytest.mark.parametrize("kind", DocumentKind.values)
def test_every_default_is_valid_and_uses_only_its_placeholders(kind):
    validate_body(default_body(kind), kind)


@pytest.mark.parametrize("kind", DocumentKind.values)
def test_the_sample_context_fills_every_documented_placeholder(kind):
    context = sample_context(kind)

    def present(data, parts):
        if not parts:
            return True
        head, *rest = parts
        if head == "[]":
            return bool(data) and all(present(item, rest) for item in data)
        return head in data and present(data[head], rest)

    for name, _ in placeholders.PLACEHOLDERS[kind]:
        parts = [p for p in re.split(r"\.|(\[\])", name) if p]
        assert present(context, parts), name


# --- Rendering -----------------------------------------------------------------------------------------

LETTERS = [DocumentKind.LETTRE_ACCEPTATION, DocumentKind.LETTRE_REFUS, DocumentKind.LETTRE_SANS_SUITE,
           DocumentKind.CONVENTION, DocumentKind.AVENANT]


@pytest.mark.parametrize("kind", LETTERS)
def test_letters_and_conventions_render_to_pdf_with_the_dossier_data(kind):
    context = sample_context(kind)
    pdf = render_pdf(kind, region("28"), context)
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)

    assert "Agence régionale de santé Normandie" in text
    assert re.search(r"Page 1 / \d", text)
    assert "CENTRE HOSPITALIER DE LISIEUX" in text
    assert "140000027" in text
    assert "CLACT-28-2026-0042" in text
    assert "22 novembre 2026" in text  # date_du_jour
    assert "Contrats locaux d'amélioration des conditions de travail (CLACT) 2026" in text
    if kind in (DocumentKind.LETTRE_ACCEPTATION, DocumentKind.CONVENTION, DocumentKind.AVENANT):
        for action in context["actions"]:
            assert euros(action["accorde"]) in text, action["intitule"]
        assert money("55687.25") in text  # total accorded
        assert f"50{NNBSP}%" in text
        assert "Rails de transfert plafonniers" in text
    if kind == DocumentKind.LETTRE_ACCEPTATION:
        assert money("63565.25") in text  # total asked
        assert "20 novembre 2026" in text  # decision
    if kind in (DocumentKind.CONVENTION, DocumentKind.AVENANT):
        assert f"50{NNBSP}% des factures transmises, dans la limite du plafond par action" in text
        assert "1er décembre 2026" in text and "30 novembre 2028" in text
        assert "140000035" in text and "261400915" in text  # EJ FINESS, SIREN
        assert "Plafond de l'aide" in text
    if kind in (DocumentKind.LETTRE_REFUS, DocumentKind.LETTRE_SANS_SUITE):
        assert flat(context["decision"]["motivation"]) in text
        assert "Voies et délais de recours" in text
    if kind == DocumentKind.AVENANT:
        assert "CPOM-28-2024-014" in text


def test_the_minutes_list_members_decisions_amounts_and_the_envelope():
    context = sample_context(DocumentKind.PROCES_VERBAL)
    text = pdf_text(render_pdf(DocumentKind.PROCES_VERBAL, region("28"), context))

    assert "19 novembre 2026" in text
    for member in context["membres"]:
        assert member["nom"] in text
    for dossier in context["dossiers"]:
        assert dossier["numero"] in text and dossier["finess"] in text and dossier["decision"] in text
        assert euros(dossier["accorde"]) in text and euros(dossier["demande"]) in text
        for action in dossier["actions"]:
            assert euros(action["accorde"]) in text
    assert money("1200000") in text  # envelope
    assert euros(context["engage"]) in text and euros(context["reste"]) in text
    assert money("77287.25") in text  # accorded in this session
    assert "16,5" in text  # score


def test_a_regions_own_template_wins_for_that_region_only():
    normandie, grand_est = region("28"), region("44")
    own = DocumentTemplate.objects.create(region=normandie, kind=DocumentKind.LETTRE_REFUS, title="Refus normand",
                                          body="<p>Modèle normand pour {{ etablissement.nom }}</p>")

    assert template_for(DocumentKind.LETTRE_REFUS, normandie) == own
    assert template_for(DocumentKind.LETTRE_REFUS, normandie.pk) == own
    assert template_for(DocumentKind.LETTRE_REFUS, grand_est) == default(DocumentKind.LETTRE_REFUS)
    assert template_for(DocumentKind.LETTRE_REFUS, None) == default(DocumentKind.LETTRE_REFUS)

    context = sample_context(DocumentKind.LETTRE_REFUS)
    assert "Modèle normand pour CENTRE HOSPITALIER DE LISIEUX" in pdf_text(
        render_pdf(DocumentKind.LETTRE_REFUS, normandie, context))
    other = pdf_text(render_pdf(DocumentKind.LETTRE_REFUS, grand_est, {**context, "region": "Grand Est"}))
    assert "Modèle normand" not in other and "Agence régionale de santé Grand Est" in other


def test_an_edited_template_is_compiled_again():
    own = DocumentTemplate.objects.create(region=region("28"), kind=DocumentKind.LETTRE_REFUS, title="Refus",
                                          body="<p>Première version</p>")
    context = sample_context(DocumentKind.LETTRE_REFUS)
    assert "Première version" in render_html(DocumentKind.LETTRE_REFUS, region("28"), context)
    own.body = "<p>Seconde version</p>"
    own.save()
    html = render_html(DocumentKind.LETTRE_REFUS, region("28"), context)
    assert "Seconde version" in html and "Première version" not in html


def test_data_is_escaped_a_script_in_a_name_prints_as_text():
    context = sample_context(DocumentKind.LETTRE_REFUS)
    context["etablissement"]["nom"] = "<script>alert(1)</script> CH <b>gras</b>"
    html = render_html(DocumentKind.LETTRE_REFUS, region("28"), context)
    assert "<script>" not in html and "<b>gras" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; CH &lt;b&gt;gras&lt;/b&gt;" in html
    assert "<script>alert(1)</script> CH <b>gras</b>" in pdf_text(
        render_pdf(DocumentKind.LETTRE_REFUS, region("28"), context))


def test_the_context_must_be_plain_data():
    context = sample_context(DocumentKind.LETTRE_REFUS)
    context["etablissement"] = region("28")
    with pytest.raises(TypeError, match="etablissement"):
        render_html(DocumentKind.LETTRE_REFUS, region("28"), context)


PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==")


def test_rendering_loads_no_file_nor_url_only_data_urls(tmp_path):
    image = tmp_path / "point.png"
    image.write_bytes(PNG)
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    context = sample_context(DocumentKind.LETTRE_REFUS)

    def pdf_with(src):
        template = DocumentTemplate(kind=DocumentKind.LETTRE_REFUS, title="Essai", body=f'<img src="{src}">')
        return render_template_pdf(template, context)

    assert b"/Image" in pdf_with(data_url)
    assert b"/Image" not in pdf_with(image.as_uri())
    assert b"/Image" not in pdf_with("http://127.0.0.1:9/point.png")


# --- Validation ----------------------------------------------------------------------------------------

def refusal(body, kind=DocumentKind.LETTRE_ACCEPTATION) -> str:
    with pytest.raises(ValidationError) as caught:
        validate_body(body, kind)
    return " ".join(caught.value.messages)


def test_a_syntax_error_is_refused_with_its_line():
    message = refusal("<p>Bonjour</p>\n<p>\n{% if taux %}\n  {{ taux }}\n</p>")
    assert "Erreur de syntaxe" in message and "ligne 3" in message and "{% endif %}" in message
    assert "ligne 2" in refusal("<p>\n{{ taux|inexistant }}</p>")


def test_an_unknown_variable_is_refused_with_its_line_and_the_available_names():
    message = refusal("<p>Objet</p>\n<p>Madame,</p>\n<p>{{ etablisement.nom }}</p>")
    assert "Variable inconnue : {{ etablisement.nom }} (ligne 3)." in message
    assert "Vouliez-vous dire {{ etablissement.nom }} ?" in message
    assert "Variables disponibles : region, etablissement (nom, finess, siret, adresse, commune)" in message


def test_loop_variables_are_checked_against_the_items_of_the_list():
    validate_body("{% for a in actions %}{{ forloop.counter }}. {{ a.intitule }} {{ a.plafond|euros }}"
                  "{% empty %}aucune{% endfor %}", DocumentKind.CONVENTION)
    message = refusal("{% for a in actions %}\n{{ a.cuot|euros }}{% endfor %}")
    assert "Variable inconnue : {{ a.cuot }} (ligne 2)" in message and "{{ a.cout }}" in message
    assert "Variable inconnue : {{ forloop.counter }}" in refusal("{{ forloop.counter }}")
    validate_body("{% for d in dossiers %}{% for a in d.actions %}{{ a.accorde|euros }}{% endfor %}{% endfor %}",
                  DocumentKind.PROCES_VERBAL)
    validate_body("{% with total=total_accorde %}{{ total|euros }}{% endwith %} {{ actions.0.intitule }}",
                  DocumentKind.CONVENTION)
    validate_body('{% if decision.motivation and taux > 0 %}{{ decision.motivation|default:"—" }}{% endif %}',
                  DocumentKind.LETTRE_REFUS)
    assert "etablisement.nom" in refusal("{% if etablisement.nom %}x{% endif %}")
    assert "etablisement.nom" in refusal("{{ region|default:etablisement.nom }}")


def test_placeholders_belong_to_their_kind():
    validate_body("{{ seance.date|date_fr }}", DocumentKind.PROCES_VERBAL)
    assert "Variable inconnue : {{ seance.date }}" in refusal("{{ seance.date|date_fr }}")
    validate_body("{{ cpom.reference }}", DocumentKind.AVENANT)
    assert "cpom.reference" in refusal("{{ cpom.reference }}", DocumentKind.CONVENTION)


@pytest.mark.parametrize("body", [
    "{% load static %}{% static 'x.css' %}",
    "{% load i18n %}",
    '{% include "admin/base.html" %}',
    '{% extends "admin/base.html" %}',
    "{% url 'admin:index' %}",
    "{% csrf_token %}",
    "{% debug %}",
    "{% autoescape off %}{{ region }}{% endautoescape %}",
    "{% block contenu %}{% endblock %}",
])
def test_tags_reaching_files_settings_or_other_templates_are_refused(body):
    message = refusal(f"<p>Titre</p>\n{body}")
    assert "n'est pas autorisée (ligne 2)" in message


def test_filters_disabling_escaping_are_refused():
    assert "« safe » n'est pas autorisé" in refusal("{{ decision.motivation|safe }}")
    assert "« safeseq » n'est pas autorisé" in refusal("{{ actions|safeseq }}")


# --- Admin ---------------------------------------------------------------------------------------------

@pytest.fixture
def hdf_admin():
    """An ARS administrator of Hauts-de-France (region 32)."""
    return ArsAdminFactory(email="admin.hdf@ars.sante.fr")


@pytest.fixture
def root():
    return UserFactory(email="root@exemple.fr", is_superuser=True, is_staff=True)


@pytest.fixture
def grand_est_template():
    return DocumentTemplate.objects.create(region=region("44"), kind=DocumentKind.CONVENTION,
                                           title="Convention Grand Est", body="<p>Grand Est</p>")


def change_url(template):
    return f"{ADMIN_URL}{template.pk}/change/"


def form_errors(response):
    form = response.context["adminform"].form
    return {name: list(errors) for name, errors in form.errors.items()}


def test_an_ars_admin_lists_the_defaults_and_their_regions_templates_only(client, hdf_admin, grand_est_template):
    own = default(DocumentKind.LETTRE_REFUS).customize_for(region("32"), hdf_admin)
    client.force_login(hdf_admin)
    listed = set(client.get(ADMIN_URL).context["cl"].queryset)
    assert own in listed and default(DocumentKind.CONVENTION) in listed
    assert grand_est_template not in listed
    assert len(listed) == len(DocumentKind.values) + 1


def test_another_regions_template_does_not_exist_for_an_ars_admin(client, hdf_admin, grand_est_template):
    client.force_login(hdf_admin)
    pk = grand_est_template.pk
    assert client.get(change_url(grand_est_template)).status_code == 404
    assert client.post(change_url(grand_est_template), {"title": "Pris", "body": "<p>x</p>"}).status_code == 404
    assert client.get(f"{ADMIN_URL}{pk}/apercu.pdf").status_code == 404
    assert client.post(f"{ADMIN_URL}{pk}/delete/", {"post": "yes"}).status_code == 404
    assert client.post(f"{ADMIN_URL}{pk}/personnaliser/").status_code == 404
    grand_est_template.refresh_from_db()
    assert grand_est_template.title == "Convention Grand Est"


def test_defaults_are_read_only_for_an_ars_admin(client, hdf_admin):
    template = default(DocumentKind.CONVENTION)
    client.force_login(hdf_admin)
    page = client.get(change_url(template))
    assert page.status_code == 200
    content = page.content.decode()
    assert 'name="body"' not in content and "Personnaliser pour ma région" in content
    assert "{{ etablissement.nom }}" in content and "Aperçu PDF" in content
    assert client.post(change_url(template), {"title": "Pris", "body": "<p>x</p>"}).status_code == 403
    assert client.post(f"{ADMIN_URL}{template.pk}/delete/", {"post": "yes"}).status_code == 403
    template.refresh_from_db()
    assert template.body == default_body(DocumentKind.CONVENTION)


def test_customizing_a_default_copies_it_for_the_region_then_saving_validates_the_body(client, hdf_admin):
    template = default(DocumentKind.LETTRE_ACCEPTATION)
    client.force_login(hdf_admin)
    assert client.get(f"{ADMIN_URL}{template.pk}/personnaliser/").status_code == 405
    response = client.post(f"{ADMIN_URL}{template.pk}/personnaliser/")
    own = DocumentTemplate.objects.get(region=region("32"), kind=DocumentKind.LETTRE_ACCEPTATION)
    assert response.status_code == 302 and response["Location"] == change_url(own)
    assert own.body == template.body
    assert client.post(f"{ADMIN_URL}{template.pk}/personnaliser/")["Location"] == change_url(own)  # no 2nd copy

    page = client.get(change_url(own))
    assert page.status_code == 200 and 'name="body"' in page.content.decode()

    refused = client.post(change_url(own), {"title": own.title, "body": "<p>\n{{ etablisement.nom }}</p>"})
    assert refused.status_code == 200
    assert "Variable inconnue : {{ etablisement.nom }} (ligne 2)" in " ".join(form_errors(refused)["body"])
    refused = client.post(change_url(own), {"title": own.title, "body": "{% include 'admin/base.html' %}"})
    assert "n'est pas autorisée" in " ".join(form_errors(refused)["body"])

    body = own.body.replace("Madame la Directrice, Monsieur le Directeur,</p>", "Madame, Monsieur,</p>")
    saved = client.post(change_url(own), {"title": "Acceptation (Hauts-de-France)", "body": body})
    assert saved.status_code == 302
    own.refresh_from_db()
    assert own.title == "Acceptation (Hauts-de-France)" and own.updated_by == hdf_admin
    assert own.region_id == region("32").pk and own.kind == DocumentKind.LETTRE_ACCEPTATION

    # Deleting the region's own template puts the default back in force there.
    assert client.post(f"{ADMIN_URL}{own.pk}/delete/", {"post": "yes"}).status_code == 302
    assert template_for(DocumentKind.LETTRE_ACCEPTATION, region("32")) == template


def test_the_customize_action_of_the_list(client, hdf_admin):
    client.force_login(hdf_admin)
    refus, convention = default(DocumentKind.LETTRE_REFUS), default(DocumentKind.CONVENTION)
    response = client.post(ADMIN_URL, {"action": "customize_action", "_selected_action": [refus.pk, convention.pk]})
    assert response.status_code == 302
    assert set(DocumentTemplate.objects.filter(region=region("32")).values_list("kind", flat=True)) == {
        DocumentKind.LETTRE_REFUS, DocumentKind.CONVENTION}


def test_an_ars_admin_adds_for_their_region_only_once_per_kind(client, hdf_admin):
    client.force_login(hdf_admin)
    data = {"kind": DocumentKind.LETTRE_REFUS, "title": "Refus", "body": "<p>{{ decision.motivation }}</p>",
            "region": region("44").pk}  # ignored: the region is theirs
    assert client.post(f"{ADMIN_URL}add/", data).status_code == 302
    created = DocumentTemplate.objects.get(kind=DocumentKind.LETTRE_REFUS, region__isnull=False)
    assert created.region == region("32") and created.updated_by == hdf_admin
    again = client.post(f"{ADMIN_URL}add/", data)
    assert again.status_code == 200 and "déjà son propre modèle" in " ".join(form_errors(again)["kind"])


def test_the_pdf_preview_uses_sample_data_and_can_show_unsaved_text(client, hdf_admin):
    template = default(DocumentKind.LETTRE_REFUS)
    own = template.customize_for(region("32"), hdf_admin)
    client.force_login(hdf_admin)

    response = client.get(f"{ADMIN_URL}{template.pk}/apercu.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "CENTRE HOSPITALIER DE LISIEUX" in text and "Agence régionale de santé Hauts-de-France" in text

    typed = client.post(f"{ADMIN_URL}{own.pk}/apercu.pdf", {"body": "<p>Texte à l'essai {{ dossier.numero }}</p>"})
    assert typed.status_code == 200 and "Texte à l'essai CLACT-28-2026-0042" in pdf_text(typed.content)
    own.refresh_from_db()
    assert "Texte à l'essai" not in own.body  # not saved
    wrong = client.post(f"{ADMIN_URL}{own.pk}/apercu.pdf", {"body": "{{ etablisement.nom }}"})
    assert wrong.status_code == 400 and "Variable inconnue" in wrong.content.decode()
    assert client.post(f"{ADMIN_URL}{template.pk}/apercu.pdf", {"body": "<p>x</p>"}).status_code == 403


def test_a_superuser_edits_defaults_and_any_regions_templates(client, root, grand_est_template):
    client.force_login(root)
    template = default(DocumentKind.CONVENTION)
    body = template.body + "\n<p>Clause ajoutée pour toutes les régions.</p>"
    assert client.post(change_url(template), {"title": template.title, "body": body}).status_code == 302
    template.refresh_from_db()
    assert template.body.endswith("toutes les régions.</p>") and template.updated_by == root

    assert client.post(change_url(grand_est_template), {"title": "GE", "body": "<p>{{ region }}</p>"}
                       ).status_code == 302
    data = {"kind": DocumentKind.AVENANT, "region": region("53").pk, "title": "Avenant breton",
            "body": "<p>{{ cpom.reference }}</p>"}
    assert client.post(f"{ADMIN_URL}add/", data).status_code == 302
    assert DocumentTemplate.objects.get(kind=DocumentKind.AVENANT, region=region("53")).title == "Avenant breton"
    second_default = client.post(f"{ADMIN_URL}add/", {**data, "region": ""})
    assert second_default.status_code == 200 and "déjà son modèle par défaut" in " ".join(
        form_errors(second_default)["kind"])
    assert client.post(f"{ADMIN_URL}{template.pk}/delete/", {"post": "yes"}).status_code == 403  # defaults stay


def test_instructors_and_applicants_have_no_access(client):
    for user in (InstructorFactory(email="instructeur@ars.sante.fr"), UserFactory(email="porteur@exemple.fr")):
        client.force_login(user)
        assert client.get(ADMIN_URL).status_code in (302, 403)
        assert client.get(change_url(default(DocumentKind.CONVENTION))).status_code in (302, 403)
        assert client.get(f"{ADMIN_URL}{default(DocumentKind.CONVENTION).pk}/apercu.pdf").status_code in (302, 403)

