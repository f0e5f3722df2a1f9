"""Every stored file is scanned by a real clamd before anyone may open it; an infected file is refused
and must be replaced; without a scanner the pages say so honestly, never « sain »."""

import html
import socket

import pytest
from django.core.files import File
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from guichet.core import antivirus
from guichet.core.models import ScanStatus
from guichet.core.tasks import scan_stored_file
from guichet.dossiers import services
from guichet.dossiers.models import Attachment, State
from guichet.establishments.models import EstablishmentAccess
from tests.clamd import (  # noqa: F401 (fixtures: clamd_socket, a real clamd; clamav, the settings using it)
    EICAR,
    SIGNATURE_NAME,
    clamav_fixture,
    clamd_socket_fixture,
    start_clamd,
)
from tests.factories import CallFactory, EstablishmentFactory, InstructorFactory, UserFactory

SCHEMA = {
    "sections": [
        {
            "key": "pieces",
            "title": "3. Pièces justificatives",
            "fields": [
                {"key": "duerp", "type": "file", "label": "Document unique (DUERP)", "required": True,
                 "max_size_mb": 50, "allowed_types": ["pdf"]},
                {"key": "actions", "type": "repeat", "label": "Actions", "min_rows": 0,
                 "fields": [
                     {"key": "intitule", "type": "text", "label": "Intitulé"},
                     {"key": "devis", "type": "file", "label": "Devis", "allowed_types": ["pdf"]},
                 ]},
            ],
        },
    ]
}

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
INFECTED_PDF = b"%PDF-1.4\n" + EICAR + b"\n%%EOF\n"
REFUSED = "fichier refusé par l'antivirus : à remplacer"


@pytest.fixture
def applicant(db):
    user = UserFactory()
    EstablishmentAccess.objects.create(user=user, establishment=EstablishmentFactory())
    return user


@pytest.fixture
def dossier(applicant):
    call = CallFactory(schema=SCHEMA)
    return services.start_dossier(call, applicant.establishments.get(), applicant)


@pytest.fixture
def no_scanner(settings):
    settings.CLAMAV_SOCKET = ""
    settings.CLAMAV_HOST = ""


def upload(client, dossier, capture, **files):
    """Post files into the « pièces » part as the browser does, running what waits for the commit
    (the scan task; the test task backend runs it at once)."""
    data = {"actions__rows": "1" if any(k.startswith("actions__") for k in files) else "0"}
    data.update({name: SimpleUploadedFile(f"{name}.pdf", content, content_type="application/pdf")
                 for name, content in files.items()})
    with capture(execute=True):
        response = client.post(reverse("dossiers:section", args=[dossier.pk, "pieces"]), data)
    assert response.status_code in (200, 302)


def attachment_url(attachment):
    return reverse("dossiers:attachment", args=[attachment.dossier_id, attachment.pk])


def page(client, dossier, name="section"):
    args = [dossier.pk, "pieces"] if name == "section" else [dossier.pk]
    return html.unescape(client.get(reverse(f"dossiers:{name}", args=args)).content.decode())


# --- With a real clamd -------------------------------------------------------------------------------

def test_eicar_file_is_refused_never_served_and_must_be_replaced_before_filing(
        client, clamav, dossier, applicant, django_capture_on_commit_callbacks):
    client.force_login(applicant)
    upload(client, dossier, django_capture_on_commit_callbacks, duerp=INFECTED_PDF)
    attachment = Attachment.objects.get()
    assert attachment.scan_status == ScanStatus.INFECTED
    assert attachment.scan_detail.startswith(SIGNATURE_NAME) and attachment.scanned_at is not None
    assert not attachment.is_servable

    response = client.get(attachment_url(attachment))
    assert response.status_code == 403 and EICAR.decode() not in response.content.decode()

    section = page(client, dossier)
    assert "Refusé : virus détecté — remplacez ce fichier" in section
    assert attachment_url(attachment) not in section  # no download link

    dossier.refresh_from_db()
    missing = services.missing_items(dossier)
    assert [(m.section_key, m.path, m.anchor, m.message) for m in missing] == [
        ("pieces", "duerp", "champ-duerp", REFUSED)]
    assert REFUSED in page(client, dossier, "file")
    with pytest.raises(services.FilingError, match="incomplet"):
        services.file_dossier(dossier, applicant)
    client.post(reverse("dossiers:file", args=[dossier.pk]))
    dossier.refresh_from_db()
    assert dossier.state == State.BROUILLON

    # Replaced by a clean file: it is scanned, served, and the dossier can be filed.
    upload(client, dossier, django_capture_on_commit_callbacks, duerp=PDF)
    dossier.refresh_from_db()
    clean = Attachment.objects.get(pk=dossier.answers["duerp"]["attachment"])
    assert clean.scan_status == ScanStatus.SAFE
    assert services.missing_items(dossier) == []
    services.file_dossier(dossier, applicant)
    assert client.get(attachment_url(attachment)).status_code == 403  # the old one still never is


