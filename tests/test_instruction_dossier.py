"""The instructor's dossier page: who may open it, each decision through the state machine (history,
e-mail), mandatory messages, following, private annotations (saved, blocking the decision, never shown
to the applicant), and the applicant's « Déposer les corrections »."""

from html import escape

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from guichet.api.models import issue_token
from guichet.calls.models import FormKind, FormVersion
from guichet.dossiers import workflow
from guichet.dossiers.models import Dossier, DossierEvent, State
from tests.factories import ArsAdminFactory, DossierFactory, InstructorFactory, UserFactory, region

ANNOTATIONS = {"sections": [{"key": "avis", "title": "Avis de l'instructeur", "fields": [
    {"key": "avis_instructeur", "type": "textarea", "label": "Avis motivé", "required": True},
    {"key": "note", "type": "integer", "label": "Note sur 20", "min": 0, "max": 20},
]}]}
SECRET = "Porteur fragile, à surveiller de près"


def make(state, **extra) -> Dossier:
    dossier = DossierFactory()
    now = timezone.now()
    Dossier.objects.filter(pk=dossier.pk).update(state=state, number=f"2024-32-{dossier.pk:06d}",
                                                 first_filed_at=now, last_filed_at=now,
                                                 answers={"nom_projet": "Ateliers QVCT", "cout": "1200.00"},
                                                 **extra)
    return Dossier.objects.get(pk=dossier.pk)


@pytest.fixture
def instructor(db):
    return InstructorFactory(email="instructeur@ars.sante.fr")


def url(dossier, name="dossier", *args):
    return reverse(f"instruction:{name}", args=[dossier.pk, *args])


# --- Who may open the page -----------------------------------------------------------------------

@pytest.mark.parametrize("who", ["applicant", "other_region", "admin_other_region", "stranger"])
def test_others_get_a_404(client, db, who):
    dossier = make("en_construction")
    user = {"applicant": lambda: dossier.created_by,
            "other_region": lambda: InstructorFactory(region=region("44")),
            "admin_other_region": lambda: ArsAdminFactory(region=region("44")),
            "stranger": lambda: UserFactory()}[who]()
    client.force_login(user)
    assert client.get(url(dossier)).status_code == 404
    assert client.post(url(dossier, "transition", "passer_en_instruction")).status_code == 404
    assert client.post(url(dossier, "follow")).status_code == 404
    assert Dossier.objects.get(pk=dossier.pk).state == "en_construction"


def test_anonymous_is_sent_to_log_in(client, db):
    response = client.get(url(make("en_construction")))
    assert response.status_code == 302 and "/comptes/login/" in response["Location"]


@pytest.mark.parametrize("who", ["instructor", "admin", "superuser"])
def test_region_staff_and_superuser_see_the_page(client, db, who):
    dossier = make("en_construction")
    user = {"instructor": InstructorFactory, "admin": ArsAdminFactory,
            "superuser": lambda: UserFactory(is_superuser=True, is_staff=True)}[who]()
    client.force_login(user)
    response = client.get(url(dossier))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Dossier n° {dossier.number}" in html
    assert "Ateliers QVCT" in html and "En construction" in html
    assert "Passer en instruction" in html


# --- Decisions -----------------------------------------------------------------------------------

@pytest.mark.parametrize("state, event, target, motivation", [
    ("en_construction", "passer_en_instruction", "en_instruction", ""),
    ("en_instruction", "demander_correction", "en_construction", "Joindre l'avis du CSE."),
    ("en_instruction", "accepter", "accepte", ""),
    ("en_instruction", "refuser", "refuse", "Hors du champ de l'appel."),
    ("en_instruction", "classer_sans_suite", "sans_suite", "Désistement du porteur."),
    ("accepte", "repasser_en_instruction", "en_instruction", ""),
])
def test_each_button_applies_the_event(client, instructor, state, event, target, motivation,
                                       django_capture_on_commit_callbacks):
    dossier = make(state)
    client.force_login(instructor)
    page = client.get(url(dossier)).content.decode()
    assert f'href="{url(dossier, "decide", event)}"' in page  # in the « Instruire » menu
    page = client.get(url(dossier, "decide", event)).content.decode()
    assert f'action="{url(dossier, "transition", event)}"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(dossier, "transition", event), {f"{event}-motivation": motivation}, follow=True)
    assert response.status_code == 200
    assert Dossier.objects.get(pk=dossier.pk).state == target
    history = DossierEvent.objects.get(dossier=dossier, event=event)
    assert (history.actor, history.from_state, history.to_state, history.motivation) == (
        instructor, state, target, motivation)
    assert workflow.TRANSITIONS[event].done in response.content.decode()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [dossier.created_by.email]
    if motivation:
        assert motivation in mail.outbox[0].body
        assert escape(motivation) in response.content.decode()  # in the history


