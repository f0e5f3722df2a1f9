"""The ARS administrator's call management in the admin site: region restriction, read-only
templates and their copy, the form schema typed as YAML/JSON and versioned, the preview."""

import datetime as dt
import html
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from guichet.calls.forms import dump_yaml, schema_text
from guichet.calls.models import Call, FormVersion
from guichet.calls.templates_loader import load_seed_templates
from tests.factories import (
    PARIS,
    ArsAdminFactory,
    CallFactory,
    DossierFactory,
    InstructorFactory,
    UserFactory,
    minimal_schema,
    region,
)

pytestmark = pytest.mark.django_db

CALLS_URL = "/admin/calls/call/"


def change_url(call):
    return f"{CALLS_URL}{call.pk}/change/"


def preview_url(call):
    return f"{CALLS_URL}{call.pk}/apercu/"


def copy_url(call):
    return f"{CALLS_URL}{call.pk}/copier/"


@pytest.fixture
def hdf_admin():
    """An ARS administrator of Hauts-de-France (region 32)."""
    return ArsAdminFactory(email="admin.hdf@ars.sante.fr")


@pytest.fixture
def root():
    return UserFactory(email="root@exemple.fr", is_superuser=True, is_staff=True)


@pytest.fixture
def hdf_call():
    return CallFactory(title="Appel Hauts-de-France 2025", slug="hdf-2025")


@pytest.fixture
def ge_call():
    return CallFactory(title="Appel Grand Est 2025", slug="grand-est-2025", region=region("44"))


@pytest.fixture
def templates():
    return {call.slug: call for call in load_seed_templates()}


def call_data(call, **overrides):
    """The change form as a browser posts it, from the call's stored values."""
    opens, closes = timezone.localtime(call.opens_at), timezone.localtime(call.closes_at)
    data = {
        "title": call.title,
        "slug": call.slug,
        "region": call.region_id,
        "year": call.year,
        "kind": call.kind,
        "opens_at_0": opens.strftime("%d/%m/%Y"),
        "opens_at_1": opens.strftime("%H:%M:%S"),
        "closes_at_0": closes.strftime("%d/%m/%Y"),
        "closes_at_1": closes.strftime("%H:%M:%S"),
        "eligible_kinds": list(call.eligible_kinds),
        "envelope": "" if call.envelope is None else str(call.envelope),
        "cofinancing_rate": str(call.cofinancing_rate),
        "contact_email": call.contact_email,
        "notice": call.notice,
        "required_documents": dump_yaml(call.required_documents) if call.required_documents else "",
        "payment_windows": dump_yaml(call.payment_windows) if call.payment_windows else "",
        "form_schema": schema_text(call.current_form.schema),
        "_save": "Enregistrer",
    }
    if call.published:
        data["published"] = "on"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def form_errors(response) -> dict:
    return response.context["adminform"].form.errors


# --- Who sees and edits what -------------------------------------------------------------------


def test_ars_admin_lists_the_calls_of_their_region_and_the_templates(client, hdf_admin, hdf_call, ge_call,
                                                                     templates):
    client.force_login(hdf_admin)
    response = client.get(CALLS_URL)
    assert response.status_code == 200
    listed = set(response.context["cl"].result_list)
    assert hdf_call in listed and ge_call not in listed
    assert set(templates.values()) <= listed, "templates of every region are visible, to be copied"
    assert "Appel Grand Est 2025" not in response.content.decode()


def test_ars_admin_cannot_reach_a_call_of_another_region(client, hdf_admin, ge_call):
    client.force_login(hdf_admin)
    assert client.get(change_url(ge_call)).status_code == 302  # "does not exist" for them: back to the index
    assert client.get(preview_url(ge_call)).status_code == 404
    assert client.get(copy_url(ge_call)).status_code == 404
    response = client.post(change_url(ge_call), call_data(ge_call, title="Piraté", region=region("32").pk))
    assert response.status_code == 302
    ge_call.refresh_from_db()
    assert ge_call.title == "Appel Grand Est 2025" and ge_call.region.code == "44"
    assert client.post(f"{CALLS_URL}{ge_call.pk}/delete/", {"post": "yes"}).status_code == 302
    assert Call.objects.filter(pk=ge_call.pk).exists()


