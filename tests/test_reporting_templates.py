"""Export templates (issue 13, « modèles d'export »): create, order and rename columns without JavaScript, French
errors at the field, ZIP options stored and checked, downloads applying a template to the workspace's list, columns
surviving a new form version, permissions and the audit trail."""

import csv
import datetime as dt
import io
import re
from html import unescape

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from guichet.calls.models import FormVersion
from guichet.core.models import AuditRecord
from guichet.reporting.export_templates import zip_options
from guichet.reporting.models import ExportTemplate
from tests import test_reporting_exports as base
from tests.factories import CallFactory, InstructorFactory, UserFactory, region

pytestmark = pytest.mark.django_db
SCHEMA, file, ods_sheets = base.SCHEMA, base.file, base.ods_sheets
# The exports' fixtures: a call of Grand Est with two form versions, its instructor, three filed dossiers.
call, instructor, world = base.call, base.instructor, base.world


def create_url(call):
    return reverse("reporting:template_create", args=[call.slug])


def post_data(rows, **extra):
    """The editor's POST: ``rows`` = [(key, header, checked)] in the displayed order."""
    data = {"name": "Tableau de bord", "format": "xlsx", "zip_name_pattern": "", "enregistrer": "1",
            "ordre": [k for k, _, _ in rows], "colonne": [k for k, _, on in rows if on]}
    data |= {f"entete:{k}": h for k, h, _ in rows}
    return data | extra


ROWS = [("champ.nom_projet", "=Projet", True), ("dossier.numero", "N° du dossier", True),
        ("dossier.montant_demande", "Montant demandé", True), ("dossier.etat", "État", False),
        ("champ.actions", "Lignes d'action", True)]


def make(call, instructor, columns=None, **fields):
    return ExportTemplate.objects.create(call=call, created_by=instructor, name=fields.pop("name", "Suivi"),
                                         columns=columns or [{"key": "dossier.numero", "header": "Numéro"}], **fields)


def test_an_instructor_creates_a_template_and_downloads_the_list_with_it(client, call, instructor, world):
    a, b, c = world
    client.force_login(instructor)
    page = client.get(create_url(call) + "?onglet=tous").content.decode()
    assert 'name="ordre" value="dossier.numero"' in page and 'value="champ.nom_projet"' in page
    assert 'value="annotation.' not in page  # this call has no annotation form
    response = client.post(create_url(call), post_data(ROWS, liste="onglet=tous&next=https://ailleurs.example"))
    assert response.status_code == 302 and response["Location"] == reverse("reporting:templates",
                                                                            args=[call.slug]) + "?onglet=tous"
    template = ExportTemplate.objects.get()
    assert template.columns == [{"key": "champ.nom_projet", "header": "=Projet"},
                                {"key": "dossier.numero", "header": "N° du dossier"},
                                {"key": "dossier.montant_demande", "header": "Montant demandé"},
                                {"key": "champ.actions", "header": "Lignes d'action"}]
    assert (template.created_by, template.format, template.call) == (instructor, "xlsx", call)
    listing = client.get(reverse("reporting:templates", args=[call.slug]) + "?onglet=tous&departement=67")
    download = reverse("reporting:template_export", args=[call.slug, template.pk, "xlsx"])
    assert download + "?onglet=tous&amp;departement=67" in listing.content.decode()

    response = client.get(download + "?onglet=tous&departement=67")
    assert response.status_code == 200 and "Tableau%20de%20bord" in response["Content-Disposition"]
    wb = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    main = wb.worksheets[0]
    assert [cell.value for cell in main[2]] == ["=Projet", "N° du dossier", "Montant demandé"]
    assert main["A2"].data_type == "s"  # a header typed like a formula stays text
    rows = [[cell.value for cell in r] for r in main.iter_rows(min_row=3)]
    assert rows == [['=HYPERLINK("http://x.example","clic")', b.number, pytest.approx(99.99)]]
    assert [ws.title for ws in wb.worksheets] == ["Dossiers", "Lignes d'action"]
    assert [[cell.value for cell in r] for r in wb["Lignes d'action"].iter_rows(min_row=3)] == [
        [b.number, 1, "Action 1", pytest.approx(99.99)]]
    record = AuditRecord.objects.get(action="export:workspace")
    assert (record.actor_id, record.details["template"], record.details["format"]) == (
        instructor.pk, "Tableau de bord", "xlsx")
    assert "departement=67" in record.details["query"]