def test_infected_file_in_a_repeated_row_is_reported_at_its_row(
        client, clamav, dossier, applicant, django_capture_on_commit_callbacks):
    client.force_login(applicant)
    upload(client, dossier, django_capture_on_commit_callbacks, duerp=PDF, actions__0__devis=INFECTED_PDF)
    dossier.refresh_from_db()
    missing = services.missing_items(dossier)
    assert [(m.path, m.label, m.anchor, m.message) for m in missing] == [
        ("actions.0.devis", "Actions n° 1 — Devis", "champ-actions-0-devis", REFUSED)]


def test_clean_pdf_is_marked_safe_and_served(client, clamav, dossier, applicant, django_capture_on_commit_callbacks):
    client.force_login(applicant)
    upload(client, dossier, django_capture_on_commit_callbacks, duerp=PDF)
    attachment = Attachment.objects.get()
    assert attachment.scan_status == ScanStatus.SAFE and attachment.scan_detail == ""
    assert attachment.scanned_at is not None
    response = client.get(attachment_url(attachment))
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    for text in (page(client, dossier), page(client, dossier, "summary")):
        assert "Analysé, sans virus" in text and attachment_url(attachment) in text


def test_the_ars_sees_a_file_found_infected_after_filing(client, clamav, dossier, applicant):
    """Filing does not wait for the scan; a file found infected afterwards is shown so to the ARS."""
    client.force_login(applicant)
    client.post(reverse("dossiers:section", args=[dossier.pk, "pieces"]),
                {"actions__rows": "0", "duerp": SimpleUploadedFile("duerp.pdf", INFECTED_PDF)})
    attachment = Attachment.objects.get()
    assert attachment.scan_status == ScanStatus.PENDING  # the commit has not happened yet
    assert client.get(attachment_url(attachment)).status_code == 403
    assert "Analyse antivirus en cours" in page(client, dossier)
    dossier.refresh_from_db()
    services.file_dossier(dossier, applicant)

    assert scan_stored_file.enqueue(attachment._meta.label, attachment.pk).return_value == ScanStatus.INFECTED
    client.force_login(InstructorFactory())
    summary = page(client, dossier, "summary")
    assert "Refusé : virus détecté" in summary and "remplacez ce fichier" not in summary
    assert SIGNATURE_NAME in summary
    assert attachment_url(attachment) not in summary
    assert client.get(attachment_url(attachment)).status_code == 403


class ReadGuard(File):
    """A stored file that records how it is read, and refuses to be read whole."""

    sizes: list = []

    def read(self, size=-1):
        assert size is not None and 0 < size <= antivirus.CHUNK_SIZE, "the scan must read in chunks"
        ReadGuard.sizes.append(size)
        return self.file.read(size)


def store_large(dossier, tmp_path, megabytes, tail=b""):
    path = tmp_path / "gros.pdf"
    with open(path, "wb") as fh:
        fh.write(b"%PDF-1.4\n")
        for _ in range(megabytes):
            fh.write(b"0" * (1024 * 1024))
        fh.write(tail)
    attachment = Attachment(dossier=dossier, field_path="duerp", original_name="gros.pdf",
                            size=path.stat().st_size, scan_status=ScanStatus.PENDING)
    with open(path, "rb") as fh:
        attachment.file.save("dossiers/gros.pdf", File(fh), save=True)
    return attachment


@pytest.mark.parametrize("tail, expected", [(b"", ScanStatus.SAFE), (EICAR, ScanStatus.INFECTED)],
                         ids=["clean", "eicar-at-the-end"])