def test_ars_admin_can_only_choose_their_own_region(client, hdf_admin, hdf_call):
    client.force_login(hdf_admin)
    page = client.get(change_url(hdf_call))
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert list(form.fields["region"].queryset) == [region("32")]
    assert "is_template" not in form.fields, "an ARS administrator cannot make templates"

    response = client.post(change_url(hdf_call), call_data(hdf_call, region=region("44").pk))
    assert response.status_code == 200 and "region" in form_errors(response)
    hdf_call.refresh_from_db()
    assert hdf_call.region.code == "32"


def test_ars_admin_edits_a_call_of_their_region(client, hdf_admin, hdf_call):
    client.force_login(hdf_admin)
    response = client.post(change_url(hdf_call), call_data(hdf_call, title="Appel HDF 2025 (modifié)",
                                                           is_template="on"))
    assert response.status_code == 302, form_errors(response)
    hdf_call.refresh_from_db()
    assert hdf_call.title == "Appel HDF 2025 (modifié)" and not hdf_call.is_template


def test_ars_admin_creates_a_call_in_their_region_with_a_first_form_version(client, hdf_admin):
    client.force_login(hdf_admin)
    page = client.get(f"{CALLS_URL}add/")
    assert page.status_code == 200
    starter = page.context["adminform"].form["form_schema"].value()
    assert "sections:" in starter
    data = {
        "title": "Appel CLACT 2026", "slug": "hdf-2026", "region": region("32").pk, "year": 2026,
        "kind": "application", "opens_at_0": "05/01/2026", "opens_at_1": "09:00:00",
        "closes_at_0": "30/06/2026", "closes_at_1": "23:59:00", "cofinancing_rate": "50",
        "form_schema": starter, "_save": "Enregistrer",
    }
    response = client.post(f"{CALLS_URL}add/", data)
    assert response.status_code == 302, form_errors(response)
    call = Call.objects.get(slug="hdf-2026")
    assert call.region.code == "32" and not call.is_template and not call.published
    assert call.current_form.number == 1 and call.current_form.created_by == hdf_admin


def test_template_is_read_only_for_an_ars_admin(client, hdf_admin, templates):
    template = templates["modele-hdf-2024-candidature"]
    client.force_login(hdf_admin)
    page = client.get(change_url(template))
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    body = page.content.decode()
    assert 'name="form_schema"' not in body, "no editable form on a template"
    assert "Copier dans un nouvel appel" in body and "Prévisualiser le formulaire" in body
    assert "1. Identification du demandeur" in body, "the template's schema is shown as text"
    response = client.post(change_url(template), call_data(template, title="Modifié"))
    assert response.status_code == 403
    template.refresh_from_db()
    assert template.title != "Modifié" and template.form_versions.count() == 1
    assert client.post(f"{CALLS_URL}{template.pk}/delete/", {"post": "yes"}).status_code == 403


