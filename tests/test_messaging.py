"""The messagerie of a dossier: who may read and write, plain text only, attachments, awaited documents,
e-mails to the other side (the applicant's after a delay), and the state changes posted in the thread."""

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from guichet.core import audit
from guichet.dossiers import services as dossier_services
from guichet.dossiers import workflow
from guichet.dossiers.models import Dossier
from guichet.messaging import services
from guichet.messaging.models import AwaitedDocument, Message, MessageAttachment, MessageKind
from tests.factories import (
    ArsAdminFactory,
    CallFactory,
    DossierFactory,
    EstablishmentFactory,
    InstructorFactory,
    UserFactory,
    region,
)

CSE = {"label": "Avis du CSE", "part": 3, "optional": False, "may_come_later": True}
BILAN = {"label": "Bilan social", "part": 2, "optional": False, "may_come_later": False}


def make(state="en_construction", **extra) -> Dossier:
    dossier = DossierFactory()
    extra.setdefault("number", f"2024-32-{dossier.pk:06d}")
    Dossier.objects.filter(pk=dossier.pk).update(state=state, **extra)
    return Dossier.objects.get(pk=dossier.pk)


def thread_url(dossier):
    return reverse("messaging:thread", args=[dossier.pk])


def pdf(name="avis.pdf"):
    return SimpleUploadedFile(name, b"%PDF-1.4 avis du CSE", content_type="application/pdf")


@pytest.fixture
def dossier(db):
    return make()


@pytest.fixture
def applicant(dossier):
    return dossier.created_by


@pytest.fixture
def instructor(db):
    return InstructorFactory()


@pytest.fixture
def recorded(monkeypatch):
    calls = []
    monkeypatch.setattr(audit, "record", lambda actor, action, dossier=None, request=None, **details:
                        calls.append((actor, action, getattr(dossier, "pk", dossier), details)))
    return calls


ROLES = {
    "member": (lambda d: d.created_by, 200),
    "instructor": (lambda d: InstructorFactory(), 200),
    "admin": (lambda d: ArsAdminFactory(), 200),
    "superuser": (lambda d: UserFactory(is_superuser=True, is_staff=True), 200),
    "applicant_of_another_establishment": (lambda d: DossierFactory(
        establishment=EstablishmentFactory(finess="140000076", siret="26140092300015")).created_by, 404),
    "instructor_of_another_region": (lambda d: InstructorFactory(region=region("44")), 404),
    "admin_of_another_region": (lambda d: ArsAdminFactory(region=region("44")), 404),
    "expert": (lambda d: UserFactory(), 404),
}


@pytest.mark.parametrize("role", ROLES)
def test_who_reads_and_writes_a_thread(client, dossier, role):
    make_user, status = ROLES[role]
    client.force_login(make_user(dossier))
    assert client.get(thread_url(dossier)).status_code == status
    response = client.post(thread_url(dossier), {"body": "Bonjour"})
    assert response.status_code == (302 if status == 200 else 404)
    assert Message.objects.filter(dossier=dossier).count() == (1 if status == 200 else 0)
    if status == 200:
        message = Message.objects.get(dossier=dossier)
        assert message.from_ars == (role != "member")


def test_anonymous_is_sent_to_the_login_page(client, dossier):
    response = client.get(thread_url(dossier))
    assert response.status_code == 302 and "/comptes/login/" in response["Location"]
    assert client.post(thread_url(dossier), {"body": "x"}).status_code == 302
    assert not Message.objects.exists()


def test_a_draft_thread_is_closed_and_hidden_from_the_ars(client, instructor):
    draft = make("brouillon", number=None)
    client.force_login(draft.created_by)
    page = client.get(thread_url(draft)).content.decode()
    assert "La messagerie ouvre lorsque le dossier est déposé." in page and "Envoyer" not in page
    assert client.post(thread_url(draft), {"body": "x"}).status_code == 403
    client.force_login(instructor)
    assert client.get(thread_url(draft)).status_code == 404
    assert not Message.objects.exists()


def test_an_archived_thread_is_read_only(client, instructor):
    archived = make("accepte", archived=True)
    Message.objects.create(dossier=archived, author=instructor, from_ars=True, body="Ancien message")
    for user in (archived.created_by, instructor):
        client.force_login(user)
        page = client.get(thread_url(archived)).content.decode()
        assert "Ancien message" in page and "lecture seule" in page and "Écrire un message" not in page
        assert client.post(thread_url(archived), {"body": "x"}).status_code == 403
    assert Message.objects.count() == 1


def test_messages_are_plain_text(client, dossier, applicant):
    client.force_login(applicant)
    client.post(thread_url(dossier), {"body": '<script>alert("x")</script>\n<b>gras</b> & **pas markdown**'})
    page = client.get(thread_url(dossier)).content.decode()
    assert '<script>alert("x")</script>' not in page and "<b>gras</b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;<br>&lt;b&gt;gras&lt;/b&gt; &amp; **pas markdown**" in page