def test_archive_and_unarchive(client, instructor):
    dossier = make("accepte")
    client.force_login(instructor)
    client.post(url(dossier, "transition", "archiver"))
    assert Dossier.objects.get(pk=dossier.pk).archived
    assert "Désarchiver" in client.get(url(dossier)).content.decode()
    client.post(url(dossier, "transition", "desarchiver"))
    assert not Dossier.objects.get(pk=dossier.pk).archived


@pytest.mark.parametrize("event", ["demander_correction", "refuser", "classer_sans_suite"])
def test_missing_motivation_is_reported_at_the_field(client, instructor, event):
    dossier = make("en_instruction")
    client.force_login(instructor)
    response = client.post(url(dossier, "transition", event), {f"{event}-motivation": "   "})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="motivation-' + event + '-messages"' in html and "fr-input-group--error" in html
    assert escape("n'a pas été fait") in html
    assert Dossier.objects.get(pk=dossier.pk).state == "en_instruction"
    assert not DossierEvent.objects.filter(dossier=dossier).exists()


def test_motivation_is_kept_when_the_decision_is_refused(client, instructor):
    dossier = make("en_instruction")
    FormVersion.objects.create(call=dossier.call, kind=FormKind.ANNOTATIONS, number=1, schema=ANNOTATIONS)
    client.force_login(instructor)
    response = client.post(url(dossier, "transition", "refuser"), {"refuser-motivation": "Budget hors plafond."})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Budget hors plafond.</textarea>" in html and 'aria-invalid="true"' in html
    assert "Les annotations privées obligatoires doivent être renseignées" in html
    assert Dossier.objects.get(pk=dossier.pk).state == "en_instruction"


def test_refused_event_is_explained_in_french(client, instructor):
    dossier = make("en_construction")
    client.force_login(instructor)
    response = client.post(url(dossier, "transition", "accepter"), follow=True)
    assert escape("n'est pas possible sur un dossier « En construction »") in response.content.decode()
    assert Dossier.objects.get(pk=dossier.pk).state == "en_construction"


def test_applicant_events_are_not_buttons_here(client, instructor):
    dossier = make("en_construction", correction_requested=True)
    client.force_login(instructor)
    assert client.post(url(dossier, "transition", "deposer_corrections")).status_code == 404
    assert client.post(url(dossier, "transition", "inconnu")).status_code == 404


# --- Following -----------------------------------------------------------------------------------

def test_follow_and_unfollow(client, instructor):
    dossier = make("en_construction")
    client.force_login(instructor)
    assert "Suivre" in client.get(url(dossier)).content.decode()
    response = client.post(url(dossier, "follow"), follow=True)
    assert list(dossier.followers.all()) == [instructor]
    assert "Ne plus suivre" in response.content.decode()
    client.post(url(dossier, "follow"))
    assert not dossier.followers.exists()


# --- Private annotations -------------------------------------------------------------------------

@pytest.fixture
def annotated(db):
    dossier = make("en_instruction")
    FormVersion.objects.create(call=dossier.call, kind=FormKind.ANNOTATIONS, number=1, schema=ANNOTATIONS)
    return dossier


def test_mandatory_annotation_blocks_the_decision_then_is_saved(client, instructor, annotated):
    client.force_login(instructor)
    html = client.get(url(annotated)).content.decode()
    assert "Annotations privées" in html and 'id="champ-avis_instructeur"' in html
    response = client.post(url(annotated, "transition", "accepter"), follow=True)
    assert "Les annotations privées obligatoires doivent être renseignées" in response.content.decode()
    assert "Avis motivé" in response.content.decode()
    assert Dossier.objects.get(pk=annotated.pk).state == "en_instruction"

    response = client.post(url(annotated, "annotations", "avis"), {"avis_instructeur": SECRET, "note": 15})
    assert response.status_code == 302
    assert Dossier.objects.get(pk=annotated.pk).annotations == {"avis_instructeur": SECRET, "note": 15}
    assert SECRET in client.get(url(annotated)).content.decode()
    client.post(url(annotated, "transition", "accepter"))
    assert Dossier.objects.get(pk=annotated.pk).state == "accepte"


