"""The dossier PDF and the ZIP of many dossiers' files (issue 13, « dossier PDF and ZIP exports »).

The PDF is read back with pypdf: the answers of the version the dossier was filed on (a field a later version
removed is still there), repeated rows, the files with their SHA-256, the establishments, the history; the
private annotations only in the ARS' copy. The ZIP is opened with zipfile: one folder per dossier, what it holds,
and its README naming what was left out (an infected file, a confidential opinion for a non-ARS reader).
"""

import datetime as dt
import hashlib
import io
import zipfile
from decimal import Decimal
from html import unescape

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import StreamingHttpResponse
from django.urls import reverse
from pypdf import PdfReader

from guichet.calls.models import CallKind, FormKind, FormVersion
from guichet.commission.models import Document, DocumentKind
from guichet.core.models import AuditRecord
from guichet.dossiers import workflow
from guichet.dossiers.models import Attachment, Dossier, State
from guichet.establishments import claims
from guichet.experts import services as experts
from guichet.funding.models import InvoiceLine
from guichet.messaging import services as messaging
from guichet.messaging.models import MessageAttachment
from guichet.reporting import archives, dossier_pdf
from tests.factories import (
    CallFactory,
    DossierFactory,
    EstablishmentFactory,
    InstructorFactory,
    LegalEntityFactory,
    UserFactory,
    region,
)
from tests.test_payments import make_grant

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4 devis sign\xc3\xa9"
V1 = {"sections": [
    {"key": "projet", "title": "1. Le projet", "fields": [
        {"key": "nom_projet", "type": "text", "label": "Nom du projet"},
        {"key": "ancien_champ", "type": "text", "label": "Référence interne (retirée ensuite)"},
        {"key": "cout", "type": "amount", "label": "Coût total"},
        {"key": "attestation", "type": "file", "label": "Attestation URSSAF"},
    ]},
    {"key": "actions", "title": "2. Les actions", "fields": [
        {"key": "actions", "type": "repeat", "label": "Actions", "row_label": "Action", "fields": [
            {"key": "intitule", "type": "text", "label": "Intitulé de l'action"},
            {"key": "montant", "type": "amount", "label": "Montant demandé"},
            {"key": "devis", "type": "file", "label": "Devis"},
        ]},
    ]},
]}
V2 = {"sections": [{"key": "projet", "title": "1. Le projet", "fields": [
    {"key": "nom_projet", "type": "text", "label": "Nom du projet"},
    {"key": "cout", "type": "amount", "label": "Coût total"},
]}]}
ANNOTATIONS = {"sections": [{"key": "avis", "title": "Avis de l'instructeur", "fields": [
    {"key": "avis_interne", "type": "textarea", "label": "Avis interne"},
]}]}


def stored(dossier, path, name, content=PDF, status="safe") -> Attachment:
    return Attachment.objects.create(dossier=dossier, field_path=path, file=ContentFile(content, name=name),
                                     original_name=name, size=len(content), scan_status=status,
                                     content_type="application/pdf", sha256=hashlib.sha256(content).hexdigest())


@pytest.fixture
def call():
    c = CallFactory(schema=V1, title="CLACT-QVCT 2024", slug="clact-2024")
    FormVersion.objects.create(call=c, kind=FormKind.ANNOTATIONS, number=1, schema=ANNOTATIONS)
    return c


@pytest.fixture
def instructor():
    return InstructorFactory(email="instructrice@ars.sante.fr")


@pytest.fixture
def owner():
    return UserFactory(email="directrice@ch-lisieux.fr")