def test_csv_and_ods_with_a_template(client, call, instructor, world):
    a, b, c = world
    template = make(call, instructor, [{"key": "dossier.numero", "header": "N°"},
                                       {"key": "champ.nom_projet", "header": "+Projet"}], format="csv")
    client.force_login(instructor)
    data = b"".join(client.get(reverse("reporting:template_export", args=[call.slug, template.pk, "csv"])
                               + "?onglet=tous").streaming_content).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(data), delimiter=";"))
    assert lines[0] == ["N°", "'+Projet"]
    assert [b.number, "'=HYPERLINK(\"http://x.example\",\"clic\")"] in lines and len(lines) == 4
    sheets = ods_sheets(b"".join(client.get(reverse("reporting:template_export", args=[call.slug, template.pk, "ods"])
                                            + "?onglet=tous").streaming_content))
    assert [cell[2] for cell in sheets["Dossiers"][1]] == ["N°", "+Projet"]
    assert list(sheets) == ["Dossiers"]  # no repeatable block chosen: no other sheet


def test_up_and_down_buttons_move_a_column_without_saving(client, call, instructor, world):
    client.force_login(instructor)
    data = post_data(ROWS, deplacer="haut:dossier.numero")
    del data["enregistrer"]
    response = client.post(create_url(call), data)
    assert response.status_code == 200 and not ExportTemplate.objects.exists()
    html = response.content.decode()
    assert html.index('name="ordre" value="dossier.numero"') < html.index('name="ordre" value="champ.nom_projet"')
    assert 'value="=Projet"' in html and 'value="Tableau de bord"' in html  # what was typed comes back
    assert "fr-message--error" not in html and "corrigez" not in html
    data["deplacer"] = "bas:champ.nom_projet"
    html = client.post(create_url(call), data).content.decode()
    assert html.index('name="ordre" value="champ.nom_projet"') > html.index('name="ordre" value="dossier.numero"')
    # Every button is a submit button of the form: no JavaScript needed.
    assert 'type="submit" class="fr-btn fr-btn--sm fr-btn--tertiary" name="deplacer" value="haut:dossier.etat"' in html
    assert "<script" not in html.split("<main", 1)[1].split("</main>")[0]