def test_the_thread_says_who_wrote(client, dossier, applicant, instructor):
    Message.objects.create(dossier=dossier, author=applicant, body="Question du porteur")
    Message.objects.create(dossier=dossier, author=instructor, from_ars=True, body="Réponse de la région")
    client.force_login(applicant)
    page = client.get(thread_url(dossier)).content.decode()
    assert page.index("Question du porteur") < page.index("Réponse de la région")  # newest last
    assert "<strong>Vous</strong>" in page and "<strong>ARS Hauts-de-France</strong>" in page
    client.force_login(instructor)
    page = client.get(thread_url(dossier)).content.decode()
    assert f"<strong>{dossier.establishment.name}</strong>" in page and "<strong>Vous</strong>" in page


def test_empty_message_is_refused_at_the_field(client, dossier, applicant):
    client.force_login(applicant)
    response = client.post(thread_url(dossier), {"body": "   "})
    assert response.status_code == 200 and "Écrivez un message ou joignez un fichier." in response.content.decode()
    assert not Message.objects.exists()


def test_attachment_is_stored_unscanned_without_antivirus_and_downloadable_by_both_sides(
        client, dossier, applicant, instructor, recorded):
    client.force_login(applicant)
    client.post(thread_url(dossier), {"body": "Voici le bilan", "attachment": pdf("bilan social.pdf")})
    item = MessageAttachment.objects.get()
    assert item.scan_status == "not_scanned" and item.original_name == "bilan social.pdf"
    assert item.content_type == "application/pdf" and len(item.sha256) == 64 and item.uploaded_by == applicant
    url = reverse("messaging:attachment", args=[dossier.pk, item.pk])
    assert url in client.get(thread_url(dossier)).content.decode()
    for user in (applicant, instructor):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200 and b"".join(response.streaming_content) == b"%PDF-1.4 avis du CSE"
    assert ("file:download" in [a for _, a, *_ in recorded])
    for user in (ROLES["applicant_of_another_establishment"][0](dossier), InstructorFactory(region=region("44"))):
        client.force_login(user)
        assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302


def test_attachment_is_queued_for_scanning_when_an_antivirus_is_configured(
        client, dossier, applicant, settings, monkeypatch, django_capture_on_commit_callbacks):
    from types import SimpleNamespace

    from guichet.core import tasks

    settings.CLAMAV_SOCKET = "/nonexistent/clamd.sock"
    queued = []
    fake = SimpleNamespace(enqueue=lambda label, pk: queued.append((label, pk)))
    monkeypatch.setattr(tasks, "scan_stored_file", fake)
    client.force_login(applicant)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(thread_url(dossier), {"body": "x", "attachment": pdf()})
    item = MessageAttachment.objects.get()
    assert item.scan_status == "pending" and queued == [("messaging.MessageAttachment", item.pk)]


@pytest.mark.parametrize("status, served", [("safe", True), ("not_scanned", True), ("pending", False),
                                            ("infected", False), ("error", False)])
def test_only_safe_or_honestly_unscanned_attachments_are_served(client, dossier, applicant, status, served):
    client.force_login(applicant)
    client.post(thread_url(dossier), {"body": "x", "attachment": pdf()})
    item = MessageAttachment.objects.get()
    MessageAttachment.objects.filter(pk=item.pk).update(scan_status=status)
    response = client.get(reverse("messaging:attachment", args=[dossier.pk, item.pk]))
    assert response.status_code == (200 if served else 403)
    page = client.get(thread_url(dossier)).content.decode()
    assert f'data-scan-status="{status}"' in page


def test_attachment_of_a_wrong_type_is_refused_and_the_text_kept(client, dossier, applicant):
    client.force_login(applicant)
    exe = SimpleUploadedFile("outil.exe", b"MZ\x90\x00binaire", content_type="application/octet-stream")
    response = client.post(thread_url(dossier), {"body": "Mon long message", "attachment": exe})
    page = response.content.decode()
    assert "n&#x27;est pas d&#x27;un type accepté" in page and "Mon long message</textarea>" in page
    assert "sélectionnez-le à nouveau" in page
    assert not Message.objects.exists() and not MessageAttachment.objects.exists()


