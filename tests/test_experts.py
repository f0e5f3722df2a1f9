"""Expert opinions: asked by the region's ARS, answered through a secret link that opens that
dossier and nothing else; confidential opinions stay with the ARS; reminders."""

import datetime as dt
import io

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from guichet.dossiers.models import Attachment, Dossier
from guichet.experts import services
from guichet.experts.models import ExpertFile, ExpertRequest
from tests.factories import DossierFactory, InstructorFactory, UserFactory, region


@pytest.fixture
def instructor(db):
    return InstructorFactory()


def filed(**kwargs) -> Dossier:
    dossier = DossierFactory(**kwargs)
    Dossier.objects.filter(pk=dossier.pk).update(state="en_instruction", number=f"2024-32-{dossier.pk:06d}",
                                                 answers={"nom_projet": "Prévention des TMS", "cout": "1000.00"})
    return Dossier.objects.get(pk=dossier.pk)


def attach(dossier, name="devis.pdf") -> Attachment:
    return Attachment.objects.create(dossier=dossier, field_path="devis", file=ContentFile(b"%PDF-1.4", name=name),
                                     original_name=name, size=8, scan_status="safe")


@pytest.fixture
def asked(instructor, django_capture_on_commit_callbacks):
    dossier = filed()
    with django_capture_on_commit_callbacks(execute=True):
        request = services.ask(dossier, instructor, email="Expert@Exemple.fr",
                               question="Le diagnostic est-il solide ?")
    return request


def test_asking_sends_the_expert_a_personal_link(asked):
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["expert@exemple.fr"]
    assert reverse("experts:answer", args=[asked.token]) in mail.outbox[0].body
    assert "Le diagnostic est-il solide ?" in mail.outbox[0].body


def test_the_expert_sees_the_dossier_and_answers(client, asked, django_capture_on_commit_callbacks):
    url = reverse("experts:answer", args=[asked.token])
    page = client.get(url).content.decode()
    assert "Prévention des TMS" in page and "Le diagnostic est-il solide ?" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"answer": "Diagnostic partagé avec le CSE : avis favorable.",
                                     "file": SimpleUploadedFile("avis.pdf", b"%PDF-1.4 avis")})
    assert response.status_code == 302
    asked.refresh_from_db()
    assert asked.answered_at and asked.answer.startswith("Diagnostic partagé")
    assert ExpertFile.objects.get(request=asked, side="answer").original_name == "avis.pdf"
    assert mail.outbox[-1].to == [asked.invited_by.email]
    # Answered once: the form is gone, a second answer is refused.
    client.post(url, {"answer": "Autre avis"})
    asked.refresh_from_db()
    assert asked.answer.startswith("Diagnostic partagé")


def test_an_empty_answer_is_refused_at_the_field(client, asked):
    response = client.post(reverse("experts:answer", args=[asked.token]), {"answer": "  "})
    assert "Écrivez votre avis." in response.content.decode()
    asked.refresh_from_db()
    assert asked.answered_at is None


def test_the_link_opens_that_dossier_and_nothing_else(client, asked):
    own = attach(asked.dossier)
    other = attach(filed(), "autre.pdf")
    assert client.get(reverse("experts:file", args=[asked.token, own.pk])).status_code == 200
    assert client.get(reverse("experts:file", args=[asked.token, other.pk])).status_code == 404
    assert client.get(reverse("experts:answer", args=["faux-jeton"])).status_code == 404
    response = client.get(reverse("dossiers:summary", args=[asked.dossier.pk]))
    assert response.status_code == 302  # the link gives no session: the rest of the site asks to log in
    services.revoke(asked, asked.invited_by)
    assert client.get(reverse("experts:answer", args=[asked.token])).status_code == 404


def test_confidential_opinions_are_not_shown_to_other_experts(instructor, client):
    dossier = filed()
    secret = services.ask(dossier, instructor, email="a@exemple.fr", question="Q1", confidential=True)
    public = services.ask(dossier, instructor, email="b@exemple.fr", question="Q2")
    services.answer(secret, text="Avis confidentiel sur la direction")
    services.answer(public, text="Avis partagé sur les actions")
    third = services.ask(dossier, instructor, email="c@exemple.fr", question="Q3")
    page = client.get(reverse("experts:answer", args=[third.token])).content.decode()
    assert "Avis partagé sur les actions" in page and "Avis confidentiel" not in page


@pytest.mark.parametrize("who, status", [("instructor", 200), ("other_region", 404), ("applicant", 404),
                                         ("stranger", 404)])
