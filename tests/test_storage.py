"""Stored files are served only to those who may see the dossier, from a private directory or from S3
(a real S3 server on loopback), one by one or all together in a streamed ZIP."""

import io
import urllib.request
import zipfile
from urllib.parse import unquote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import StreamingHttpResponse
from django.urls import reverse

from guichet.core import downloads
from guichet.core import storage as stored
from guichet.dossiers import archive, services
from guichet.dossiers.models import Attachment, State
from guichet.establishments.models import EstablishmentAccess
from tests import s3
from tests.factories import CallFactory, EstablishmentFactory, InstructorFactory, UserFactory
from tests.s3 import s3_client

s3_server, s3_storage = s3.s3_server, s3.s3_storage  # fixtures: a moto S3 server on loopback

SCHEMA = {"sections": [
    {"key": "identification", "title": "1. Identification du demandeur", "fields": [
        {"key": "raison_sociale", "type": "text", "label": "Raison sociale"},
        {"key": "avis_cse", "type": "file", "label": "Avis du CSE / CSSCT", "allowed_types": ["pdf"]},
    ]},
    {"key": "actions", "title": "Actions", "fields": [
        {"key": "actions", "type": "repeat", "label": "Actions", "row_label": "Action", "fields": [
            {"key": "intitule", "type": "text", "label": "Intitulé"},
            {"key": "devis", "type": "file", "label": "Devis", "allowed_types": ["pdf"]},
            {"key": "facture", "type": "file", "label": "Facture", "allowed_types": ["pdf"]},
        ]},
    ]},
]}


def pdf(text: str) -> bytes:
    return b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< >>\nendobj\n% " + text.encode() + b"\ntrailer\n<< >>\n%%EOF\n"


@pytest.fixture
def applicant(db):
    user = UserFactory()
    EstablishmentAccess.objects.create(user=user, establishment=EstablishmentFactory())
    return user


@pytest.fixture
def dossier(applicant):
    return services.start_dossier(CallFactory(schema=SCHEMA), applicant.establishments.get(), applicant)


def upload(client, dossier, section, data):
    response = client.post(reverse("dossiers:section", args=[dossier.pk, section]), data)
    assert response.status_code == 302, response.content.decode()[:2000]


def upload_devis(client, dossier, content=None, name="Devis signé — été.pdf"):
    upload(client, dossier, "actions", {"actions__rows": "1", "actions__0__intitule": "Formation",
                                        "actions__0__devis": SimpleUploadedFile(name, content or pdf("devis"),
                                                                                content_type="application/pdf")})
    return Attachment.objects.latest("pk")


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def test_uploads_follow_the_configured_storage(s3_storage, settings):
    from storages.backends.s3 import S3Storage

    assert isinstance(stored.resolve(Attachment._meta.get_field("file").storage), S3Storage)


def test_s3_upload_then_download_streamed_through_the_view(client, dossier, applicant, s3_server, s3_storage,
                                                           settings):
    settings.GUICHET_S3_PRESIGNED_SECONDS = 0
    client.force_login(applicant)
    content = pdf("devis S3 " + "x" * 300_000)
    item = upload_devis(client, dossier, content)
    stored_object = s3_client(s3_server).get_object(Bucket=s3_storage, Key=item.file.name)
    assert stored_object["Body"].read() == content  # in the bucket, not on disk
    response = client.get(reverse("dossiers:attachment", args=[dossier.pk, item.pk]))
    assert response.status_code == 200 and isinstance(response, StreamingHttpResponse)
    chunks = list(response.streaming_content)
    assert b"".join(chunks) == content and len(chunks) > 1  # in chunks
    assert response["Content-Length"] == str(len(content))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "filename*=utf-8''Devis%20sign%C3%A9%20%E2%80%94%20%C3%A9t%C3%A9.pdf" in response["Content-Disposition"]
    assert response["Content-Disposition"].startswith("attachment")
    assert downloads.verify_checksum(item)