def test_the_form_says_what_is_wrong_in_french_at_the_field(client, call, instructor, world):
    make(call, instructor, name="Suivi")
    client.force_login(instructor)
    response = client.post(create_url(call), post_data([(k, h, False) for k, h, _ in ROWS], name="suivi"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Cochez au moins une colonne." in html and "Un modèle de cet appel porte déjà ce nom" in html
    response = client.post(create_url(call), post_data(ROWS, name="", format="zip", zip_include=["attachments"],
                                                        zip_name_pattern="{numero}/{inconnu}"))
    html = response.content.decode()
    assert "Donnez un nom au modèle." in html
    assert "Cochez les pièces jointes du formulaire à inclure." in html
    assert "ni « / »" in html
    response = client.post(create_url(call), post_data(ROWS, format="zip", zip_include=["pdf"],
                                                        zip_name_pattern="{numero} {inconnu}"))
    assert "Variable inconnue : {inconnu}." in response.content.decode()
    response = client.post(create_url(call), post_data(ROWS, format="zip", zip_include=[],
                                                        zip_name_pattern="sans variable"))
    html = response.content.decode()
    assert "Cochez au moins un type de fichiers à mettre dans le ZIP." in html
    assert "au moins une variable" in html
    response = client.post(create_url(call), post_data(ROWS, format="pdf"))
    assert "Choisissez un des formats proposés." in response.content.decode()
    assert ExportTemplate.objects.count() == 1


def test_zip_options_are_stored_and_read_back(client, call, instructor, world):
    FormVersion.objects.create(call=call, number=3, schema={"sections": [*SCHEMA["sections"], {
        "key": "pieces", "title": "Pièces", "fields": [{"key": "devis", "type": "file", "label": "Devis"},
                                                       {"key": "rib", "type": "file", "label": "RIB"}]}]})
    client.force_login(instructor)
    page = client.get(create_url(call)).content.decode()
    assert 'value="devis"' in page and 'value="rib"' in page
    response = client.post(create_url(call), post_data(
        ROWS, format="zip", zip_include=["attachments", "opinions", "pdf"], zip_file_fields=["devis"],
        zip_name_pattern=" {numero} - {etablissement} - {finess} - {champ} "))
    assert response.status_code == 302
    assert zip_options(ExportTemplate.objects.get()) == {
        "include": {"attachments", "opinions", "pdf"}, "file_fields": ["devis"],
        "name_pattern": "{numero} - {etablissement} - {finess} - {champ}"}
    response = client.post(create_url(call), post_data(ROWS, name="Autre", format="zip", zip_include=["attachments"],
                                                        zip_file_fields=["nom_projet"], zip_name_pattern="{numero}"))
    assert "Ce champ n'est plus une pièce jointe du formulaire." in unescape(response.content.decode())
    # A spreadsheet template keeps no ZIP options.
    client.post(create_url(call), post_data(ROWS, name="Tableur", zip_include=["pdf"], zip_name_pattern="{x}"))
    tableur = ExportTemplate.objects.get(name="Tableur")
    assert (tableur.zip_include, tableur.zip_name_pattern) == ([], "")


def test_a_column_whose_field_left_the_form_is_skipped_and_the_pages_say_so(client, call, instructor, world):
    template = make(call, instructor, [{"key": "dossier.numero", "header": "N°"},
                                       {"key": "champ.champ_supprime", "header": "Champ supprimé"},
                                       {"key": "champ.ancien_champ", "header": "Ancien"}])
    client.force_login(instructor)
    listing = client.get(reverse("reporting:templates", args=[call.slug])).content.decode()
    assert "1 colonne du modèle n'existe plus dans le formulaire et est ignorée : Champ supprimé." in listing
    edit = client.get(reverse("reporting:template_edit", args=[call.slug, template.pk])).content.decode()
    assert "retirée à l'enregistrement : Champ supprimé" in edit
    response = client.get(reverse("reporting:template_export", args=[call.slug, template.pk, "xlsx"]) + "?onglet=tous")
    main = load_workbook(io.BytesIO(b"".join(response.streaming_content))).worksheets[0]
    assert [cell.value for cell in main[2]] == ["N°", "Ancien"]  # a field of an older version is still there
    assert sorted(r[1].value or "" for r in main.iter_rows(min_row=3)) == ["", "", "Réponse v1"]


def test_a_template_outlives_its_author(client, call, instructor, world):
    author = InstructorFactory(region=region("44"))
    make(call, author, name="Modèle d'un ancien collègue")
    author.delete()
    client.force_login(instructor)
    html = unescape(client.get(reverse("reporting:templates", args=[call.slug])).content.decode())
    assert "Modèle d'un ancien collègue" in html and "Créé par un compte supprimé" in html


def test_edit_and_delete(client, call, instructor, world):
    template = make(call, instructor, [{"key": "dossier.etat", "header": "État"}])
    colleague = InstructorFactory(region=region("44"))  # shared by the region's instructors
    client.force_login(colleague)
    edit = reverse("reporting:template_edit", args=[call.slug, template.pk])
    html = client.get(edit).content.decode()
    assert html.index('value="dossier.etat"') < html.index('value="dossier.numero"')
    response = client.post(edit, post_data(ROWS, name="Suivi renommé"))
    assert response.status_code == 302
    template.refresh_from_db()
    assert template.name == "Suivi renommé" and template.columns[0]["key"] == "champ.nom_projet"
    delete = reverse("reporting:template_delete", args=[call.slug, template.pk])
    assert "Supprimer le modèle « Suivi renommé »" in client.get(delete).content.decode()
    assert client.post(delete).status_code == 302 and not ExportTemplate.objects.exists()


def test_annotations_and_score_are_offered_to_the_ars_and_exported(client, call, instructor, world):
    from guichet.calls.models import FormKind

    FormVersion.objects.create(call=call, kind=FormKind.ANNOTATIONS, number=1, schema={"sections": [
        {"key": "avis", "title": "Avis", "fields": [{"key": "avis_instructeur", "type": "text", "label": "Avis"}]}]})
    a = world[0]
    a.annotations = {"avis_instructeur": "Solide"}
    a.save()
    client.force_login(instructor)
    page = client.get(create_url(call)).content.decode()
    assert 'value="annotation.avis_instructeur"' in page and 'value="dossier.note"' in page
    template = make(call, instructor, [{"key": "dossier.numero", "header": "N°"},
                                       {"key": "annotation.avis_instructeur", "header": "Avis privé"}])
    response = client.get(reverse("reporting:template_export", args=[call.slug, template.pk, "xlsx"]) + "?onglet=tous")
    main = load_workbook(io.BytesIO(b"".join(response.streaming_content))).worksheets[0]
    assert [a.number, "Solide"] in [[cell.value for cell in r] for r in main.iter_rows(min_row=3)]


def test_nobody_but_the_region_staff_reaches_the_templates(client, call, instructor, world):
    template = make(call, instructor)
    other_call_template = make(CallFactory(region=region("44"), slug="autre-2025"), instructor, name="Ailleurs")
    urls = [reverse("reporting:templates", args=[call.slug]), create_url(call),
            reverse("reporting:template_edit", args=[call.slug, template.pk]),
            reverse("reporting:template_delete", args=[call.slug, template.pk]),
            reverse("reporting:template_export", args=[call.slug, template.pk, "xlsx"])]
    for target in urls:
        response = client.get(target)
        assert response.status_code == 302 and "/comptes/" in response["Location"]
    from guichet.experts import services as experts

    request = experts.ask(world[1], instructor, email="expert@exemple.fr", question="Avis ?")
    expert_user = UserFactory(email="expert@exemple.fr")  # an expert who also has an applicant's account
    for user in (world[0].created_by, UserFactory(), InstructorFactory(region=region("32")), expert_user):
        client.force_login(user)
        for target in urls:
            response = client.get(target)
            assert response.status_code in (403, 404), (user, target)
            assert world[0].number.encode() not in response.content
        assert client.post(urls[3]).status_code == 404
        assert client.post(urls[1], post_data(ROWS, name="Intrus")).status_code == 404
    assert ExportTemplate.objects.filter(pk=template.pk).exists() and not ExportTemplate.objects.filter(
        name="Intrus").exists()
    assert request.token  # the expert's only way in is their request's link, which shows no template
    # A template of another call is not reached through this call's URLs.
    client.force_login(instructor)
    assert client.get(reverse("reporting:template_edit", args=[call.slug, other_call_template.pk])).status_code == 404
    assert client.get(reverse("reporting:template_export", args=[call.slug, other_call_template.pk, "csv"])
                      ).status_code == 404
    assert client.get(reverse("reporting:template_export", args=[call.slug, template.pk, "zip"])).status_code == 404
    assert not AuditRecord.objects.filter(action="export:workspace").exists()


def test_the_date_of_a_template_download_is_paris_time(call, instructor, world):
    """The workspace's export code is reused: the dossiers' dates are Paris wall-clock times."""
    from guichet.reporting import exports

    columns = [{"key": "dossier.premier_depot", "header": "Dépôt"}]
    export = exports.build(call, instructor, "tous", None, "depot", private=True, columns=columns)
    assert dt.datetime(2025, 3, 1, 10, 0) in [row[0] for row in export.main.rows]


# --- « Télécharger la sélection » with a template, in the page's order ----------------------------------------

def selection(client, call, extension, ids, **extra):
    return client.post(reverse("reporting:selection_export", args=[call.slug, extension]),
                       {"dossier": [str(pk) for pk in ids], "action": "", "next": "/"} | extra)


def test_the_batch_form_offers_the_calls_templates(client, call, instructor, world):
    workspace_url = reverse("instruction:workspace", args=[call.slug]) + "?onglet=tous"
    client.force_login(instructor)
    assert 'name="modele"' not in client.get(workspace_url).content.decode()  # no template yet: no choice
    mine = make(call, instructor, name="Suivi budgétaire")
    make(CallFactory(region=region("44"), slug="autre-2025"), instructor, name="Modèle d'un autre appel")
    html = unescape(client.get(workspace_url).content.decode())
    batch_form = html[html.index('id="batch-form"'):]
    batch_form = batch_form[:batch_form.index("</form>")]
    assert '<label class="fr-label" for="selection-template">Modèle d\'export' in batch_form
    assert '<select class="fr-select" id="selection-template" name="modele">' in batch_form
    assert '<option value="">Toutes les colonnes</option>' in batch_form
    assert f'<option value="{mine.pk}">Suivi budgétaire (XLSX (Excel))</option>' in batch_form
    assert "Modèle d'un autre appel" not in html


@pytest.mark.parametrize("extension", ["csv", "xlsx", "ods"])
def test_the_selection_with_a_template_has_its_columns_in_the_posted_order(client, call, instructor, world,
                                                                            extension):
    a, b, c = world
    template = make(call, instructor, [{"key": "dossier.numero", "header": "N°"},
                                       {"key": "dossier.etablissement", "header": "Porteur"}], name="Commission",
                    format="zip", zip_include=["pdf"], zip_name_pattern="{numero}")
    client.force_login(instructor)
    response = selection(client, call, extension, [c.pk, a.pk], modele=str(template.pk))
    assert response.status_code == 200 and "Commission" in response["Content-Disposition"]
    data = b"".join(response.streaming_content)
    if extension == "xlsx":
        rows = [[cell.value for cell in r] for r in load_workbook(io.BytesIO(data)).worksheets[0].iter_rows(min_row=2)]
    elif extension == "ods":
        rows = [[cell[2] for cell in r] for r in ods_sheets(data)["Dossiers"][1:]]
    else:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows == [["N°", "Porteur"], [c.number, "Clinique ancienne"], [a.number, "Centre hospitalier de Bourg"]]
    record = AuditRecord.objects.get(action="export:workspace")
    assert (record.details["tab"], record.details["template"], record.details["dossiers"]) == (
        "selection", "Commission", 2)


def test_the_selection_keeps_the_order_of_the_page_the_instructor_was_viewing(client, call, instructor, world):
    client.force_login(instructor)
    for sort in ("depot", "-depot"):
        page = client.get(reverse("instruction:workspace", args=[call.slug]), {"onglet": "tous", "tri": sort})
        ticked = re.findall(r'name="dossier" value="(\d+)" form="batch-form"', page.content.decode())
        response = selection(client, call, "csv", ticked)
        numbers = [line[0] for line in csv.reader(io.StringIO(b"".join(response.streaming_content)
                                                              .decode("utf-8-sig")), delimiter=";")][1:]
        expected = [d.number for d in world]
        assert numbers == (expected if sort == "depot" else expected[::-1])


def test_a_template_of_another_call_is_refused_in_french(client, call, instructor, world):
    elsewhere = make(CallFactory(region=region("44"), slug="autre-2025"), instructor, name="Ailleurs")
    deleted = make(call, instructor, name="Supprimé entre-temps")
    deleted_pk = deleted.pk
    deleted.delete()
    client.force_login(instructor)
    for value in (str(elsewhere.pk), str(deleted_pk), "abc", "١"):
        response = selection(client, call, "xlsx", [world[0].pk], modele=value)
        assert response.status_code == 400
        assert ("Le modèle d'export choisi n'existe pas ou plus pour cet appel : rechargez la page et choisissez-en "
                "un autre.") in unescape(response.content.decode())
    assert not AuditRecord.objects.filter(action="export:workspace").exists()
    # « Toutes les colonnes » (an empty choice) is the whole catalogue.
    response = selection(client, call, "csv", [world[0].pk], modele="")
    header = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()[0]
    assert header.startswith("Numéro") and "Nom du projet" in header


def test_nobody_but_the_region_staff_downloads_a_selection_with_a_template(client, call, instructor, world):
    template = make(call, instructor)
    for user in (world[0].created_by, UserFactory(), InstructorFactory(region=region("32"))):
        client.force_login(user)
        response = selection(client, call, "xlsx", [world[0].pk], modele=str(template.pk))
        assert response.status_code == 404, user
    assert not AuditRecord.objects.filter(action="export:workspace").exists()