def test_attachment_whose_content_does_not_match_its_extension_is_refused(client, dossier, applicant):
    client.force_login(applicant)
    fake = SimpleUploadedFile("avis.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    response = client.post(thread_url(dossier), {"body": "x", "attachment": fake})
    assert "ne correspond pas à son extension" in response.content.decode()
    assert not Message.objects.exists()


def test_attachment_over_the_size_limit_is_refused_while_it_streams(client, dossier, applicant, settings):
    settings.GUICHET_MAX_UPLOAD_MB = 1
    client.force_login(applicant)
    big = SimpleUploadedFile("gros.pdf", b"%PDF-1.4 " + b"0" * (1024 * 1024 + 10), content_type="application/pdf")
    page = client.post(thread_url(dossier), {"body": "Texte gardé", "attachment": big}).content.decode()
    assert "dépasse la taille maximale de 1 Mo" in page and "Texte gardé</textarea>" in page
    assert not Message.objects.exists()


def test_awaited_documents_are_created_on_filing_and_received_through_a_message(client, db, recorded):
    call = CallFactory(required_documents=[BILAN, CSE])
    draft = DossierFactory(call=call)
    applicant = draft.created_by
    Dossier.objects.filter(pk=draft.pk).update(answers={"nom_projet": "QVCT", "cout": "1000.00"})
    dossier_services.file_dossier(Dossier.objects.get(pk=draft.pk), applicant)
    awaited = AwaitedDocument.objects.get(dossier=draft)
    assert (awaited.label, awaited.part, awaited.received_at) == ("Avis du CSE", 3, None)
    client.force_login(applicant)
    page = client.get(thread_url(draft)).content.decode()
    assert "Ce fichier est la pièce attendue" in page and "Avis du CSE" in page
    # Choosing the awaited document without a file is refused at the field.
    page = client.post(thread_url(draft), {"body": "Avis", "awaited": awaited.pk}).content.decode()
    assert "Joignez le fichier de la pièce attendue." in page
    client.post(thread_url(draft), {"body": "Avis du CSE du 3 mars", "attachment": pdf(), "awaited": awaited.pk})
    awaited.refresh_from_db()
    message = Message.objects.get(dossier=draft)
    assert awaited.received_at is not None and awaited.received_message == message
    assert AwaitedDocument.objects.filter(dossier=draft).awaited().count() == 0
    page = client.get(thread_url(draft)).content.decode()
    assert "Reçue le" in page and "Ce fichier est la pièce attendue" not in page
    assert ("message:post" in [a for _, a, *_ in recorded])


def test_the_ars_cannot_mark_an_awaited_document_received(dossier, instructor):
    awaited = AwaitedDocument.objects.create(dossier=dossier, label="Avis du CSE")
    with pytest.raises(PermissionDenied):
        services.post_message(dossier, instructor, "x", upload=pdf(), awaited=awaited)
    assert AwaitedDocument.objects.get().received_at is None


def test_applicants_message_goes_to_the_followers(client, dossier, applicant, instructor,
                                                  django_capture_on_commit_callbacks):
    other = InstructorFactory()
    dossier.followers.add(instructor)
    client.force_login(applicant)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(thread_url(dossier), {"body": "Une question sur l'enveloppe"})
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [instructor.email] and other.email not in mail.outbox[0].to
    assert "Une question sur l'enveloppe" in mail.outbox[0].body
    assert reverse("messaging:thread", args=[dossier.pk]) in mail.outbox[0].body
    assert Message.objects.get().email_sent_at is not None


def test_without_followers_the_regions_instructors_are_told(client, dossier, applicant,
                                                            django_capture_on_commit_callbacks):
    first, second = InstructorFactory(), InstructorFactory()
    InstructorFactory(region=region("44"))
    ArsAdminFactory()
    client.force_login(applicant)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(thread_url(dossier), {"body": "Bonjour"})
    assert len(mail.outbox) == 1 and sorted(mail.outbox[0].to) == sorted([first.email, second.email])


def test_ars_message_is_sent_at_commit_when_the_backend_cannot_wait(client, dossier, applicant, instructor,
                                                                    django_capture_on_commit_callbacks):
    client.force_login(instructor)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(thread_url(dossier), {"body": "Merci de transmettre l'avis du CSE."})
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [applicant.email]
    assert "Merci de transmettre l'avis du CSE." in mail.outbox[0].body
    assert Message.objects.get().email_sent_at is not None


def test_author_deletes_within_the_delay_only(client, dossier, applicant, instructor, recorded):
    message = Message.objects.create(dossier=dossier, author=instructor, from_ars=True, body="Erreur de dossier")
    delete_url = reverse("messaging:delete", args=[dossier.pk, message.pk])
    client.force_login(applicant)  # not the author
    assert "Supprimer" not in client.get(thread_url(dossier)).content.decode()
    client.post(delete_url)
    assert Message.objects.get().deleted_at is None
    client.force_login(instructor)
    assert ">Supprimer</button>" in client.get(thread_url(dossier)).content.decode()
    client.post(delete_url)
    message.refresh_from_db()
    assert message.deleted_at is not None
    page = client.get(thread_url(dossier)).content.decode()
    assert "Erreur de dossier" not in page and "Message supprimé" in page
    assert ("message:delete" in [a for _, a, *_ in recorded])
    late = Message.objects.create(dossier=dossier, author=instructor, from_ars=True, body="Trop tard",
                                  created_at=timezone.now() - dt.timedelta(seconds=301))
    client.post(reverse("messaging:delete", args=[dossier.pk, late.pk]))
    assert Message.objects.get(pk=late.pk).deleted_at is None


@pytest.mark.django_db(transaction=True)
def test_ars_message_waits_for_the_delay_on_a_task_queue_and_a_deleted_one_sends_nothing(client, settings):
    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "emails"]}}
    dossier = make()
    instructor = InstructorFactory()
    client.force_login(instructor)
    client.post(thread_url(dossier), {"body": "Premier message"})
    client.post(thread_url(dossier), {"body": "Envoyé par erreur"})
    kept, mistaken = Message.objects.order_by("pk")
    task_results = DBTaskResult.objects.order_by("enqueued_at")
    assert task_results.count() == 2
    for result, message in zip(task_results, (kept, mistaken), strict=True):
        assert result.run_after >= message.created_at + dt.timedelta(seconds=299)
    assert not DBTaskResult.objects.ready().exists()
    call_command("db_worker", batch=True, queue_name="*", startup_delay=False, verbosity=0)
    assert mail.outbox == []  # not yet: the instructor can still delete
    client.post(reverse("messaging:delete", args=[dossier.pk, mistaken.pk]))
    DBTaskResult.objects.update(run_after=timezone.now() - dt.timedelta(seconds=1))  # the delay has passed
    call_command("db_worker", batch=True, queue_name="*", startup_delay=False, verbosity=0)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [dossier.created_by.email]
    assert "Premier message" in mail.outbox[0].body and "Envoyé par erreur" not in mail.outbox[0].body
    kept.refresh_from_db()
    mistaken.refresh_from_db()
    assert kept.email_sent_at is not None and mistaken.email_sent_at is None


