"""The dossier state machine: every event, who may take it, and what it refuses."""

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied

from guichet.calls.models import FormKind, FormVersion
from guichet.dossiers import workflow
from guichet.dossiers.models import Dossier, DossierEvent, State
from tests.factories import ArsAdminFactory, DossierFactory, InstructorFactory, UserFactory, region

ALL = [s.value for s in State]
ALLOWED = {
    # event: (source states, target state, motivation required)
    "passer_en_instruction": (["en_construction"], "en_instruction", False),
    "demander_correction": (["en_instruction"], "en_construction", True),
    "accepter": (["en_instruction"], "accepte", False),
    "refuser": (["en_instruction"], "refuse", True),
    "classer_sans_suite": (["en_instruction"], "sans_suite", True),
    "repasser_en_instruction": (["accepte", "refuse", "sans_suite"], "en_instruction", False),
}


@pytest.fixture
def instructor(db):
    return InstructorFactory()


def make(state, **extra) -> Dossier:
    dossier = DossierFactory()
    Dossier.objects.filter(pk=dossier.pk).update(state=state, number=f"2024-32-{dossier.pk:06d}", **extra)
    return Dossier.objects.get(pk=dossier.pk)


@pytest.mark.parametrize("event", ALLOWED)
@pytest.mark.parametrize("state", ALL)
def test_each_event_from_each_state(instructor, event, state, django_capture_on_commit_callbacks):
    sources, target, needs_motivation = ALLOWED[event]
    dossier = make(state)
    if state in sources:
        with django_capture_on_commit_callbacks(execute=True):
            result = workflow.apply(dossier, event, instructor, motivation="Pièce manquante : avis du CSE.")
        assert result.state == target
        history = DossierEvent.objects.get(dossier=dossier, event=event)
        assert (history.from_state, history.to_state, history.actor) == (state, target, instructor)
        assert history.motivation == "Pièce manquante : avis du CSE."
        assert len(mail.outbox) == 1 and mail.outbox[0].to == [dossier.created_by.email]
        assert "Pièce manquante" in mail.outbox[0].body
    else:
        with pytest.raises(workflow.TransitionError, match="n'est pas possible sur un dossier"):
            workflow.apply(dossier, event, instructor, motivation="x")
        assert Dossier.objects.get(pk=dossier.pk).state == state
        assert not DossierEvent.objects.filter(dossier=dossier).exists()


@pytest.mark.parametrize("event", [e for e, (_, _, needs) in ALLOWED.items() if needs])
def test_motivation_is_mandatory_to_refuse_close_or_ask_a_correction(instructor, event):
    dossier = make(ALLOWED[event][0][0])
    with pytest.raises(workflow.TransitionError, match="demande un message ou une motivation"):
        workflow.apply(dossier, event, instructor, motivation="   ")
    assert Dossier.objects.get(pk=dossier.pk).state == ALLOWED[event][0][0]



def test_a_motivation_of_a_megabyte_is_refused_with_the_limit(instructor):
    """A motivation is e-mailed to the applicant and kept in the history: 10 000 characters at most."""
    event = next(e for e, (_, _, needs) in ALLOWED.items() if needs)
    dossier = make(ALLOWED[event][0][0])
    with pytest.raises(workflow.TransitionError, match="La motivation compte 1000000 caractères : 10000 au plus."):
        workflow.apply(dossier, event, instructor, motivation="x" * 1_000_000)
    assert Dossier.objects.get(pk=dossier.pk).state == ALLOWED[event][0][0]

@pytest.mark.parametrize("who", ["applicant", "other_region", "admin_other_region"])
def test_only_the_regions_ars_instructs(db, who):
    dossier = make("en_construction")
    user = {"applicant": lambda: dossier.created_by,
            "other_region": lambda: InstructorFactory(region=region("44")),
            "admin_other_region": lambda: ArsAdminFactory(region=region("44"))}[who]()
    with pytest.raises(PermissionDenied):
        workflow.apply(dossier, "passer_en_instruction", user)
    assert Dossier.objects.get(pk=dossier.pk).state == "en_construction"


def test_admin_of_the_region_and_superuser_instruct(db):
    for user in (ArsAdminFactory(), UserFactory(is_superuser=True, is_staff=True)):
        dossier = make("en_construction")
        assert workflow.apply(dossier, "passer_en_instruction", user).state == "en_instruction"


def test_correction_round_trip_keeps_the_first_filing_date(instructor):
    dossier = make("en_instruction")
    first = dossier.first_filed_at
    workflow.apply(dossier, "demander_correction", instructor, motivation="Joindre le DUERP.")
    dossier.refresh_from_db()
    assert dossier.correction_requested and dossier.is_editable
    with pytest.raises(workflow.TransitionError):
        workflow.apply(dossier, "deposer_corrections", UserFactory())  # not a member
    workflow.apply(dossier, "deposer_corrections", dossier.created_by)
    dossier.refresh_from_db()
    assert not dossier.correction_requested and dossier.first_filed_at == first
    assert dossier.last_filed_at is not None
    with pytest.raises(workflow.TransitionError, match="Aucune correction"):
        workflow.apply(dossier, "deposer_corrections", dossier.created_by)


