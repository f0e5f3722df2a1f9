"""Batch operations: one action on up to 500 dossiers, each through the state machine in its own
transaction; those not allowed are skipped with the reason."""

from html import escape

import pytest
from django.core import mail
from django.urls import reverse

from guichet.dossiers.models import Dossier, DossierEvent
from guichet.instruction import batch
from tests.factories import CallFactory, DossierFactory, InstructorFactory, region


def make(state, **kwargs) -> Dossier:
    dossier = DossierFactory(**kwargs)
    Dossier.objects.filter(pk=dossier.pk).update(state=state, number=f"2024-{dossier.pk:06d}")
    return Dossier.objects.get(pk=dossier.pk)


@pytest.fixture
def instructor(db):
    return InstructorFactory()


@pytest.fixture
def three(db):
    return make("en_construction"), make("en_instruction"), make("accepte")


def test_event_applied_to_the_allowed_others_skipped_with_reasons(instructor, three,
                                                                  django_capture_on_commit_callbacks):
    building, instructing, accepted = three
    with django_capture_on_commit_callbacks(execute=True):
        result = batch.run([building.pk, instructing.pk, accepted.pk], "passer_en_instruction", instructor)
    assert [d.pk for d in result.done] == [building.pk]
    assert Dossier.objects.get(pk=building.pk).state == "en_instruction"
    assert DossierEvent.objects.filter(event="passer_en_instruction").count() == 1
    reasons = {d.pk: reason for d, reason in result.skipped}
    assert reasons == {
        instructing.pk: "« Passer en instruction » n'est pas possible sur un dossier « En instruction ».",
        accepted.pk: "« Passer en instruction » n'est pas possible sur un dossier « Accepté ».",
    }
    assert Dossier.objects.get(pk=instructing.pk).state == "en_instruction"
    assert Dossier.objects.get(pk=accepted.pk).state == "accepte"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [building.created_by.email]


def test_other_regions_dossiers_are_not_reached(instructor, db):
    mine = make("en_construction")
    elsewhere = make("en_construction", call=CallFactory(region=region("44")))
    result = batch.run([mine.pk, elsewhere.pk, 999999], "passer_en_instruction", instructor)
    assert [d.pk for d in result.done] == [mine.pk]
    assert result.unknown == [elsewhere.pk, 999999]
    assert Dossier.objects.get(pk=elsewhere.pk).state == "en_construction"


def test_applicant_can_do_nothing_in_batch(db):
    dossier = make("en_construction")
    result = batch.run([dossier.pk], "passer_en_instruction", dossier.created_by)
    assert result.done == [] and "Seul un instructeur" in result.skipped[0][1]
    assert Dossier.objects.get(pk=dossier.pk).state == "en_construction"


def test_motivation_required_for_refusal(instructor, db):
    dossier = make("en_instruction")
    with pytest.raises(batch.ValidationError, match="motivation"):
        batch.run([dossier.pk], "refuser", instructor)
    result = batch.run([dossier.pk], "refuser", instructor, motivation="Hors du champ.")
    assert result.done and Dossier.objects.get(pk=dossier.pk).motivation == "Hors du champ."


def test_follow_in_batch(instructor, three):
    result = batch.run([d.pk for d in three], "suivre", instructor)
    assert len(result.done) == 3
    assert all(instructor in d.followers.all() for d in three)
    batch.run([three[0].pk], "ne_plus_suivre", instructor)
    assert instructor not in three[0].followers.all()


def test_more_than_500_is_refused(instructor, db):
    dossier = make("en_construction")
    with pytest.raises(batch.BatchTooLarge, match="500 dossiers au plus"):
        batch.run([dossier.pk] + list(range(10_000, 10_500)), "passer_en_instruction", instructor)
    assert Dossier.objects.get(pk=dossier.pk).state == "en_construction"
    assert len(batch.run([dossier.pk] * 600, "passer_en_instruction", instructor).done) == 1  # duplicates


def test_unknown_action_is_refused(instructor, db):
    with pytest.raises(batch.ValidationError):
        batch.run([make("en_construction").pk], "supprimer", instructor)


