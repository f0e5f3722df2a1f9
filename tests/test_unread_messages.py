"""Unread messages (issue 12): each side sees how many messages of the other side it has not read yet, per
dossier in « Mes dossiers » and in the instructor's workspace, until it opens the dossier's messagerie."""

import pytest
from django.urls import reverse

from guichet.dossiers.models import State
from guichet.messaging import services, unread
from tests.factories import CallFactory, DossierFactory, InstructorFactory, UserFactory, region

pytestmark = pytest.mark.django_db


def filed_dossier(call=None):
    dossier = DossierFactory(**({"call": call} if call else {}))
    dossier.number = f"2024-32-{dossier.pk:06d}"
    dossier.state = State.EN_CONSTRUCTION
    dossier.save()  # a save, not an update: the workspace's index follows
    return dossier


@pytest.fixture
def dossier():
    return filed_dossier()


@pytest.fixture
def applicant(dossier):
    return dossier.created_by


@pytest.fixture
def instructor():
    return InstructorFactory()


def test_messages_of_the_other_side_are_unread_until_the_thread_is_viewed(client, dossier, applicant, instructor):
    services.post_message(dossier, instructor, "Pouvez-vous envoyer l'avis du CSE ?")
    services.post_message(dossier, instructor, "Et le bilan social.")
    services.post_message(dossier, applicant, "Je m'en occupe.")
    assert unread.unread_counts(applicant, [dossier.pk]) == {dossier.pk: 2}  # not their own message
    assert unread.unread_counts(instructor, [dossier.pk]) == {dossier.pk: 1}
    client.force_login(applicant)
    assert client.get(reverse("messaging:thread", args=[dossier.pk])).status_code == 200
    assert unread.unread_counts(applicant, [dossier.pk]) == {}
    assert unread.unread_counts(instructor, [dossier.pk]) == {dossier.pk: 1}  # per user
    services.post_message(dossier, instructor, "Merci.")
    assert unread.unread_counts(applicant, [dossier.pk]) == {dossier.pk: 1}


def test_every_instructor_has_their_own_count(client, dossier, applicant, instructor):
    colleague = InstructorFactory()
    services.post_message(dossier, applicant, "Voici notre dossier.")
    client.force_login(colleague)
    client.get(reverse("messaging:thread", args=[dossier.pk]))
    assert unread.unread_counts(colleague, [dossier.pk]) == {}
    assert unread.unread_counts(instructor, [dossier.pk]) == {dossier.pk: 1}


def test_a_deleted_message_is_not_counted(dossier, applicant, instructor):
    message = services.post_message(dossier, instructor, "Envoyé par erreur")
    services.delete_message(message, instructor)
    assert unread.unread_counts(applicant, [dossier.pk]) == {}


def test_my_dossiers_shows_the_unread_count(client, dossier, applicant, instructor):
    services.post_message(dossier, instructor, "Une question.")
    services.post_message(dossier, instructor, "Une autre question.")
    client.force_login(applicant)
    page = client.get(reverse("dossiers:mine")).content.decode()
    assert "2 messages non lus" in page
    client.get(reverse("messaging:thread", args=[dossier.pk]))
    assert "non lu" not in client.get(reverse("dossiers:mine")).content.decode()


def test_workspace_shows_the_unread_count_in_the_dossier_cell(client, dossier, applicant, instructor):
    services.post_message(dossier, applicant, "Nous avons une question.")
    client.force_login(instructor)
    page = client.get(reverse("instruction:workspace", args=[dossier.call.slug])).content.decode()
    assert "1 message non lu" in page
    client.get(reverse("messaging:thread", args=[dossier.pk]))
    page = client.get(reverse("instruction:workspace", args=[dossier.call.slug])).content.decode()
    assert "non lu" not in page


def test_unread_counts_take_one_query_whatever_the_number_of_dossiers(django_assert_num_queries, instructor):
    call = CallFactory()
    dossiers = [filed_dossier(call) for _ in range(4)]
    for d in dossiers:
        services.post_message(d, d.created_by, "Bonjour")
    with django_assert_num_queries(1):
        counts = unread.unread_counts(instructor, [d.pk for d in dossiers])
    assert counts == {d.pk: 1 for d in dossiers}


def test_an_applicant_does_not_see_the_counts_of_someone_elses_dossier(dossier, instructor):
    services.post_message(dossier, instructor, "Pour le porteur seulement.")
    stranger = UserFactory()
    assert unread.unread_counts(stranger, [dossier.pk]) == {}
    other_region = InstructorFactory(region=region("44"))
    assert unread.unread_counts(other_region, [dossier.pk]) == {}