def test_only_the_regions_ars_asks_and_reads_opinions(client, asked, who, status):
    user = {"instructor": lambda: asked.invited_by, "other_region": lambda: InstructorFactory(region=region("44")),
            "applicant": lambda: asked.dossier.created_by, "stranger": UserFactory}[who]()
    client.force_login(user)
    url = reverse("experts:dossier", args=[asked.dossier.pk])
    assert client.get(url).status_code == status
    client.post(url, {"email": "x@exemple.fr", "question": "Q"})
    assert ExpertRequest.objects.count() == (2 if status == 200 else 1)


def test_the_ars_form_explains_mistakes(client, instructor):
    dossier = filed()
    client.force_login(instructor)
    page = client.post(reverse("experts:dossier", args=[dossier.pk]), {"email": "pas-une-adresse",
                                                                       "question": "Une question"})
    body = page.content.decode()
    assert "Saisissez une adresse électronique valide." in body and "Une question" in body
    assert not ExpertRequest.objects.exists()


def test_reminders_after_the_delay_and_at_most_three(settings, asked, django_capture_on_commit_callbacks):
    settings.GUICHET_AVIS_REMINDER_DAYS = 7
    ExpertRequest.objects.filter(pk=asked.pk).update(created_at=timezone.now() - dt.timedelta(days=8))
    mail.outbox.clear()
    call_command("remind_experts", stdout=io.StringIO())
    assert len(mail.outbox) == 1 and "Rappel" in mail.outbox[0].subject
    call_command("remind_experts", stdout=io.StringIO())  # reminded just now: not again
    assert len(mail.outbox) == 1
    for _ in range(5):
        ExpertRequest.objects.filter(pk=asked.pk).update(last_reminded_at=timezone.now() - dt.timedelta(days=8))
        call_command("remind_experts", stdout=io.StringIO())
    assert ExpertRequest.objects.get(pk=asked.pk).reminders_sent == 3


def test_files_in_the_expert_page_open_through_the_personal_link(client, asked):
    from guichet.calls.models import FormVersion

    attachment = attach(asked.dossier)
    FormVersion.objects.filter(pk=asked.dossier.form_version_id).update(schema={"sections": [
        {"key": "s", "title": "Pièces", "fields": [{"key": "devis", "type": "file", "label": "Devis"}]}]})
    Dossier.objects.filter(pk=asked.dossier.pk).update(
        answers={"devis": {"attachment": attachment.pk, "name": "devis.pdf", "size": 8}})
    page = client.get(reverse("experts:answer", args=[asked.token])).content.decode()
    assert reverse("experts:file", args=[asked.token, attachment.pk]) in page
    assert reverse("dossiers:attachment", args=[asked.dossier.pk, attachment.pk]) not in page


def test_files_in_a_repeatable_block_open_through_the_personal_link(client, asked):
    """Every CLACT dossier has a « devis » per action, inside the repeatable block: the expert's page
    showed a server error (the block's row hid the expert's request in the template)."""
    from guichet.calls.models import FormVersion

    first, second = attach(asked.dossier, "devis-action-1.pdf"), attach(asked.dossier, "devis-action-2.pdf")
    FormVersion.objects.filter(pk=asked.dossier.form_version_id).update(schema={"sections": [
        {"key": "s", "title": "Actions", "fields": [{"key": "actions", "type": "repeat", "label": "Actions",
                                                     "fields": [
            {"key": "intitule", "type": "text", "label": "Intitulé"},
            {"key": "devis", "type": "file", "label": "Devis"}]}]}]})
    Dossier.objects.filter(pk=asked.dossier.pk).update(answers={"actions": [
        {"intitule": "Formation", "devis": {"attachment": first.pk, "name": first.original_name, "size": 8}},
        {"intitule": "Matériel", "devis": {"attachment": second.pk, "name": second.original_name, "size": 8}},
    ]})
    response = client.get(reverse("experts:answer", args=[asked.token]))
    assert response.status_code == 200
    page = response.content.decode()
    for item in (first, second):
        assert reverse("experts:file", args=[asked.token, item.pk]) in page
        assert item.original_name in page
        assert reverse("dossiers:attachment", args=[asked.dossier.pk, item.pk]) not in page
    download = client.get(reverse("experts:file", args=[asked.token, second.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4"
    from guichet.core.models import AuditRecord

    record = AuditRecord.objects.filter(action="file:download").get()
    assert (record.dossier_id, record.object_id) == (asked.dossier.pk, str(second.pk))
    assert (record.details["expert"], record.details["name"]) == ("expert@exemple.fr", "devis-action-2.pdf")