# --- The view --------------------------------------------------------------------------------------

def test_batch_view_shows_done_and_skipped(client, instructor, three):
    building, instructing, accepted = three
    client.force_login(instructor)
    response = client.post(reverse("instruction:batch"), {
        "dossier": [building.pk, instructing.pk, accepted.pk], "action": "passer_en_instruction",
        "next": "/instruction/appels/1/?onglet=tous"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "1 dossier traité, 2 écartés" in html
    assert escape("n'est pas possible sur un dossier « Accepté »") in html
    assert 'href="/instruction/appels/1/?onglet=tous"' in html
    assert Dossier.objects.get(pk=building.pk).state == "en_instruction"


def test_batch_view_refuses_501_and_outside_next(client, instructor, db):
    client.force_login(instructor)
    response = client.post(reverse("instruction:batch"), {
        "dossier": list(range(1, 502)), "action": "suivre", "next": "https://ailleurs.example/"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "500 dossiers au plus" in html and "ailleurs.example" not in html


def test_batch_view_errors(client, instructor, db):
    client.force_login(instructor)
    assert client.post(reverse("instruction:batch"), {"action": "suivre"}).status_code == 400
    response = client.post(reverse("instruction:batch"), {"dossier": [1], "action": "supprimer"})
    assert response.status_code == 400 and "pas possible par lot" in response.content.decode()
    assert client.get(reverse("instruction:batch")).status_code == 405


def test_batch_view_is_for_ars_staff(client, instructor, db):
    dossier = make("en_construction")
    client.force_login(dossier.created_by)
    response = client.post(reverse("instruction:batch"), {"dossier": [dossier.pk], "action": "passer_en_instruction"})
    assert response.status_code == 404
    assert Dossier.objects.get(pk=dossier.pk).state == "en_construction"
    client.force_login(InstructorFactory(region=region("44")))
    response = client.post(reverse("instruction:batch"), {"dossier": [dossier.pk], "action": "suivre"})
    assert "1 introuvable" in response.content.decode() and not dossier.followers.exists()


def test_message_in_batch_through_the_messagerie(instructor, db):
    from guichet.messaging.models import Message

    assert batch._messaging_post() is not None and "envoyer_message" in dict(batch.choices())
    in_instruction, in_construction = make("en_instruction"), make("en_construction")
    archived = make("accepte", archived=True)
    result = batch.run([in_instruction.pk, in_construction.pk, archived.pk], "envoyer_message", instructor,
                       motivation="Pièce reçue, merci.")
    assert [d.pk for d in result.done] == [in_instruction.pk, in_construction.pk]
    assert [(d.pk, reason) for d, reason in result.skipped] == [
        (archived.pk, "Ce dossier est archivé : sa messagerie est en lecture seule.")]
    sent = Message.objects.filter(body="Pièce reçue, merci.", author=instructor)
    assert sorted(sent.values_list("dossier_id", flat=True)) == sorted([in_instruction.pk, in_construction.pk])
    assert all(m.from_ars for m in sent)


def test_the_workspace_list_sends_its_selection_to_the_batch(client, db):
    from django.urls import reverse

    from guichet.dossiers.models import Dossier
    from tests.factories import DossierFactory, InstructorFactory

    instructor = InstructorFactory()
    call = DossierFactory().call
    picked = []
    for _ in range(2):
        d = DossierFactory(call=call)
        d.state, d.number = "en_construction", f"2024-32-{d.pk:06d}"
        d.save()
        picked.append(d)
    client.force_login(instructor)
    page = client.get(reverse("instruction:workspace", args=[call.slug]) + "?onglet=tous").content.decode()
    assert 'form="batch-form"' in page and f'value="{picked[0].pk}"' in page
    response = client.post(reverse("instruction:batch"), {"dossier": [d.pk for d in picked],
                                                          "action": "passer_en_instruction",
                                                          "next": reverse("instruction:workspace", args=[call.slug])})
    assert response.status_code in (200, 302)
    assert set(Dossier.objects.filter(pk__in=[d.pk for d in picked]).values_list("state", flat=True)) == {
        "en_instruction"}