def test_applicant_message_is_not_delayed_on_a_task_queue(settings, dossier, applicant, instructor,
                                                          django_capture_on_commit_callbacks):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "emails"]}}
    from django_tasks_db.models import DBTaskResult

    with django_capture_on_commit_callbacks(execute=True):
        services.post_message(dossier, applicant, "Bonjour")
    assert DBTaskResult.objects.ready().count() == 1


@pytest.mark.parametrize("event, kind", [("demander_correction", MessageKind.CORRECTION_REQUEST),
                                         ("accepter", MessageKind.STATE_CHANGE)])
def test_a_state_change_is_posted_in_the_thread_without_a_second_email(
        client, instructor, event, kind, django_capture_on_commit_callbacks):
    dossier = make("en_instruction")
    with django_capture_on_commit_callbacks(execute=True):
        workflow.apply(dossier, event, instructor, motivation="Il manque l'avis du CSE.")
    message = Message.objects.get(dossier=dossier)
    assert message.kind == kind and message.from_ars and message.email_sent_at is not None
    assert message.body.startswith(workflow.TRANSITIONS[event].done) and "Il manque l'avis du CSE." in message.body
    assert len(mail.outbox) == 1  # the transition's own e-mail
    client.force_login(dossier.created_by)
    page = client.get(thread_url(dossier)).content.decode()
    assert "Il manque l&#x27;avis du CSE." in page and "ARS Hauts-de-France" in page
    assert "Supprimer" not in page


def test_archiving_posts_nothing(instructor):
    dossier = make("accepte")
    workflow.apply(dossier, "archiver", instructor)
    assert not Message.objects.exists()


def test_summary_links_to_the_thread_with_its_count(client, dossier, applicant):
    Message.objects.create(dossier=dossier, author=applicant, body="Un")
    Message.objects.create(dossier=dossier, author=applicant, body="Deux", deleted_at=timezone.now())
    client.force_login(applicant)
    page = client.get(reverse("dossiers:summary", args=[dossier.pk])).content.decode()
    assert f'href="{thread_url(dossier)}">Messagerie (1)</a>' in page


def test_posting_and_deleting_are_in_the_audit_trail(client, dossier, instructor):
    from guichet.core.models import AuditRecord

    client.force_login(instructor)
    client.post(thread_url(dossier), {"body": "Bonjour"})
    message = Message.objects.get()
    client.post(reverse("messaging:delete", args=[dossier.pk, message.pk]))
    actions = list(AuditRecord.objects.filter(dossier_id=dossier.pk).order_by("seq").values_list(
        "action", "object_id", "actor_email"))
    assert ("message:post", str(message.pk), instructor.email) in actions
    assert ("message:delete", str(message.pk), instructor.email) in actions