def filed_dossier(call, owner, number, name="Prévention des TMS", establishment=None):
    dossier = DossierFactory(call=call, created_by=owner, form_version=call.form_versions.get(kind="form", number=1),
                             **({"establishment": establishment} if establishment else {}))
    attestation = stored(dossier, "attestation", "attestation urssaf.pdf", b"%PDF-1.4 attestation")
    devis = stored(dossier, "actions.0.devis", "devis ergonome.pdf")
    virus = stored(dossier, "actions.1.devis", "devis piégé.pdf", b"X5O!P%@AP", status="infected")
    dossier.answers = {
        "nom_projet": name, "ancien_champ": "REF-ANCIENNE-77", "cout": "12500.50",
        "attestation": {"attachment": attestation.pk, "name": attestation.original_name},
        "actions": [
            {"intitule": "Diagnostic ergonomique", "montant": "8000", "devis": {"attachment": devis.pk,
                                                                            "name": devis.original_name}},
            {"intitule": "Formation gestes et postures", "montant": "4500.50",
             "devis": {"attachment": virus.pk, "name": virus.original_name}},
        ],
    }
    dossier.number, dossier.state = number, State.EN_CONSTRUCTION
    dossier.first_filed_at = dossier.last_filed_at = dt.datetime(2024, 3, 4, 10, tzinfo=dt.UTC)
    dossier.annotations = {"avis_interne": "Dossier solide, budget à vérifier."}
    dossier.save()
    return dossier


@pytest.fixture
def dossier(call, owner, instructor):
    d = filed_dossier(call, owner, "2024-32-000042")
    partner = EstablishmentFactory(finess="140000076", siret="26140092300015", name="CENTRE HOSPITALIER AUNAY-BAYEUX",
                                   legal_entity=LegalEntityFactory(finess="140000092", siren="261400923",
                                                                   name="CH AUNAY-BAYEUX"))
    d.partners.add(partner)
    # A later version drops « ancien_champ »: the dossier stays on the version it was filed on.
    FormVersion.objects.create(call=call, number=2, schema=V2)
    workflow.apply(d, "passer_en_instruction", instructor)
    workflow.apply(Dossier.objects.get(pk=d.pk), "demander_correction", instructor,
                   motivation="Merci de joindre le devis signé de l'action 2.")
    return Dossier.objects.get(pk=d.pk)


def pdf_text(response) -> str:
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    return "\n".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    return "".join(text.split())


# --- The dossier PDF -----------------------------------------------------------------------------------

def test_the_establishments_pdf_is_the_dossier_as_filed(client, dossier, owner):
    client.force_login(owner)
    text = flat(pdf_text(client.get(reverse("reporting:dossier_pdf", args=[dossier.pk]))))
    shows = lambda *snippets: all(flat(s) in text for s in snippets)  # noqa: E731  (table cells wrap lines)
    assert shows("Dossier n° 2024-32-000042", "CLACT-QVCT 2024", "Formulaire : version 1")
    # The version it was filed on: the field a later version removed is still there.
    assert shows("Référence interne (retirée ensuite)", "REF-ANCIENNE-77", "Coût total 12 500,50 €")
    # The repeatable block as a table: its columns, then each row, cell by cell.
    assert shows("N° Intitulé de l'action Montant demandé Devis",
                 "1 Diagnostic ergonomique 8 000,00 € devis ergonome.pdf",
                 "2 Formation gestes et postures 4 500,50 € devis piégé.pdf")
    # Files with name, size and SHA-256.
    for name, content in (("attestation urssaf.pdf", b"%PDF-1.4 attestation"), ("devis ergonome.pdf", PDF)):
        digest = hashlib.sha256(content).hexdigest()
        assert shows(f"{name} Antivirus : Analysé, sans virus {len(content)} octets {digest}")
    # Establishments: the porteur and the partie prenante, with their identifiers.
    assert shows("CENTRE HOSPITALIER DE LISIEUX (14) 140000027 140000035 26140091500011",
                 "Partie prenante CENTRE HOSPITALIER AUNAY-BAYEUX (14) 140000076 140000092 26140092300015")
    # History: each transition with who and the motivation.
    assert shows("Passer en instruction (En construction → En instruction)", "instructrice@ars.sante.fr",
                 "Merci de joindre le devis signé de l'action 2.")
    # Never the private annotations in the establishment's copy.
    assert not shows("Annotations privées") and not shows("budget à vérifier")
    record = AuditRecord.objects.get(action="export:dossier_pdf")
    assert record.actor == owner and record.dossier_id == dossier.pk and record.details["private"] is False


def test_the_ars_pdf_adds_the_private_annotations_in_a_last_section(client, dossier, instructor):
    client.force_login(instructor)
    text = pdf_text(client.get(reverse("reporting:dossier_pdf", args=[dossier.pk])))
    assert "Annotations privées de l'ARS" in text and "Dossier solide, budget à vérifier." in text
    assert text.index("Annotations privées de l'ARS") > text.index("Historique")
    assert AuditRecord.objects.get(action="export:dossier_pdf").details["private"] is True