def test_a_30_mb_file_is_streamed_to_clamd_in_chunks(clamav, dossier, tmp_path, monkeypatch, tail, expected):
    attachment = store_large(dossier, tmp_path, 30, tail)
    original_open = FileSystemStorage._open
    monkeypatch.setattr(FileSystemStorage, "_open",
                        lambda self, name, mode="rb": ReadGuard(original_open(self, name, mode).file))
    ReadGuard.sizes = []
    assert scan_stored_file.enqueue(attachment._meta.label, attachment.pk).return_value == expected
    attachment.refresh_from_db()
    assert attachment.scan_status == expected  # the signature at the very end was seen: all was sent
    assert len(ReadGuard.sizes) > 30


def test_clamd_size_limit_is_an_error_never_safe(settings, dossier, tmp_path):
    with start_clamd(stream_max_length="2M") as small:
        settings.CLAMAV_SOCKET = small
        attachment = store_large(dossier, tmp_path, 5)
        assert antivirus.scan_instance(attachment) == ScanStatus.ERROR
    attachment.refresh_from_db()
    assert attachment.scan_status == ScanStatus.ERROR and "trop volumineux" in attachment.scan_detail


def test_ping(clamav):
    assert antivirus.ping()


# --- Without a usable clamd -----------------------------------------------------------------------------

def test_unreachable_clamd_is_an_error_and_the_file_is_not_served(
        client, settings, tmp_path, dossier, applicant, django_capture_on_commit_callbacks):
    settings.CLAMAV_SOCKET = str(tmp_path / "absent.sock")
    client.force_login(applicant)
    upload(client, dossier, django_capture_on_commit_callbacks, duerp=PDF)
    attachment = Attachment.objects.get()
    assert attachment.scan_status == ScanStatus.ERROR and "injoignable" in attachment.scan_detail
    assert client.get(attachment_url(attachment)).status_code == 403
    assert "Analyse impossible" in page(client, dossier)
    dossier.refresh_from_db()
    assert services.missing_items(dossier) == []  # not the applicant's fault: the ARS sees the state


def test_unreachable_clamd_over_tcp_is_an_error(settings, dossier, tmp_path):
    with socket.socket() as probe:  # a port on loopback that nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CLAMAV_SOCKET, settings.CLAMAV_HOST, settings.CLAMAV_PORT = "", "127.0.0.1", port
    attachment = store_large(dossier, tmp_path, 0)
    assert antivirus.scan_instance(attachment) == ScanStatus.ERROR
    assert f"127.0.0.1:{port}" in attachment.scan_detail


def test_without_scanner_files_are_honestly_not_scanned(
        client, no_scanner, dossier, applicant, django_capture_on_commit_callbacks):
    client.force_login(applicant)
    upload(client, dossier, django_capture_on_commit_callbacks, duerp=PDF)
    attachment = Attachment.objects.get()
    assert attachment.scan_status == ScanStatus.NOT_SCANNED and attachment.scanned_at is None
    assert client.get(attachment_url(attachment)).status_code == 200
    for text in (page(client, dossier), page(client, dossier, "summary")):
        assert "Non analysé (aucun antivirus configuré)" in text
        assert "sans virus" not in text


@pytest.mark.parametrize("reply, status, detail", [
    ("stream: OK", ScanStatus.SAFE, ""),
    ("stream: Win.Test.EICAR_HDB-1 FOUND", ScanStatus.INFECTED, "Win.Test.EICAR_HDB-1"),
    ("INSTREAM size limit exceeded. ERROR", ScanStatus.ERROR, "fichier trop volumineux pour l'antivirus"),
    ("stream: Can't allocate memory ERROR", ScanStatus.ERROR, "réponse de l'antivirus"),
    ("", ScanStatus.ERROR, "sans répondre"),
])
def test_clamd_replies(reply, status, detail):
    verdict = antivirus.parse_reply(reply)
    assert verdict.status == status and detail in verdict.detail


def test_scan_task_runs_on_the_default_queue():
    assert scan_stored_file.queue_name == "default"


def test_rescan_command_scans_what_is_pending_or_in_error(clamav, dossier, tmp_path):
    attachment = store_large(dossier, tmp_path, 0)
    Attachment.objects.filter(pk=attachment.pk).update(scan_status=ScanStatus.ERROR)
    call_command("rescan_files")
    attachment.refresh_from_db()
    assert attachment.scan_status == ScanStatus.SAFE