def test_ars_admin_copies_a_template_into_their_region(client, hdf_admin, templates):
    template = templates["modele-grand-est-2025-2026-candidature"]  # another region's template
    client.force_login(hdf_admin)
    page = client.get(copy_url(template))
    assert page.status_code == 200
    assert list(page.context["form"].fields["region"].queryset) == [region("32")]
    data = {"region": region("32").pk, "title": "Appel CLACT 2026 (Hauts-de-France)", "slug": "hdf-clact-2026",
            "year": 2026, "opens_at": "2026-01-05T09:00", "closes_at_0": "2026-06-30", "closes_at_1": ""}
    response = client.post(copy_url(template), data)
    new = Call.objects.get(slug="hdf-clact-2026")
    assert response.status_code == 302 and response["Location"] == change_url(new)
    assert new.region.code == "32" and not new.is_template and not new.published and new.year == 2026
    assert new.opens_at == dt.datetime(2026, 1, 5, 9, 0, tzinfo=PARIS)
    assert new.closes_at == dt.datetime(2026, 7, 1, 0, 0, tzinfo=PARIS)  # 30 June typed as a day: included
    version = new.current_form
    assert version.number == 1 and version.created_by == hdf_admin
    assert version.schema == template.current_form.schema
    assert new.required_documents == template.required_documents
    followed = client.get(response["Location"])
    assert "a été créé à partir de" in followed.content.decode()

    refused = client.post(copy_url(template), {**data, "slug": "autre-region", "region": region("44").pk})
    assert refused.status_code == 200 and "region" in refused.context["form"].errors
    assert not Call.objects.filter(slug="autre-region").exists()


