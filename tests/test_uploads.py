"""Uploads arrive whole or not at all: size limit while streaming, checksum on the way, type read
from the content, safe names — and nothing else of the form is lost when a file is refused."""

import base64
import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from guichet.dossiers import services
from guichet.dossiers.models import Attachment
from guichet.establishments.models import EstablishmentAccess
from tests.factories import CallFactory, EstablishmentFactory, UserFactory

# A real 1×1 PNG image.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJ"
                       "RU5ErkJggg==")

SCHEMA = {"sections": [{"key": "pieces", "title": "Pièces", "fields": [
    {"key": "intitule", "type": "text", "label": "Intitulé"},
    {"key": "bilan", "type": "file", "label": "Bilan social", "allowed_types": ["pdf"]},
    {"key": "photo", "type": "file", "label": "Photo", "allowed_types": ["png", "jpg"]},
    {"key": "commentaire", "type": "text", "label": "Commentaire"},
]}]}


@pytest.fixture
def applicant(db):
    user = UserFactory()
    EstablishmentAccess.objects.create(user=user, establishment=EstablishmentFactory())
    return user


@pytest.fixture
def dossier(applicant):
    return services.start_dossier(CallFactory(schema=SCHEMA), applicant.establishments.get(), applicant)


@pytest.fixture
def upload_dir(settings, tmp_path):
    path = tmp_path / "uploads"
    path.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(path)
    return path


def post(client, dossier, data):
    return client.post(reverse("dossiers:section", args=[dossier.pk, "pieces"]), data, HTTP_HX_REQUEST="true")


def test_a_file_over_the_limit_is_dropped_while_streaming_and_the_rest_is_saved(
        client, settings, dossier, applicant, upload_dir):
    settings.GUICHET_MAX_UPLOAD_MB = 1
    client.force_login(applicant)
    big = SimpleUploadedFile("bilan.pdf", b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 10))
    response = post(client, dossier, {"intitule": "Avant", "bilan": big, "commentaire": "Après le fichier"})
    body = response.content.decode()
    assert "dépasse la taille maximale de 1 Mo" in body
    assert not Attachment.objects.exists()
    assert list(upload_dir.iterdir()) == []  # partial data removed
    dossier.refresh_from_db()
    assert dossier.answers["intitule"] == "Avant" and dossier.answers["commentaire"] == "Après le fichier"


def test_checksum_is_computed_as_the_file_arrives(client, dossier, applicant, upload_dir):
    client.force_login(applicant)
    content = b"%PDF-1.4\n" + bytes(range(256)) * 4000
    post(client, dossier, {"bilan": SimpleUploadedFile("bilan.pdf", content)})
    attachment = Attachment.objects.get()
    assert attachment.sha256 == hashlib.sha256(content).hexdigest()
    assert attachment.size == len(content)
    assert attachment.content_type == "application/pdf"
    with attachment.file.open("rb") as stored:
        assert stored.read() == content


def test_the_type_is_read_from_the_content_not_the_name(client, dossier, applicant):
    client.force_login(applicant)
    body = post(client, dossier, {"bilan": SimpleUploadedFile("bilan.pdf", PNG)}).content.decode()
    assert "ne correspond pas à son extension .pdf" in body and "image PNG" in body
    assert not Attachment.objects.exists()
    post(client, dossier, {"photo": SimpleUploadedFile("photo.png", PNG)})
    assert Attachment.objects.get().content_type == "image/png"


@pytest.mark.parametrize("name, kept", [
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("..\\..\\Windows\\system.pdf", "system.pdf"),
    ("Procès-verbal du CSE – séance n°3.pdf", "Procès-verbal du CSE – séance n°3.pdf"),
    ("bilan\x00.pdf", "bilan.pdf"),
])
def test_file_names_are_made_safe_and_keep_their_accents(client, dossier, applicant, name, kept):
    client.force_login(applicant)
    upload = SimpleUploadedFile("x.pdf", b"%PDF-1.4 ok")
    upload.name = name
    post(client, dossier, {"bilan": upload})
    attachment = Attachment.objects.get()
    assert attachment.original_name == kept
    assert ".." not in attachment.file.name and attachment.file.name.startswith("dossiers/")
    response = client.get(reverse("dossiers:attachment", args=[dossier.pk, attachment.pk]))
    assert response.status_code == 200


def test_an_upload_refused_by_type_keeps_the_other_answers(client, dossier, applicant):
    client.force_login(applicant)
    post(client, dossier, {"intitule": "Projet", "bilan": SimpleUploadedFile("bilan.pdf", b"MZ\x90\x00 not a pdf")})
    dossier.refresh_from_db()
    assert dossier.answers["intitule"] == "Projet" and "bilan" not in dossier.pending


def test_a_download_carries_the_checksum_taken_at_upload(client, dossier, applicant):
    client.force_login(applicant)
    content = b"%PDF-1.4\nbilan social 2024"
    post(client, dossier, {"bilan": SimpleUploadedFile("bilan.pdf", content)})
    attachment = Attachment.objects.get()
    response = client.get(reverse("dossiers:attachment", args=[dossier.pk, attachment.pk]))
    expected = base64.b64encode(hashlib.sha256(content).digest()).decode()
    assert response["Repr-Digest"] == f"sha-256=:{expected}:"
    assert b"".join(response.streaming_content) == content