def test_s3_download_by_presigned_url_after_the_permission_check(client, dossier, applicant, s3_storage, settings):
    settings.GUICHET_S3_PRESIGNED_SECONDS = 60
    client.force_login(applicant)
    content = pdf("devis présigné")
    item = upload_devis(client, dossier, content)
    url = reverse("dossiers:attachment", args=[dossier.pk, item.pk])
    response = client.get(url)
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("http://127.0.0.1:") and "X-Amz-Expires=60" in location
    assert "X-Amz-Signature=" in location
    with urllib.request.urlopen(location) as answer:
        assert answer.read() == content
        assert unquote(answer.headers["Content-Disposition"]).endswith("Devis signé — été.pdf")
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404  # no URL is ever handed to someone else


def test_s3_bucket_objects_are_private(client, dossier, applicant, s3_server, s3_storage):
    client.force_login(applicant)
    item = upload_devis(client, dossier)
    acl = s3_client(s3_server).get_object_acl(Bucket=s3_storage, Key=item.file.name)
    assert not [g for g in acl["Grants"] if g["Grantee"].get("URI", "").endswith("AllUsers")]


def test_local_download_is_a_streamed_attachment_with_its_original_name(client, dossier, applicant):
    client.force_login(applicant)
    content = pdf("local")
    item = upload_devis(client, dossier, content)
    response = client.get(reverse("dossiers:attachment", args=[dossier.pk, item.pk]))
    assert response.status_code == 200 and response.streaming
    assert body_of(response) == content
    assert response["Content-Length"] == str(len(content))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/pdf"
    assert "filename*=utf-8''Devis%20sign%C3%A9%20%E2%80%94%20%C3%A9t%C3%A9.pdf" in response["Content-Disposition"]


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_another_users_attachment_id_is_404(client, dossier, applicant, backend, request):
    if backend == "s3":
        request.getfixturevalue("s3_storage")
    client.force_login(applicant)
    item = upload_devis(client, dossier)
    other = UserFactory()
    EstablishmentAccess.objects.create(user=other, establishment=applicant.establishments.get())
    others = services.start_dossier(dossier.call, other.establishments.get(), other)
    client.force_login(other)
    assert client.get(reverse("dossiers:attachment", args=[others.pk, item.pk])).status_code == 404
    assert client.get(reverse("dossiers:attachment", args=[dossier.pk, item.pk])).status_code == 404
    assert client.get(reverse("dossiers:zip", args=[dossier.pk])).status_code == 404


def test_a_file_missing_from_storage_is_404_not_a_crash(client, dossier, applicant):
    client.force_login(applicant)
    item = upload_devis(client, dossier)
    item.file.storage.delete(item.file.name)
    assert client.get(reverse("dossiers:attachment", args=[dossier.pk, item.pk])).status_code == 404
    assert not downloads.verify_checksum(item)


# --- ZIP of a dossier's files ------------------------------------------------------------------