def test_the_pdf_is_refused_to_whoever_does_not_see_the_summary(client, dossier, call):
    url = reverse("reporting:dossier_pdf", args=[dossier.pk])
    other_establishment = EstablishmentFactory(finess="140000209", siret="26140093100018", name="CHU CAEN")
    other_member = UserFactory()
    DossierFactory(call=call, created_by=other_member, establishment=other_establishment)
    pending = UserFactory(email="en.attente@exemple.fr")
    claims.claim(pending, dossier.establishment, function="Se dit directeur")
    other_region = InstructorFactory(region=region("44"))
    expert_request = experts.ask(dossier, InstructorFactory(), email="experte@exemple.fr", question="Avis ?")
    expert_user = UserFactory(email="experte@exemple.fr")
    for user in (other_member, pending, other_region, expert_user):
        client.force_login(user)
        assert client.get(url).status_code == 404, user.email
    client.logout()
    client.get(reverse("experts:answer", args=[expert_request.token]))  # the expert's link opens nothing else
    response = client.get(url)
    assert response.status_code == 302 and "/comptes/" in response["Location"]
    assert not AuditRecord.objects.filter(action="export:dossier_pdf").exists()


def test_a_draft_has_no_pdf_and_no_link(client, call, owner):
    draft = DossierFactory(call=call, created_by=owner)
    client.force_login(owner)
    assert client.get(reverse("reporting:dossier_pdf", args=[draft.pk])).status_code == 404
    page = client.get(reverse("dossiers:mine")).content.decode()
    assert reverse("reporting:dossier_pdf", args=[draft.pk]) not in page


def test_the_pdf_is_linked_from_my_dossiers_the_summary_and_the_instructors_page(client, dossier, owner, instructor):
    url = reverse("reporting:dossier_pdf", args=[dossier.pk])
    client.force_login(owner)
    assert url in client.get(reverse("dossiers:mine")).content.decode()
    assert url in client.get(reverse("dossiers:summary", args=[dossier.pk])).content.decode()
    client.force_login(instructor)
    assert url in client.get(reverse("instruction:dossier", args=[dossier.pk])).content.decode()


# --- The ZIP of many dossiers --------------------------------------------------------------------------

@pytest.fixture
def full(dossier, call, owner, instructor):
    """Two dossiers; the first with a message's file, a confidential opinion, a convention."""
    second = filed_dossier(call, owner, "2024-32-000043", name="Espace de repos",
                           establishment=EstablishmentFactory(finess="140000209", siret="26140093100018",
                                                              name="CHU COTE DE NACRE - CAEN"))
    messaging.post_message(dossier, owner, "Voici le devis signé.",
                           upload=SimpleUploadedFile("devis action 2 signé.pdf", PDF, "application/pdf"))
    MessageAttachment.objects.filter(message__dossier=dossier).update(scan_status="safe")
    asked = experts.ask(dossier, instructor, email="experte@exemple.fr", question="Le diagnostic est-il solide ?",
                        confidential=True)
    experts.answer(asked, text="Diagnostic partagé avec le CSE : avis favorable.")
    Document.objects.create(kind=DocumentKind.CONVENTION, dossier=dossier, original_name="convention.pdf",
                            file=ContentFile(PDF, name="convention.pdf"), size=len(PDF), scan_status="safe")
    return dossier, second


def body(response) -> bytes:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content)