def test_copy_checks_the_slug_and_the_dates(client, hdf_admin, hdf_call):
    client.force_login(hdf_admin)
    data = {"region": region("32").pk, "title": "Copie", "slug": hdf_call.slug, "year": 2026,
            "opens_at": "2026-06-30T09:00", "closes_at_0": "2026-01-05", "closes_at_1": "09:00"}
    response = client.post(copy_url(hdf_call), data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "déjà utilisé" in errors["slug"][0]
    assert errors["closes_at"] == ["La date de clôture doit être postérieure à la date d'ouverture."]


def test_copy_action_on_the_list_leads_to_the_copy_form(client, hdf_admin, templates):
    template = templates["modele-hdf-2024-candidature"]
    client.force_login(hdf_admin)
    response = client.post(CALLS_URL, {"action": "copy_call_action", "_selected_action": [template.pk]})
    assert response.status_code == 302 and response["Location"] == copy_url(template)
    two = [template.pk, templates["modele-hdf-2024-justificatifs"].pk]
    response = client.post(CALLS_URL, {"action": "copy_call_action", "_selected_action": two}, follow=True)
    assert "Sélectionnez un seul appel" in response.content.decode()


def test_superuser_sees_and_edits_every_call_and_template(client, root, hdf_call, ge_call, templates):
    client.force_login(root)
    listed = set(client.get(CALLS_URL).context["cl"].result_list)
    assert {hdf_call, ge_call} | set(templates.values()) <= listed
    template = templates["modele-grand-est-2025-2026-candidature"]
    response = client.post(change_url(template), call_data(template, title="Modèle Grand Est (révisé)",
                                                           is_template="on"))
    assert response.status_code == 302, form_errors(response)
    template.refresh_from_db()
    assert template.title == "Modèle Grand Est (révisé)" and template.is_template
    response = client.post(change_url(ge_call), call_data(ge_call, notice="Nouvelle notice."))
    assert response.status_code == 302, form_errors(response)


def test_instructor_cannot_use_the_calls_admin(client, hdf_call):
    instructor = InstructorFactory()
    client.force_login(instructor)
    assert client.get(CALLS_URL).status_code == 403
    assert client.get(change_url(hdf_call)).status_code == 403
    assert client.post(change_url(hdf_call), call_data(hdf_call, title="Changé")).status_code == 403
    assert client.get(preview_url(hdf_call)).status_code == 403
    assert client.get(copy_url(hdf_call)).status_code == 403
    assert client.get(f"{CALLS_URL}add/").status_code == 403
    hdf_call.refresh_from_db()
    assert hdf_call.title == "Appel Hauts-de-France 2025"
    assert "calls" not in [app["app_label"] for app in client.get("/admin/").context["app_list"]]


# --- The form schema ---------------------------------------------------------------------------


def test_change_form_shows_the_latest_schema_as_yaml(client, hdf_admin, hdf_call):
    FormVersion.objects.create(call=hdf_call, number=2, schema={"sections": [{
        "key": "projet", "title": "Le projet", "fields": [{"key": "intitule", "type": "text", "label": "Intitulé"}]}]})
    client.force_login(hdf_admin)
    page = client.get(change_url(hdf_call))
    text = page.context["adminform"].form["form_schema"].value()
    assert text.startswith("sections:\n- key: projet\n  title: Le projet\n")
    assert "label: Intitulé" in text, "accents are kept as typed, not escaped"
    assert "Formulaire (JSON ou YAML)" in page.content.decode()


BAD_SCHEMAS = {
    "unknown show_if reference": (
        """sections:
- key: projet
  title: Le projet
  fields:
  - key: intitule
    type: text
    label: Intitulé
    show_if: {field: inexistant, op: checked}
""",
        ["Champ « intitule » : la condition porte sur « inexistant », qui n'existe pas au-dessus de ce champ"],
    ),
    "cycle between computed fields": (
        """sections:
- key: budget
  title: Budget
  fields:
  - {key: total, type: computed, label: Total, expression: "reste + 1"}
  - {key: reste, type: computed, label: Reste, expression: "total - 1"}
""",
        ["dépendance circulaire"],
    ),
    "broken YAML": (
        """sections:
- key: projet
  title: "Le projet
  fields: [
""",
        ["Texte JSON ou YAML illisible, ligne"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_SCHEMAS))
def test_a_bad_schema_is_refused_with_french_messages_and_the_text_is_kept(client, hdf_admin, hdf_call, case):
    text, expected = BAD_SCHEMAS[case]
    client.force_login(hdf_admin)
    response = client.post(change_url(hdf_call), call_data(hdf_call, form_schema=text, title="Titre changé"))
    assert response.status_code == 200
    messages = form_errors(response)["form_schema"]
    for fragment in expected:
        assert any(fragment in message for message in messages), messages
    assert response.context["adminform"].form["form_schema"].value() == text
    body = html.unescape(response.content.decode())
    assert text in body and expected[0] in body
    assert hdf_call.form_versions.count() == 1
    hdf_call.refresh_from_db()
    assert hdf_call.title == "Appel Hauts-de-France 2025", "nothing is saved"


def test_every_schema_error_is_listed(client, hdf_admin, hdf_call):
    text = """sections:
- key: projet
  title: Le projet
  fields:
  - {key: a, type: inconnu, label: A}
  - {key: b, type: file, label: B, max_size_mb: 500}
"""
    client.force_login(hdf_admin)
    response = client.post(change_url(hdf_call), call_data(hdf_call, form_schema=text))
    messages = form_errors(response)["form_schema"]
    assert len(messages) >= 2
    assert any("« a »" in m and "inconnu" in m for m in messages)
    assert any("« b »" in m and "max_size_mb" in m for m in messages)


def test_a_changed_schema_is_a_new_version_and_an_unchanged_one_is_not(client, hdf_admin, hdf_call):
    client.force_login(hdf_admin)
    response = client.post(change_url(hdf_call), call_data(hdf_call))
    assert response.status_code == 302, form_errors(response)
    assert hdf_call.form_versions.count() == 1, "unchanged schema: no new version"

    schema = minimal_schema()
    schema["sections"][0]["fields"].append({"key": "objectif", "type": "textarea", "label": "Objectif du projet"})
    response = client.post(change_url(hdf_call), call_data(hdf_call, form_schema=dump_yaml(schema)))
    assert response.status_code == 302, form_errors(response)
    latest = hdf_call.current_form
    assert latest.number == 2 and latest.schema == schema and latest.created_by == hdf_admin
    assert hdf_call.form_versions.get(number=1).schema == minimal_schema(), "older versions are kept"

    # JSON is accepted too; the same schema again makes no version.
    response = client.post(change_url(hdf_call), call_data(hdf_call, form_schema=json.dumps(schema)))
    assert response.status_code == 302, form_errors(response)
    assert hdf_call.form_versions.count() == 2


def test_versions_are_listed_with_their_author_and_dossiers(client, hdf_admin, hdf_call):
    DossierFactory(call=hdf_call)
    FormVersion.objects.create(call=hdf_call, number=2, schema=minimal_schema(), created_by=hdf_admin)
    client.force_login(hdf_admin)
    body = client.get(change_url(hdf_call)).content.decode()
    assert "Versions du formulaire" in body
    assert "<tr><td>2</td>" in body and hdf_admin.email in body
    row_1 = body.split("<tr><td>1</td>")[1].split("</tr>")[0]
    assert "<td>1</td>" in row_1, "one dossier on version 1"
    assert f"{preview_url(hdf_call)}?version=1" in body


# --- Other settings --------------------------------------------------------------------------


def test_dates_are_typed_in_paris_time_and_ordered(client, hdf_admin, hdf_call):
    client.force_login(hdf_admin)
    data = call_data(hdf_call, opens_at_0="01/02/2025", opens_at_1="09:00:00",
                     closes_at_0="31/07/2025", closes_at_1="23:59:00")
    assert client.post(change_url(hdf_call), data).status_code == 302
    hdf_call.refresh_from_db()
    assert hdf_call.opens_at == dt.datetime(2025, 2, 1, 8, 0, tzinfo=dt.UTC)  # winter: UTC+1
    assert hdf_call.closes_at == dt.datetime(2025, 7, 31, 21, 59, tzinfo=dt.UTC)  # summer: UTC+2
    page = client.get(change_url(hdf_call))
    assert page.context["adminform"].form["opens_at"].value() == dt.datetime(2025, 2, 1, 9, 0, tzinfo=PARIS)

    response = client.post(change_url(hdf_call), {**data, "closes_at_0": "01/01/2025"})
    assert form_errors(response)["closes_at"] == ["La date de clôture doit être postérieure à la date d'ouverture."]


def test_rate_and_eligible_kinds(client, hdf_admin, hdf_call):
    client.force_login(hdf_admin)
    response = client.post(change_url(hdf_call), call_data(hdf_call, cofinancing_rate="120"))
    assert "cofinancing_rate" in form_errors(response)
    response = client.post(change_url(hdf_call), call_data(hdf_call, eligible_kinds=["inconnu"]))
    assert "eligible_kinds" in form_errors(response)
    page = client.get(change_url(hdf_call)).content.decode()
    assert 'type="checkbox" name="eligible_kinds" value="medico_social"' in page
    response = client.post(change_url(hdf_call), call_data(hdf_call, cofinancing_rate="40",
                                                           eligible_kinds=["sanitaire_public", "medico_social"]))
    assert response.status_code == 302, form_errors(response)
    hdf_call.refresh_from_db()
    assert str(hdf_call.cofinancing_rate) == "40.00"
    assert hdf_call.eligible_kinds == ["sanitaire_public", "medico_social"]


def test_required_documents_and_payment_windows_are_checked(client, hdf_admin, hdf_call):
    client.force_login(hdf_admin)
    documents = '- label: "Bilan social"\n  part: 2\n- {label: "Avis du CSE", part: 3, may_come_later: true}\n'
    windows = ("- label: Premier semestre\n  received_from: null\n  received_until: 2025-05-31\n"
               "  paid_by: 2025-06-30\n")
    response = client.post(change_url(hdf_call), call_data(hdf_call, required_documents=documents,
                                                           payment_windows=windows))
    assert response.status_code == 302, form_errors(response)
    hdf_call.refresh_from_db()
    assert hdf_call.required_documents == [
        {"label": "Bilan social", "part": 2, "optional": False, "may_come_later": False},
        {"label": "Avis du CSE", "part": 3, "optional": False, "may_come_later": True},
    ]
    assert hdf_call.payment_windows == [{"label": "Premier semestre", "received_from": None,
                                         "received_until": "2025-05-31", "paid_by": "2025-06-30"}]

    bad_documents = '- label: ""\n  part: deux\n  couleur: bleu\n'
    bad_windows = '[{"label": "S1", "received_until": "31/05/2025"}]'
    response = client.post(change_url(hdf_call), call_data(hdf_call, required_documents=bad_documents,
                                                           payment_windows=bad_windows))
    errors = form_errors(response)
    assert any("couleur" in m for m in errors["required_documents"])
    assert any("« label »" in m for m in errors["required_documents"])
    assert any("« part »" in m for m in errors["required_documents"])
    assert any("31/05/2025" in m for m in errors["payment_windows"])
    assert any("paid_by" in m for m in errors["payment_windows"])
    assert response.context["adminform"].form["payment_windows"].value() == bad_windows
    response = client.post(change_url(hdf_call), call_data(hdf_call, required_documents="label: seul"))
    assert "Saisissez une liste" in form_errors(response)["required_documents"][0]


# --- Preview ------------------------------------------------------------------------------------


def test_preview_renders_every_section_of_a_template(client, hdf_admin, templates):
    template = templates["modele-grand-est-2025-2026-candidature"]
    client.force_login(hdf_admin)
    response = client.get(preview_url(template))
    assert response.status_code == 200
    body = html.unescape(response.content.decode())
    schema = template.current_form.parsed()
    for section in schema.sections:
        assert section.title in body
        for field in section.fields:
            if field.label:
                assert field.label in body
    assert 'name="raison_sociale"' in body, "inputs are rendered by the real form engine"
    preview_form = body.split('<form id="section-form"')[1].split(">")[0]
    # Nothing is submitted: the form points nowhere and dossier.js cancels its submission (no inline handler: CSP).
    assert 'action="#"' in preview_form and "data-preview" in preview_form, "nothing is submitted"
    assert 'hasAttribute("data-preview")' in (Path(settings.BASE_DIR) / "guichet/static/guichet/dossier.js").read_text()
    assert "version 1" in body


def test_preview_of_an_older_version_and_of_unsaved_text(client, hdf_admin, hdf_call):
    FormVersion.objects.create(call=hdf_call, number=2, schema={"sections": [{
        "key": "projet", "title": "Partie version deux", "fields": [{"key": "x", "type": "text", "label": "X"}]}]})
    client.force_login(hdf_admin)
    body = client.get(preview_url(hdf_call) + "?version=1").content.decode()
    assert "Nom du projet" in body and "Partie version deux" not in body
    assert "Partie version deux" in client.get(preview_url(hdf_call)).content.decode()
    assert client.get(preview_url(hdf_call) + "?version=9").status_code == 404

    typed = "sections:\n- key: essai\n  title: Partie pas encore enregistrée\n  fields:\n" \
            "  - {key: y, type: amount, label: Montant demandé}\n"
    response = client.post(preview_url(hdf_call), {"form_schema": typed})
    body = response.content.decode()
    assert response.status_code == 200 and "Partie pas encore enregistrée" in body and "Montant demandé" in body
    assert hdf_call.form_versions.count() == 2, "a preview saves nothing"
    response = client.post(preview_url(hdf_call), {"form_schema": "sections: []"})
    assert "Ce formulaire ne peut pas être affiché" in response.content.decode()


def test_preview_is_permission_checked_like_the_change_view(client, hdf_admin, ge_call, templates):
    client.force_login(hdf_admin)
    assert client.get(preview_url(ge_call)).status_code == 404
    template = templates["modele-hdf-2024-candidature"]
    assert client.get(preview_url(template)).status_code == 200
    assert client.post(preview_url(template), {"form_schema": "sections: []"}).status_code == 403
    client.force_login(UserFactory())
    assert client.get(preview_url(template)).status_code == 302  # applicants go to the admin login