def fill_with_files(client, dossier):
    """Top-level file, two action rows (one with the same file name twice), one infected file."""
    upload(client, dossier, "identification", {"raison_sociale": "CH", "avis_cse": SimpleUploadedFile(
        "avis:CSE?.pdf", pdf("avis"), content_type="application/pdf")})
    upload(client, dossier, "actions", {
        "actions__rows": "2",
        "actions__0__intitule": "Formation",
        "actions__0__devis": SimpleUploadedFile("devis.pdf", pdf("devis 1"), content_type="application/pdf"),
        "actions__0__facture": SimpleUploadedFile("facture.pdf", pdf("facture 1"), content_type="application/pdf"),
        "actions__1__intitule": "Ergonomie",
        "actions__1__devis": SimpleUploadedFile("devis.pdf", pdf("devis 2"), content_type="application/pdf"),
        "actions__1__facture": SimpleUploadedFile("Facture.PDF", pdf("facture 2 virus"),
                                                  content_type="application/pdf"),
    })
    dossier.refresh_from_db()
    infected = Attachment.objects.get(pk=dossier.answers["actions"][1]["facture"]["attachment"])
    Attachment.objects.filter(pk=infected.pk).update(scan_status="infected")
    return infected


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_zip_has_every_servable_file_under_clear_names_and_says_what_was_left_out(
        client, dossier, applicant, backend, request, monkeypatch):
    if backend == "s3":
        request.getfixturevalue("s3_storage")
    client.force_login(applicant)
    fill_with_files(client, dossier)

    reads = []
    original = stored.read_chunks

    def spying(storage, name, *args, **kwargs):
        for chunk in original(storage, name, *args, **kwargs):
            reads.append(name)
            yield chunk

    monkeypatch.setattr(archive.stored, "read_chunks", spying)
    response = client.get(reverse("dossiers:zip", args=[dossier.pk]))
    assert response.status_code == 200 and isinstance(response, StreamingHttpResponse)
    assert reads == []  # nothing read yet: the archive is produced while it is sent
    assert response["Content-Disposition"] == f'attachment; filename="dossier-brouillon-{dossier.pk}.zip"'
    data = body_of(response)
    assert len(reads) == 4 and len(data) == int(response["Content-Length"])
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
        assert names == [
            "README.txt",
            "1 - Identification du demandeur/Avis du CSE CSSCT/avisCSE.pdf",
            "2 - Actions/Devis - Action n° 1/devis.pdf",
            "2 - Actions/Facture - Action n° 1/facture.pdf",
            "2 - Actions/Devis - Action n° 2/devis.pdf",
        ]
        assert zf.read("2 - Actions/Devis - Action n° 2/devis.pdf") == pdf("devis 2")
        assert zf.read("1 - Identification du demandeur/Avis du CSE CSSCT/avisCSE.pdf") == pdf("avis")
        assert all(info.compress_type == zipfile.ZIP_STORED for info in zf.infolist())
        readme = zf.read("README.txt").decode()
    assert "Fichiers inclus : 4" in readme and "Fichiers non inclus : 1" in readme
    assert "Facture - Action n° 2 / Facture.PDF : un virus a été détecté" in readme


def test_zip_names_clash_get_a_number():
    names = archive.UniqueNames()
    assert names.claim("A", "devis.pdf") == "A/devis.pdf"
    assert names.claim("A", "DEVIS.pdf") == "A/DEVIS (2).pdf"
    assert names.claim("A", "devis.pdf") == "A/devis (3).pdf"
    assert archive.safe_component("../../etc/passwd") == "etc passwd"
    assert archive.safe_component("CON.pdf") == "sans titre CON.pdf"
    assert archive.section_folder(4, "4. Les actions") == "4 - Les actions"


def test_zip_of_a_filed_dossier_for_the_regions_instructor_not_for_others(client, dossier, applicant):
    client.force_login(applicant)
    fill_with_files(client, dossier)
    type(dossier).objects.filter(pk=dossier.pk).update(state=State.EN_CONSTRUCTION, number="2024-32-000042")
    client.force_login(InstructorFactory())
    response = client.get(reverse("dossiers:zip", args=[dossier.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="dossier-2024-32-000042.zip"'
    assert "Dossier n° 2024-32-000042" in zipfile.ZipFile(io.BytesIO(body_of(response))).read("README.txt").decode()
    client.force_login(UserFactory())
    assert client.get(reverse("dossiers:zip", args=[dossier.pk])).status_code == 404


def test_summary_links_to_the_zip(client, dossier, applicant):
    client.force_login(applicant)
    page = client.get(reverse("dossiers:summary", args=[dossier.pk])).content.decode()
    assert reverse("dossiers:zip", args=[dossier.pk]) in page and "Télécharger tous les fichiers (ZIP)" in page