def test_the_workspace_list_as_one_zip_one_folder_per_dossier(client, full, call, instructor):
    first, second = full
    client.force_login(instructor)
    response = client.get(reverse("reporting:workspace_zip", args=[call.slug]) + "?onglet=tous")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert "Fichiers des dossiers - CLACT-QVCT 2024" in response["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(body(response))) as zf:
        assert zf.testzip() is None
        names = set(zf.namelist())
        readme = zf.read("README.txt").decode()
        opinion = zf.read("2024-32-000042 - CENTRE HOSPITALIER DE LISIEUX/Avis d'experts/Avis n° 1.txt").decode()
        pdf = zf.read("2024-32-000042 - CENTRE HOSPITALIER DE LISIEUX/Dossier 2024-32-000042.pdf")
    a = "2024-32-000042 - CENTRE HOSPITALIER DE LISIEUX/"
    assert {
        a + "Dossier 2024-32-000042.pdf",
        a + "1 - Le projet/Attestation URSSAF/attestation urssaf.pdf",
        a + "2 - Les actions/Devis - Action n° 1/devis ergonome.pdf",
        a + "Messagerie/devis action 2 signé.pdf",
        a + "Avis d'experts/Avis n° 1.txt",
        a + "Décision/convention.pdf",
        "2024-32-000043 - CHU COTE DE NACRE - CAEN/Dossier 2024-32-000043.pdf",
        "2024-32-000043 - CHU COTE DE NACRE - CAEN/1 - Le projet/Attestation URSSAF/attestation urssaf.pdf",
        "README.txt",
    } <= names
    assert not any("piégé" in n for n in names)  # infected: never in the archive
    assert "Diagnostic partagé avec le CSE" in opinion  # the ARS gets the confidential opinion
    assert "Annotations privées de l'ARS" in "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "2 dossiers" in readme and "devis piégé.pdf : un virus a été détecté" in readme
    record = AuditRecord.objects.get(action="export:zip_dossiers")
    assert record.actor == instructor and record.details["dossiers"] == 2


def test_the_selection_as_one_zip(client, full, call, instructor):
    first, second = full
    elsewhere = DossierFactory(call=CallFactory(), created_by=UserFactory())
    client.force_login(instructor)
    url = reverse("reporting:selection_zip", args=[call.slug])
    response = client.post(url, {"dossier": [str(second.pk), str(elsewhere.pk)], "zip": "1"})
    with zipfile.ZipFile(io.BytesIO(body(response))) as zf:
        folders = {n.split("/")[0] for n in zf.namelist() if "/" in n}
    assert folders == {"2024-32-000043 - CHU COTE DE NACRE - CAEN"}
    assert AuditRecord.objects.get(action="export:zip_dossiers").details["what"] == "sélection"
    # Nothing ticked, or something that is not a dossier id: a French message on the workspace, no archive.
    for data in ({"zip": "1"}, {"dossier": ["abc"], "zip": "1"}):
        response = client.post(url, data, follow=True)
        assert response.redirect_chain and response.redirect_chain[-1][0].startswith(
            reverse("instruction:workspace", args=[call.slug]))
        assert "Sélectionnez au moins un dossier" in response.content.decode() or \
            "sélection de dossiers est invalide" in response.content.decode()


def test_the_workspace_offers_both_zips(client, full, call, instructor):
    client.force_login(instructor)
    page = client.get(reverse("instruction:workspace", args=[call.slug]) + "?onglet=tous").content.decode()
    assert reverse("reporting:workspace_zip", args=[call.slug]) in page
    assert f'name="zip" value="1" formaction="{reverse("reporting:selection_zip", args=[call.slug])}"' in page


def test_the_zips_are_for_the_regions_ars_only(client, full, call, owner):
    first, _ = full
    for user in (owner, InstructorFactory(region=region("44")), UserFactory()):
        client.force_login(user)
        assert client.get(reverse("reporting:workspace_zip", args=[call.slug])).status_code == 404
        assert client.post(reverse("reporting:selection_zip", args=[call.slug]),
                           {"dossier": [first.pk]}).status_code == 404
    client.logout()
    assert client.get(reverse("reporting:workspace_zip", args=[call.slug])).status_code == 302
    assert not AuditRecord.objects.filter(action="export:zip_dossiers").exists()


def test_a_confidential_opinion_is_left_out_for_a_reader_outside_the_ars(full, owner):
    first, _ = full
    data = b"".join(archives.build_zip([first.pk], owner))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names, readme = zf.namelist(), zf.read("README.txt").decode()
        pdf = zf.read("2024-32-000042 - CENTRE HOSPITALIER DE LISIEUX/Dossier 2024-32-000042.pdf")
    assert not any("Avis d'experts" in n for n in names)
    assert "Avis d'experts / avis n° 1 : avis confidentiel, réservé aux services de l'ARS" in readme
    assert "Annotations privées" not in "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


def test_only_the_dossiers_the_user_sees_whatever_the_ids(full, owner):
    first, _ = full
    foreign = DossierFactory(call=CallFactory(), created_by=UserFactory())
    Dossier.objects.filter(pk=foreign.pk).update(number="2024-32-000099", state=State.EN_CONSTRUCTION)
    with zipfile.ZipFile(io.BytesIO(b"".join(archives.build_zip([foreign.pk, first.pk], owner)))) as zf:
        folders = {n.split("/")[0] for n in zf.namelist() if "/" in n}
    assert folders == {"2024-32-000042 - CENTRE HOSPITALIER DE LISIEUX"}


def test_include_codes_file_fields_and_the_naming_pattern(full, instructor):
    first, _ = full
    data = b"".join(archives.build_zip([first.pk], instructor, include=["attachments"], file_fields=["devis"],
                                       name_pattern="{finess} - {numero} - {champ}"))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
    assert names == {"README.txt",
                     "140000027 - 2024-32-000042/140000027 - 2024-32-000042 - Devis - Action n° 1.pdf"}
    # One check for the builder and the export templates' form (the same French messages).
    with pytest.raises(archives.PatternError, match="Variable inconnue : {nom}"):
        archives.build_zip([first.pk], instructor, name_pattern="{nom}")
    with pytest.raises(archives.PatternError, match="Accolade mal fermée"):
        archives.validate_pattern("{numero")
    for bad in ("{numero}/{champ}", "{numero!r}", "{numero:>20}", "sans variable", "  "):
        with pytest.raises(archives.PatternError):
            archives.validate_pattern(bad)
    assert archives.validate_pattern(" {numero} - {champ} ") == "{numero} - {champ}"


def test_proofs_invoices_go_in_their_folder(instructor, owner):
    lisieux = EstablishmentFactory()
    grant = make_grant(lisieux, ["8000", "3000"], year=2022, reference="AVENANT-2022-LISIEUX")
    proofs = DossierFactory(call=CallFactory(kind=CallKind.PROOFS, envelope=None), establishment=lisieux,
                            created_by=owner)
    Dossier.objects.filter(pk=proofs.pk).update(number="2024-32-000077", state=State.EN_CONSTRUCTION)
    invoice = stored(proofs, "factures.1", "facture F-1.pdf")
    InvoiceLine.objects.create(dossier=proofs, action=grant.actions.get(position=1), supplier="Ergonomie Conseil",
                               number="F-1", attachment=invoice, invoice_date=dt.date(2024, 3, 1),
                               amount_ttc=Decimal("1200"), amount_ht=Decimal("1000"))
    with zipfile.ZipFile(io.BytesIO(b"".join(archives.build_zip([proofs.pk], instructor)))) as zf:
        assert "2024-32-000077 - CENTRE HOSPITALIER DE LISIEUX/Factures justificatives/facture F-1.pdf" in zf.namelist()


def test_dossiers_are_read_by_batches_in_the_order_given(full, instructor, monkeypatch):
    first, second = full
    monkeypatch.setattr(archives, "BATCH", 1)
    data = b"".join(archives.build_zip([second.pk, first.pk], instructor, include=["pdf"]))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        folders = [n.split("/")[0] for n in zf.namelist() if n.endswith(".pdf")]
    assert folders == ["2024-32-000043 - CHU COTE DE NACRE - CAEN", "2024-32-000042 - CENTRE HOSPITALIER DE LISIEUX"]


def test_the_pdf_is_rendered_only_when_the_stream_reaches_it(full, instructor, monkeypatch):
    first, _ = full
    rendered = []
    monkeypatch.setattr(dossier_pdf, "render", lambda d, private=False: rendered.append(d.pk) or b"%PDF")
    stream = archives.build_zip([first.pk], instructor, include=["pdf"])
    assert rendered == []
    b"".join(stream)
    assert rendered == [first.pk]


def test_one_font_configuration_per_thread_is_reused_for_every_pdf():
    # A new one per document is never freed: memory climbed by 0.2 MB per dossier PDF in a ZIP of many.
    from guichet.documents import render

    assert render._font_config() is render._font_config()


# --- A ZIP export template: its files, its naming, its spreadsheet at the root -------------------------------

def zip_template(call, instructor, **fields):
    from guichet.reporting.models import ExportTemplate

    values = {"name": "Pièces pour la commission", "format": "zip", "zip_include": ["attachments"],
              "zip_file_fields": ["attestation"], "zip_name_pattern": "{finess} - {numero} - {champ}",
              "columns": [{"key": "dossier.numero", "header": "N° du dossier"},
                          {"key": "champ.nom_projet", "header": "Projet"}]} | fields
    return ExportTemplate.objects.create(call=call, created_by=instructor, **values)


def sheet_rows(data: bytes) -> list[list]:
    from openpyxl import load_workbook

    main = load_workbook(io.BytesIO(data)).worksheets[0]
    return [[cell.value for cell in row] for row in main.iter_rows(min_row=2)]


def test_a_zip_template_downloads_as_a_zip_of_its_files_with_its_spreadsheet(client, full, call, instructor):
    first, second = full
    template = zip_template(call, instructor)
    client.force_login(instructor)
    url = reverse("reporting:template_export", args=[call.slug, template.pk, "zip"])
    listing = client.get(reverse("reporting:templates", args=[call.slug]) + "?onglet=tous").content.decode()
    assert url + "?onglet=tous" in listing and "pas encore disponible" not in listing
    response = client.get(url + "?onglet=tous&tri=-depot")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert "Pi%C3%A8ces%20pour%20la%20commission" in response["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(body(response))) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
        readme = zf.read("README.txt").decode()
        sheet = zf.read("Tableur - Pièces pour la commission.xlsx")
    # Only the chosen kind of files (the attestation field): no PDF of the dossier, no Messagerie/, no opinion,
    # no convention, no devis; named by the template's pattern, flat in each dossier's folder.
    assert set(names) == {
        "README.txt", "Tableur - Pièces pour la commission.xlsx",
        "140000027 - 2024-32-000042/140000027 - 2024-32-000042 - Attestation URSSAF.pdf",
        "140000209 - 2024-32-000043/140000209 - 2024-32-000043 - Attestation URSSAF.pdf",
    }
    # The spreadsheet has the template's columns, in the list's order (« tri=-depot »: the same day, latest pk first).
    assert sheet_rows(sheet) == [["N° du dossier", "Projet"], ["2024-32-000043", "Espace de repos"],
                                 ["2024-32-000042", "Prévention des TMS"]]
    assert "À la racine de l'archive : « Tableur - Pièces pour la commission.xlsx »." in readme
    assert "Contenu : pièces jointes du formulaire." in readme and "Dossier <numéro>.pdf" not in readme
    record = AuditRecord.objects.get(action="export:zip_dossiers")
    assert (record.actor, record.details["template"], record.details["what"], record.details["dossiers"]) == (
        instructor, "Pièces pour la commission", "liste:tous", 2)
    assert not AuditRecord.objects.filter(action="export:workspace").exists()


def test_a_zip_template_with_a_repeatable_blocks_files_and_the_pdf(client, full, call, instructor):
    first, _ = full
    client.force_login(instructor)
    form = client.get(reverse("reporting:template_create", args=[call.slug])).content.decode()
    assert 'value="actions"' in form and "Actions (pièces jointes de chaque ligne)" in form
    template = zip_template(call, instructor, zip_include=["attachments", "pdf"], zip_file_fields=["actions"],
                            zip_name_pattern="{numero} - {champ}")
    response = client.get(reverse("reporting:template_export", args=[call.slug, template.pk, "zip"])
                          + f"?onglet=tous&q={first.number}")
    with zipfile.ZipFile(io.BytesIO(body(response))) as zf:
        names = set(zf.namelist())
    assert names == {"README.txt", "Tableur - Pièces pour la commission.xlsx",
                     "2024-32-000042/Dossier 2024-32-000042.pdf",
                     "2024-32-000042/2024-32-000042 - Devis - Action n° 1.pdf"}  # the infected devis stays out


def test_the_template_zip_is_for_the_regions_ars_only(client, full, call, instructor, owner):
    first, _ = full
    template = zip_template(call, instructor)
    url = reverse("reporting:template_export", args=[call.slug, template.pk, "zip"])
    response = client.get(url)
    assert response.status_code == 302 and "/comptes/" in response["Location"]
    experts.ask(first, instructor, email="expert.zip@exemple.fr", question="Avis ?")
    for user in (owner, InstructorFactory(region=region("44")), UserFactory(),
                 UserFactory(email="expert.zip@exemple.fr")):
        client.force_login(user)
        response = client.get(url + "?onglet=tous")
        assert response.status_code == 404, user.email
        assert first.number.encode() not in response.content
    # A spreadsheet template has no ZIP; another call's template is not reached through this call.
    client.force_login(instructor)
    from guichet.reporting.models import ExportTemplate

    sheet_only = ExportTemplate.objects.create(call=call, name="Tableur", columns=template.columns)
    elsewhere = zip_template(CallFactory(slug="autre-appel"), instructor)
    assert client.get(reverse("reporting:template_export", args=[call.slug, sheet_only.pk, "zip"])).status_code == 404
    assert client.get(reverse("reporting:template_export", args=[call.slug, elsewhere.pk, "zip"])).status_code == 404
    assert not AuditRecord.objects.filter(action="export:zip_dossiers").exists()


def test_the_selection_zip_with_a_template_in_the_posted_order(client, full, call, instructor):
    first, second = full
    template = zip_template(call, instructor, zip_include=["attachments", "messages"],
                            zip_name_pattern="{numero} - {etablissement}")
    client.force_login(instructor)
    url = reverse("reporting:selection_zip", args=[call.slug])
    response = client.post(url, {"dossier": [str(second.pk), str(first.pk)], "modele": str(template.pk), "zip": "1"})
    assert "Pi%C3%A8ces%20pour%20la%20commission" in response["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(body(response))) as zf:
        names = zf.namelist()
        sheet = zf.read("Tableur - Pièces pour la commission.xlsx")
    folders = list(dict.fromkeys(n.split("/")[0] for n in names if "/" in n))
    assert folders == ["2024-32-000043 - CHU COTE DE NACRE - CAEN", "2024-32-000042 - CENTRE HOSPITALIER DE LISIEUX"]
    assert "2024-32-000042 - CENTRE HOSPITALIER DE LISIEUX/Messagerie/devis action 2 signé.pdf" in names
    assert not any(n.endswith("Dossier 2024-32-000042.pdf") or "Décision/" in n for n in names)
    assert [row[0] for row in sheet_rows(sheet)[1:]] == ["2024-32-000043", "2024-32-000042"]  # the posted order
    record = AuditRecord.objects.get(action="export:zip_dossiers")
    assert (record.details["what"], record.details["template"]) == ("sélection", "Pièces pour la commission")


def test_the_selection_zip_with_a_spreadsheet_template_keeps_every_file_and_adds_the_sheet(client, full, call,
                                                                                           instructor):
    from guichet.reporting.models import ExportTemplate

    first, _ = full
    template = ExportTemplate.objects.create(call=call, name="Suivi", format="csv",
                                             columns=[{"key": "dossier.numero", "header": "N°"}])
    client.force_login(instructor)
    response = client.post(reverse("reporting:selection_zip", args=[call.slug]),
                           {"dossier": [str(first.pk)], "modele": str(template.pk)})
    with zipfile.ZipFile(io.BytesIO(body(response))) as zf:
        names = set(zf.namelist())
    a = "2024-32-000042 - CENTRE HOSPITALIER DE LISIEUX/"
    assert {"Tableur - Suivi.xlsx", a + "Dossier 2024-32-000042.pdf", a + "Décision/convention.pdf",
            a + "Messagerie/devis action 2 signé.pdf"} <= names


def test_the_selection_zip_refuses_another_calls_template_in_french(client, full, call, instructor):
    first, _ = full
    elsewhere = zip_template(CallFactory(slug="autre-appel"), instructor)
    client.force_login(instructor)
    url = reverse("reporting:selection_zip", args=[call.slug])
    for value in (str(elsewhere.pk), "abc", "99999999"):
        response = client.post(url, {"dossier": [str(first.pk)], "modele": value}, follow=True)
        assert response.redirect_chain[-1][0].startswith(reverse("instruction:workspace", args=[call.slug]))
        assert "Le modèle d'export choisi n'existe pas ou plus pour cet appel" in unescape(response.content.decode())
    assert not AuditRecord.objects.filter(action="export:zip_dossiers").exists()


def test_the_extra_files_are_written_only_when_the_stream_reaches_them(full, instructor):
    first, _ = full
    read = []

    def sheet():
        read.append(True)
        yield b"contenu"

    stream = archives.build_zip([first.pk], instructor, include=["pdf"], extra_files=[("Dossier 2024?.xlsx", sheet())])
    assert read == []
    with zipfile.ZipFile(io.BytesIO(b"".join(stream))) as zf:
        assert zf.read("Dossier 2024 .xlsx") == b"contenu"  # the name made safe like the others


# --- A long list's ZIP as a background job --------------------------------------------------------------------

def zip_job(client, user, target, capture):
    """The request that turns a ZIP into a job, its task run after commit (immediate backend); the job and the
    archive it wrote, read back by its author."""
    from guichet.reporting.models import ExportJob

    client.force_login(user)
    with capture(execute=True):
        response = client.get(target)
    assert response.status_code == 302, response
    job = ExportJob.objects.get()
    assert response["Location"] == reverse("reporting:job", args=[job.pk])
    job.refresh_from_db()
    download = client.get(reverse("reporting:job_file", args=[job.pk]))
    assert download.status_code == 200
    return job, b"".join(download.streaming_content)


def test_a_long_lists_zip_is_written_in_the_background_with_its_progress(
        client, settings, full, call, instructor, django_capture_on_commit_callbacks):
    client.force_login(instructor)
    target = reverse("reporting:workspace_zip", args=[call.slug]) + "?onglet=tous"
    settings.GUICHET_ZIP_STREAM_MAX = 2  # 2 dossiers: at most the threshold, streamed at once
    assert isinstance(client.get(target), StreamingHttpResponse)
    settings.GUICHET_ZIP_STREAM_MAX = 1
    job, data = zip_job(client, instructor, target, django_capture_on_commit_callbacks)
    assert (job.state, job.format, job.done, job.total, job.parameters) == ("pret", "zip", 2, 2, {"onglet": ["tous"]})
    assert job.original_name.startswith("Fichiers des dossiers - CLACT-QVCT 2024") and job.size == len(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        names = set(zf.namelist())
    assert {"README.txt", "2024-32-000042 - CENTRE HOSPITALIER DE LISIEUX/Dossier 2024-32-000042.pdf",
            "2024-32-000043 - CHU COTE DE NACRE - CAEN/Dossier 2024-32-000043.pdf"} <= names
    page = client.get(reverse("reporting:job", args=[job.pk])).content.decode()
    assert "Le fichier est prêt" in page
    assert AuditRecord.objects.filter(action="export:job", details__format="zip").count() == 1
    assert AuditRecord.objects.filter(action="export:download").count() == 1


def test_a_zip_template_on_a_long_list_goes_to_a_job_with_its_options(
        client, settings, full, call, instructor, django_capture_on_commit_callbacks):
    settings.GUICHET_ZIP_STREAM_MAX = 1
    template = zip_template(call, instructor)
    target = reverse("reporting:template_export", args=[call.slug, template.pk, "zip"]) + "?onglet=tous&tri=-depot"
    job, data = zip_job(client, instructor, target, django_capture_on_commit_callbacks)
    assert job.parameters["modele"] == [str(template.pk)]
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert set(zf.namelist()) == {
            "README.txt", "Tableur - Pièces pour la commission.xlsx",
            "140000027 - 2024-32-000042/140000027 - 2024-32-000042 - Attestation URSSAF.pdf",
            "140000209 - 2024-32-000043/140000209 - 2024-32-000043 - Attestation URSSAF.pdf",
        }
        assert sheet_rows(zf.read("Tableur - Pièces pour la commission.xlsx"))[1][0] == "2024-32-000043"


def test_a_zip_job_whose_template_was_deleted_fails_in_french(settings, full, call, instructor):
    from guichet.reporting import jobs
    from guichet.reporting.models import ExportJob

    template = zip_template(call, instructor)
    job = ExportJob.objects.create(author=instructor, kind="workspace", call=call, format="zip",
                                   parameters={"onglet": ["tous"], "modele": [str(template.pk)]})
    template.delete()
    assert jobs.run(job.pk) == "echoue"
    job.refresh_from_db()
    assert "modèle d'export demandé a été supprimé" in job.error and not job.file.name