def test_invalid_annotation_is_kept_and_reported(client, instructor, annotated):
    client.force_login(instructor)
    response = client.post(url(annotated, "annotations", "avis"), {"avis_instructeur": SECRET, "note": "25"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "inférieure ou égale à 20" in html and 'value="25"' in html
    assert Dossier.objects.get(pk=annotated.pk).annotations == {"avis_instructeur": SECRET}


def test_annotations_are_not_for_others(client, annotated):
    client.force_login(annotated.created_by)
    assert client.post(url(annotated, "annotations", "avis"), {"avis_instructeur": "x"}).status_code == 404
    client.force_login(InstructorFactory(region=region("44")))
    assert client.post(url(annotated, "annotations", "avis"), {"avis_instructeur": "x"}).status_code == 404
    assert Dossier.objects.get(pk=annotated.pk).annotations == {}


def test_annotations_never_reach_the_applicant(client, instructor, annotated):
    Dossier.objects.filter(pk=annotated.pk).update(annotations={"avis_instructeur": SECRET})
    client.force_login(annotated.created_by)
    summary = client.get(reverse("dossiers:summary", args=[annotated.pk])).content.decode()
    assert "Ateliers QVCT" in summary and SECRET not in summary and "Annotations" not in summary
    file_page = client.get(reverse("dossiers:file", args=[annotated.pk])).content.decode()
    assert SECRET not in file_page
    # The API (ARS tokens only) does not carry them either.
    token = issue_token(instructor, "Outil")[1]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    for path in (f"/api/v1/dossiers/{annotated.number}", f"/api/v1/dossiers/{annotated.number}/history"):
        response = client.get(path, **headers)
        assert response.status_code in (200, 404) and SECRET not in response.content.decode()


# --- The applicant files the corrections -----------------------------------------------------------

def test_applicant_files_corrections(client, instructor, django_capture_on_commit_callbacks):
    dossier = make("en_instruction")
    dossier.followers.add(instructor)
    workflow.apply(dossier, "demander_correction", instructor, motivation="Joindre le DUERP.")
    client.force_login(dossier.created_by)
    page = client.get(reverse("dossiers:file", args=[dossier.pk])).content.decode()
    assert "Déposer les corrections" in page and url(dossier, "file_corrections") in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(dossier, "file_corrections"), follow=True)
    assert "Vos corrections ont été déposées" in response.content.decode()
    dossier.refresh_from_db()
    assert not dossier.correction_requested and dossier.state == "en_construction"
    assert DossierEvent.objects.filter(dossier=dossier, event="deposer_corrections",
                                       actor=dossier.created_by).exists()
    assert [m.to for m in mail.outbox] == [[instructor.email]]
    assert "Déposer les corrections" not in client.get(reverse("dossiers:file", args=[dossier.pk])).content.decode()
    response = client.post(url(dossier, "file_corrections"), follow=True)
    assert escape("Aucune correction n'a été demandée") in response.content.decode()


def test_only_members_file_corrections(client, instructor):
    dossier = make("en_construction", correction_requested=True)
    client.force_login(UserFactory())
    assert client.post(url(dossier, "file_corrections")).status_code == 404
    client.force_login(instructor)
    response = client.post(url(dossier, "file_corrections"), follow=True)
    assert "Seul un membre du dossier" in response.content.decode()
    assert Dossier.objects.get(pk=dossier.pk).correction_requested
    assert State.EN_CONSTRUCTION == Dossier.objects.get(pk=dossier.pk).state


def test_a_decision_may_come_with_a_document_sent_in_the_messagerie(client, db, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from guichet.dossiers.models import Dossier
    from guichet.messaging.models import Message, MessageAttachment
    from tests.factories import DossierFactory, InstructorFactory

    dossier = DossierFactory()
    dossier.state, dossier.number = "en_instruction", f"2024-32-{dossier.pk:06d}"
    dossier.save()
    client.force_login(InstructorFactory())
    letter = SimpleUploadedFile("Lettre de refus.pdf", b"%PDF-1.4 refus")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("instruction:transition", args=[dossier.pk, "refuser"]),
                               {"refuser-motivation": "Projet hors du champ de l'appel.", "refuser-file": letter})
    assert response.status_code == 302
    assert Dossier.objects.get(pk=dossier.pk).state == "refuse"
    message = Message.objects.get(dossier=dossier, kind="state_change")
    assert "hors du champ" in message.body
    assert MessageAttachment.objects.get(message=message).original_name == "Lettre de refus.pdf"


def test_taking_the_dossier_back_into_instruction_withdraws_the_correction_request(client, instructor):
    """The instructor asked for a correction, then takes the dossier back into instruction without waiting (the
    piece came by mail): the applicant is no longer asked to file corrections, nor the page flagged."""
    dossier = make("en_instruction")
    workflow.apply(dossier, "demander_correction", instructor, motivation="Joindre le DUERP.")
    client.force_login(instructor)
    assert "Correction demandée" in client.get(url(dossier)).content.decode()
    workflow.apply(dossier, "passer_en_instruction", instructor)
    assert "Correction demandée" not in client.get(url(dossier)).content.decode()
    client.force_login(dossier.created_by)
    page = client.get(reverse("dossiers:file", args=[dossier.pk])).content.decode()
    assert "Déposer les corrections" not in page and "demandé une correction" not in page


# --- One « Instruire » menu, one page per decision --------------------------------------------------------

def test_the_side_column_offers_one_instruire_menu_of_links_not_four_forms(client, instructor):
    dossier = make("en_instruction")
    client.force_login(instructor)
    page = client.get(url(dossier)).content.decode()
    assert 'id="instruire"' in page and ">Instruire<" in page
    for event in ("demander_correction", "accepter", "refuser", "classer_sans_suite"):
        assert f'href="{url(dossier, "decide", event)}"' in page
        assert f'action="{url(dossier, "transition", event)}"' not in page
    assert 'type="file"' not in page and "-motivation" not in page
    assert "guichet/instruire-menu.js" in page  # the menu button, from a static file (no inline script)


@pytest.mark.parametrize("event, required", [("refuser", True), ("accepter", False), ("demander_correction", True)])
def test_a_decision_page_asks_for_motivation_document_and_confirmation(client, instructor, event, required):
    dossier = make("en_instruction")
    client.force_login(instructor)
    response = client.get(url(dossier, "decide", event))
    assert response.status_code == 200
    page = response.content.decode()
    label = workflow.TRANSITIONS[event].label
    assert f'name="{event}-motivation"' in page and f'name="{event}-file"' in page
    assert ('(obligatoire)' in page) == required
    assert f'action="{url(dossier, "transition", event)}"' in page and 'enctype="multipart/form-data"' in page
    assert f"Confirmer : {label}" in page and f'href="{url(dossier)}"' in page  # confirm, or go back
    assert f"Dossier n° {dossier.number}" in page


def test_a_decision_refused_at_its_field_comes_back_on_its_own_page(client, instructor):
    dossier = make("en_instruction")
    client.force_login(instructor)
    response = client.post(url(dossier, "transition", "refuser"), {"refuser-motivation": " "})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Confirmer : Refuser" in page and "accepter-motivation" not in page


def test_a_decision_not_possible_now_is_explained(client, instructor):
    dossier = make("en_construction")
    client.force_login(instructor)
    response = client.get(url(dossier, "decide", "accepter"), follow=True)
    assert escape("n'est pas possible sur un dossier « En construction »") in response.content.decode()
    assert client.get(url(dossier, "decide", "deposer_corrections")).status_code == 404
    assert client.get(url(dossier, "decide", "inconnu")).status_code == 404
    client.force_login(InstructorFactory(region=region("44")))
    assert client.get(url(dossier, "decide", "passer_en_instruction")).status_code == 404


def test_the_decision_keeps_the_list_the_instructor_came_from(client, instructor):
    dossier = make("en_construction")
    client.force_login(instructor)
    query = "onglet=tous&tri=-montant&q=ateliers"
    page = client.get(url(dossier) + "?" + query).content.decode()
    decide = url(dossier, "decide", "passer_en_instruction") + "?" + escape(query)
    assert f'href="{decide}"' in page
    page = client.get(url(dossier, "decide", "passer_en_instruction") + "?" + query).content.decode()
    assert f'action="{url(dossier, "transition", "passer_en_instruction")}?{escape(query)}"' in page
    response = client.post(url(dossier, "transition", "passer_en_instruction") + "?" + query)
    assert response.status_code == 302 and response["Location"] == url(dossier) + "?" + query
    assert Dossier.objects.get(pk=dossier.pk).state == "en_instruction"
