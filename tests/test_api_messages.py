"""The API's messagerie: the thread as the ARS sees it, posting through the messagerie's domain function,
awaited documents; scoped to the token's region and refused to read-only tokens."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from guichet.api.models import issue_token
from guichet.core.models import AuditRecord
from guichet.dossiers.models import Dossier
from guichet.messaging import services
from guichet.messaging.models import AwaitedDocument, Message
from tests.factories import DossierFactory, InstructorFactory, region

CSE = {"label": "Avis du CSE", "part": 3, "optional": False, "may_come_later": True}


def make(state="en_construction", **extra) -> Dossier:
    dossier = DossierFactory()
    extra.setdefault("number", f"2024-32-{dossier.pk:06d}")
    Dossier.objects.filter(pk=dossier.pk).update(state=state, **extra)
    return Dossier.objects.get(pk=dossier.pk)


def call(client, token, method, url, **kwargs):
    return getattr(client, method)(f"/api/v1{url}", HTTP_AUTHORIZATION=f"Bearer {token}",
                                   content_type="application/json", **kwargs)


@pytest.fixture
def instructor(db):
    return InstructorFactory()


@pytest.fixture
def dossier(db):
    return make()


@pytest.fixture
def writer(instructor):
    return issue_token(instructor, "outil", write=True)[1]


@pytest.fixture
def reader(instructor):
    return issue_token(instructor, "lecture")[1]


def test_thread_as_the_ars_sees_it(client, reader, instructor, dossier):
    dossier.call.required_documents = [CSE]
    dossier.call.save()
    services.create_awaited_documents(dossier)
    cse = AwaitedDocument.objects.get(dossier=dossier)
    applicant = dossier.created_by
    upload = SimpleUploadedFile("avis.pdf", b"%PDF-1.4 avis du CSE", content_type="application/pdf")
    sent = services.post_message(dossier, applicant, "Voici l'avis du CSE.", upload=upload, awaited=cse)
    services.post_message(dossier, instructor, "Merci, bien reçu.")
    mistake = services.post_message(dossier, instructor, "<b>Erreur</b>")
    Message.objects.filter(pk=mistake.pk).update(deleted_at=timezone.now())
    Message.objects.create(dossier=dossier, body="Le dossier est passé en instruction.", from_ars=True,
                           kind="state_change")

    response = call(client, reader, "get", f"/dossiers/{dossier.number}/messages")
    assert response.status_code == 200, response.content
    items = response.json()
    assert [m["body"] for m in items] == ["Voici l'avis du CSE.", "Merci, bien reçu.",
                                         "Le dossier est passé en instruction."]
    first, second, system = items
    assert first["from_ars"] is False and first["author"] == applicant.email and first["kind"] == "message"
    assert second["from_ars"] is True and second["author"] == instructor.email and second["attachments"] == []
    assert system["author"] is None and system["kind"] == "state_change"
    [attachment] = first["attachments"]
    stored = sent.attachments.get()
    assert attachment == {"id": stored.pk, "name": "avis.pdf", "size": stored.size, "sha256": stored.sha256,
                          "scan_status": stored.scan_status}
    assert first["at"].endswith(("+01:00", "+02:00"))

    # The awaited documents, in the dossier and on their own.
    data = call(client, reader, "get", f"/dossiers/{dossier.number}").json()
    assert [(d["label"], d["part"], d["received_at"] is not None) for d in data["awaited_documents"]] == \
        [("Avis du CSE", 3, True)]
    awaited = call(client, reader, "get", f"/dossiers/{dossier.number}/awaited-documents").json()
    assert awaited == data["awaited_documents"]


def test_post_a_message_as_the_ars(client, writer, instructor, dossier, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = call(client, writer, "post", f"/dossiers/{dossier.number}/messages",
                        data={"body": "  Pouvez-vous préciser le calendrier ?  "})
    assert response.status_code == 201, response.content
    message = Message.objects.get(dossier=dossier)
    assert response.json()["id"] == message.pk and response.json()["from_ars"] is True
    assert message.author == instructor and message.from_ars and message.body == "Pouvez-vous préciser le calendrier ?"
    assert AuditRecord.objects.filter(action="message:post", actor=instructor).exists()
    listed = call(client, writer, "get", f"/dossiers/{dossier.number}/messages").json()
    assert [m["id"] for m in listed] == [message.pk]


@pytest.mark.parametrize("body", ["", "   \n "])
def test_empty_message_is_422(client, writer, dossier, body):
    response = call(client, writer, "post", f"/dossiers/{dossier.number}/messages", data={"body": body})
    assert response.status_code == 422
    response = call(client, writer, "post", f"/dossiers/{dossier.number}/messages", data={})
    assert response.status_code == 422
    assert not Message.objects.exists()


def test_read_only_token_is_403(client, reader, dossier):
    response = call(client, reader, "post", f"/dossiers/{dossier.number}/messages", data={"body": "Bonjour"})
    assert response.status_code == 403 and "lecture" in response.json()["detail"]
    assert not Message.objects.exists()


def test_other_region_is_404(client, dossier):
    _, other = issue_token(InstructorFactory(region=region("44")), "autre", write=True)
    for method, kwargs in (("get", {}), ("post", {"data": {"body": "Bonjour"}})):
        response = call(client, other, method, f"/dossiers/{dossier.number}/messages", **kwargs)
        assert response.status_code == 404
    assert call(client, other, "get", f"/dossiers/{dossier.number}/awaited-documents").status_code == 404
    assert not Message.objects.exists()


def test_archived_dossier_is_409_with_the_reason(client, writer):
    archived = make("accepte", archived=True)
    response = call(client, writer, "post", f"/dossiers/{archived.number}/messages", data={"body": "Bonjour"})
    assert response.status_code == 409
    assert response.json()["detail"] == "Ce dossier est archivé : sa messagerie est en lecture seule."
    assert call(client, writer, "get", f"/dossiers/{archived.number}/messages").status_code == 200
    assert not Message.objects.exists()


def test_draft_is_closed_and_out_of_the_ars_scope(client, writer):
    """A draft never reaches the ARS (404, like everywhere); the domain function refuses it with the reason
    the API would give."""
    draft = make("brouillon")
    response = call(client, writer, "post", f"/dossiers/{draft.number}/messages", data={"body": "Bonjour"})
    assert response.status_code == 404
    assert services.closed_reason(draft) == "La messagerie ouvre lorsque le dossier est déposé."
    assert not Message.objects.exists()


def test_closed_on_a_race_is_409(client, writer, dossier, monkeypatch):
    """Archived between the check and the lock: the domain function's refusal still answers 409."""
    real = services.post_message

    def archive_first(d, *args, **kwargs):
        Dossier.objects.filter(pk=d.pk).update(state="accepte", archived=True)
        return real(d, *args, **kwargs)

    monkeypatch.setattr(services, "post_message", archive_first)
    response = call(client, writer, "post", f"/dossiers/{dossier.number}/messages", data={"body": "Bonjour"})
    assert response.status_code == 409 and "archivé" in response.json()["detail"]


def test_openapi_lists_the_messagerie(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/dossiers/{number}/messages"])
    assert "/api/v1/dossiers/{number}/awaited-documents" in paths