def test_decision_and_reopening(instructor):
    dossier = workflow.apply(make("en_instruction"), "refuser", instructor, motivation="Hors du champ de l'appel.")
    assert dossier.decided_at and dossier.motivation == "Hors du champ de l'appel."
    dossier = workflow.apply(dossier, "repasser_en_instruction", instructor)
    assert dossier.state == "en_instruction" and dossier.decided_at is None


def test_archive_only_decided_and_archived_dossiers_are_frozen(instructor):
    with pytest.raises(workflow.TransitionError):
        workflow.apply(make("en_instruction"), "archiver", instructor)
    dossier = workflow.apply(make("accepte"), "archiver", instructor)
    assert dossier.archived and dossier.state == "accepte"
    with pytest.raises(workflow.TransitionError, match="archivé"):
        workflow.apply(dossier, "repasser_en_instruction", instructor)
    dossier = workflow.apply(dossier, "desarchiver", instructor)
    assert not dossier.archived


def test_an_archived_dossier_is_not_archived_again_nor_an_unarchived_one_unarchived(instructor):
    """Each archiving is one line of the history: a second click (another tab, the admin, the API) is refused."""
    dossier = workflow.apply(make("refuse"), "archiver", instructor)
    with pytest.raises(workflow.TransitionError, match="Ce dossier est archivé : désarchivez-le d'abord."):
        workflow.apply(dossier, "archiver", instructor)
    assert [t.event for t in workflow.available(dossier, instructor)] == ["desarchiver"]
    dossier = workflow.apply(dossier, "desarchiver", instructor)
    with pytest.raises(workflow.TransitionError, match="Ce dossier n'est pas archivé."):
        workflow.apply(dossier, "desarchiver", instructor)
    assert [t.event for t in workflow.available(dossier, instructor)] == ["repasser_en_instruction", "archiver"]
    assert list(DossierEvent.objects.filter(dossier=dossier).values_list("event", flat=True)) == [
        "archiver", "desarchiver"]


@pytest.mark.parametrize("event, target", [("accepter", "accepte"), ("refuser", "refuse"),
                                           ("classer_sans_suite", "sans_suite")])
def test_mandatory_annotations_block_every_decision(instructor, event, target):
    dossier = make("en_instruction")
    FormVersion.objects.create(call=dossier.call, kind=FormKind.ANNOTATIONS, number=1, schema={"sections": [
        {"key": "avis", "title": "Avis de l'instructeur", "fields": [
            {"key": "avis_instructeur", "type": "textarea", "label": "Avis motivé", "required": True}]}]})
    with pytest.raises(workflow.TransitionError, match="doivent être renseignées avant la décision : Avis motivé."):
        workflow.apply(dossier, event, instructor, motivation="Hors du champ de l'appel.")
    assert Dossier.objects.get(pk=dossier.pk).state == "en_instruction"
    assert not DossierEvent.objects.filter(dossier=dossier).exists()
    Dossier.objects.filter(pk=dossier.pk).update(annotations={"avis_instructeur": "Projet solide."})
    assert workflow.apply(dossier, event, instructor, motivation="Hors du champ de l'appel.").state == target


def test_available_lists_the_buttons_of_the_moment(instructor):
    dossier = make("en_instruction")
    events = [t.event for t in workflow.available(dossier, instructor)]
    assert events == ["demander_correction", "accepter", "refuser", "classer_sans_suite"]
    assert workflow.available(dossier, dossier.created_by) == []


def test_the_admin_applies_events_through_the_state_machine(client, instructor):
    from django.urls import reverse

    ready = make("en_construction")
    already_there = make("en_instruction")
    other_region = make("en_construction")
    from guichet.calls.models import Call

    Call.objects.filter(pk=other_region.call_id).update(region=region("44"))
    client.force_login(instructor)
    url = reverse("admin:dossiers_dossier_changelist")
    page = client.get(url).content.decode()
    assert ready.number in page and other_region.number not in page
    client.post(url, {"action": "event_passer_en_instruction",
                      "_selected_action": [ready.pk, already_there.pk, other_region.pk]})
    assert Dossier.objects.get(pk=ready.pk).state == "en_instruction"
    assert Dossier.objects.get(pk=already_there.pk).state == "en_instruction"  # skipped: already there
    assert Dossier.objects.get(pk=other_region.pk).state == "en_construction"
    assert DossierEvent.objects.filter(dossier=ready, event="passer_en_instruction", actor=instructor).exists()
