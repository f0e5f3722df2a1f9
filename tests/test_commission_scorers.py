"""Who scores a dossier: the region's ARS, the members of a commission session whose agenda holds it
(whatever their role; they see the session's dossiers and nothing else), and the experts consulted,
through their personal link (their marks count as one scorer each, until the dossier leaves instruction)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.urls import reverse

from guichet.commission import arbitration, scoring
from guichet.commission.models import Criterion, Score
from guichet.dossiers.models import Attachment, Dossier, State
from guichet.experts import services as experts
from tests.factories import PARIS, CallFactory, DossierFactory, InstructorFactory, UserFactory, region

SCHEMA = {"sections": [{"key": "projet", "title": "Le projet", "fields": [
    {"key": "nom_projet", "type": "text", "label": "Nom du projet", "required": True},
    {"key": "devis", "type": "file", "label": "Devis", "allowed_types": ["pdf"]},
]}]}


def in_instruction(call) -> Dossier:
    d = DossierFactory(call=call)
    Dossier.objects.filter(pk=d.pk).update(state=State.EN_INSTRUCTION, number=f"2024-32-{d.pk:06d}",
                                           answers={"nom_projet": "Ateliers de prévention des TMS"})
    return Dossier.objects.get(pk=d.pk)


def attach(dossier, name="devis.pdf") -> Attachment:
    item = Attachment.objects.create(dossier=dossier, field_path="devis", file=ContentFile(b"%PDF-1.4", name=name),
                                     original_name=name, size=8, scan_status="safe")
    Dossier.objects.filter(pk=dossier.pk).update(answers={**dossier.answers, "devis": {
        "attachment": item.pk, "name": name, "size": 8}})
    dossier.refresh_from_db()
    return item


@pytest.fixture
def setting(db):
    """A call with a grid of two criteria, an instructor, a session with one dossier on its agenda and a
    union representative (an applicant-role account) sitting on it; another dossier stays off the agenda."""
    call = CallFactory(schema=SCHEMA)
    diagnostic = Criterion.objects.create(call=call, label="Qualité du diagnostic", weight=Decimal("2"), scale_max=5,
                                          order=1)
    dialogue = Criterion.objects.create(call=call, label="Dialogue social", weight=Decimal("1"), scale_max=10,
                                        order=2)
    instructor = InstructorFactory()
    session = arbitration.create_session(call, instructor, title="Commission du 12 mars",
                                         held_on=dt.datetime(2025, 3, 12, 14, tzinfo=PARIS), place="Lille")
    member = UserFactory(email="representant@syndicat.fr")
    arbitration.add_member(session, instructor, member, "membre", "Organisation syndicale")
    on_agenda, off_agenda = in_instruction(call), in_instruction(call)
    arbitration.add_to_agenda(session, [on_agenda], instructor)
    return {"call": call, "criteria": (diagnostic, dialogue), "instructor": instructor, "session": session,
            "member": member, "on": on_agenda, "off": off_agenda}


# --- commission members ------------------------------------------------------------------------

def test_a_member_scores_a_dossier_on_the_agenda_and_counts_in_the_mean_and_spread(client, setting):
    diagnostic, dialogue = setting["criteria"]
    dossier = setting["on"]
    scoring.record(dossier, setting["instructor"], {diagnostic.pk: 5, dialogue.pk: 10})  # 20
    client.force_login(setting["member"])
    url = reverse("commission:grid", args=[dossier.pk])
    page = client.get(url)
    assert page.status_code == 200 and "Notation du dossier" in page.content.decode()
    response = client.post(url, {f"note-{diagnostic.pk}": "3", f"note-{dialogue.pk}": "4"})  # 10.67
    assert response.status_code == 302
    assert Score.objects.filter(dossier=dossier, scorer=setting["member"]).count() == 2
    score = scoring.scores_of([dossier], [diagnostic, dialogue])[dossier.pk]
    assert score.marks == {setting["instructor"].pk: Decimal("20.00"), setting["member"].pk: Decimal("10.67")}
    assert (score.mean, score.spread) == (Decimal("15.34"), Decimal("9.33"))
    body = client.get(url).content.decode()
    assert "Note moyenne : <strong>15,34 / 20</strong>" in body and "votre note : 10,67 / 20" in body


def test_a_members_grid_links_to_the_commission_page_not_to_the_ars_pages(client, setting):
    dossier = setting["on"]
    client.force_login(setting["member"])
    body = client.get(reverse("commission:grid", args=[dossier.pk])).content.decode()
    assert reverse("commission:member_dossier", args=[dossier.pk]) in body
    for ars_only in (reverse("instruction:dossier", args=[dossier.pk]), reverse("messaging:thread", args=[dossier.pk]),
                     reverse("experts:dossier", args=[dossier.pk]), "/instruction/"):
        assert ars_only not in body
    client.force_login(setting["instructor"])
    assert reverse("instruction:dossier", args=[dossier.pk]) in client.get(
        reverse("commission:grid", args=[dossier.pk])).content.decode()


def test_the_commission_page_shows_the_answers_and_files_and_nothing_private(client, setting):
    dossier = setting["on"]
    devis = attach(dossier)
    Dossier.objects.filter(pk=dossier.pk).update(annotations={"avis_interne": "Annotation privée de l'ARS"})
    experts.answer(experts.ask(dossier, setting["instructor"], email="expert@exemple.fr", question="Q ?"),
                   text="Avis d'expert réservé à l'ARS")
    client.force_login(setting["member"])
    response = client.get(reverse("commission:member_dossier", args=[dossier.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Dossier n° " + dossier.number + " en commission" in body and "Ateliers de prévention des TMS" in body
    download = reverse("dossiers:attachment", args=[dossier.pk, devis.pk])
    assert download in body
    assert "Annotation privée" not in body and "Avis d'expert" not in body
    assert reverse("messaging:thread", args=[dossier.pk]) not in body
    assert client.get(download).status_code == 200


def test_a_member_reaches_only_the_dossiers_on_their_sessions_agenda(client, setting):
    other = setting["off"]
    other_devis = attach(other)
    client.force_login(setting["member"])
    diagnostic, _ = setting["criteria"]
    assert client.get(reverse("commission:grid", args=[other.pk])).status_code == 404
    assert client.post(reverse("commission:grid", args=[other.pk]), {f"note-{diagnostic.pk}": "3"}).status_code == 404
    assert client.get(reverse("commission:member_dossier", args=[other.pk])).status_code == 404
    assert client.get(reverse("dossiers:attachment", args=[other.pk, other_devis.pk])).status_code == 404
    with pytest.raises(PermissionDenied):
        scoring.record(other, setting["member"], {diagnostic.pk: 3})
    assert not other.scores.exists()


@pytest.mark.parametrize("page", ["instruction", "messaging", "annotations", "experts", "ranking", "summary", "zip"])
def test_a_member_never_opens_the_ars_pages_of_a_dossier_on_the_agenda(client, setting, page):
    dossier = setting["on"]
    client.force_login(setting["member"])
    if page == "annotations":
        response = client.post(reverse("instruction:annotations", args=[dossier.pk, "instruction"]), {})
    else:
        response = client.get({
            "instruction": reverse("instruction:dossier", args=[dossier.pk]),
            "messaging": reverse("messaging:thread", args=[dossier.pk]),
            "experts": reverse("experts:dossier", args=[dossier.pk]),
            "ranking": reverse("commission:ranking", args=[setting["call"].slug]),
            "summary": reverse("dossiers:summary", args=[dossier.pk]),
            "zip": reverse("dossiers:zip", args=[dossier.pk]),
        }[page])
    assert response.status_code in (403, 404)


@pytest.mark.parametrize("who", ["other_region", "stranger"])
def test_an_outsider_gets_404_on_the_grid_the_commission_page_and_the_files(client, setting, who):
    dossier = setting["on"]
    devis = attach(dossier)
    client.force_login(InstructorFactory(region=region("44")) if who == "other_region" else UserFactory())
    diagnostic, _ = setting["criteria"]
    assert client.get(reverse("commission:grid", args=[dossier.pk])).status_code == 404
    assert client.post(reverse("commission:grid", args=[dossier.pk]), {f"note-{diagnostic.pk}": "3"}).status_code \
        == 404
    assert client.get(reverse("commission:member_dossier", args=[dossier.pk])).status_code == 404
    assert client.get(reverse("dossiers:attachment", args=[dossier.pk, devis.pk])).status_code == 404
    assert f'href="{reverse("commission:my_sessions")}"' not in client.get(reverse("home")).content.decode()
    assert not dossier.scores.exists()


def test_a_bad_mark_is_explained_in_french_at_its_field(client, setting):
    diagnostic, dialogue = setting["criteria"]
    client.force_login(setting["member"])
    response = client.post(reverse("commission:grid", args=[setting["on"].pk]),
                           {f"note-{diagnostic.pk}": "7", f"note-{dialogue.pk}": "douze"})
    assert response.status_code == 400
    body = response.content.decode()
    assert body.count('aria-invalid="true"') == 2
    assert (f'id="note-{diagnostic.pk}-messages" aria-live="polite"><p class="fr-message fr-message--error">'
            "Saisissez un nombre entier de 0 à 5.</p>") in body
    assert "Saisissez un nombre entier de 0 à 10." in body and 'value="douze"' in body
    assert not Score.objects.exists()


def test_members_score_only_while_the_dossier_is_in_instruction(client, setting):
    diagnostic, _ = setting["criteria"]
    dossier = setting["on"]
    Dossier.objects.filter(pk=dossier.pk).update(state=State.ACCEPTE)
    dossier.refresh_from_db()
    with pytest.raises(ValidationError, match="close"):
        scoring.record(dossier, setting["member"], {diagnostic.pk: 3})
    client.force_login(setting["member"])
    body = client.get(reverse("commission:grid", args=[dossier.pk])).content.decode()
    assert "La notation de ce dossier est close" in body and f'name="note-{diagnostic.pk}"' not in body


def test_my_sessions_lists_the_seats_dossiers_and_marks_and_the_menu_links_to_it(client, setting):
    diagnostic, dialogue = setting["criteria"]
    dossier = setting["on"]
    scoring.record(dossier, setting["member"], {diagnostic.pk: 5, dialogue.pk: 10})
    client.force_login(setting["member"])
    home = client.get(reverse("home")).content.decode()
    assert reverse("commission:my_sessions") in home and "Mes séances" in home
    body = client.get(reverse("commission:my_sessions")).content.decode()
    assert "Commission du 12 mars" in body and "Organisation syndicale" in body
    assert reverse("commission:grid", args=[dossier.pk]) in body
    assert reverse("commission:member_dossier", args=[dossier.pk]) in body
    assert reverse("commission:session", args=[setting["session"].pk]) in body
    assert client.get(reverse("commission:session", args=[setting["session"].pk])).status_code == 200
    assert setting["off"].number not in body and "20,00" in body
    client.force_login(setting["instructor"])  # no seat: no menu entry, an empty list
    assert reverse("commission:my_sessions") not in client.get(reverse("home")).content.decode()
    assert "Vous ne siégez dans aucune séance" in client.get(reverse("commission:my_sessions")).content.decode()


# --- experts -----------------------------------------------------------------------------------

@pytest.fixture
def expert(setting):
    return experts.ask(setting["on"], setting["instructor"], email="expert@exemple.fr",
                       question="Le diagnostic est-il solide ?")


def test_an_expert_scores_through_the_link_and_counts_in_the_ranking(client, setting, expert):
    diagnostic, dialogue = setting["criteria"]
    dossier = setting["on"]
    url = reverse("experts:answer", args=[expert.token])
    page = client.get(url).content.decode()
    assert "Votre notation du dossier" in page and reverse("experts:score", args=[expert.token]) in page
    response = client.post(reverse("experts:score", args=[expert.token]),
                           {f"note-{diagnostic.pk}": "4", f"note-{dialogue.pk}": "5"})  # 14
    assert response.status_code == 302
    assert Score.objects.filter(expert_request=expert, scorer=None).count() == 2
    scoring.record(dossier, setting["instructor"], {diagnostic.pk: 5, dialogue.pk: 10})  # 20
    ranked = {s.dossier_id: s for s in scoring.ranking(setting["call"])}
    assert ranked[dossier.pk].marks == {f"e{expert.pk}": Decimal("14.00"), setting["instructor"].pk: Decimal("20.00")}
    assert (ranked[dossier.pk].mean, ranked[dossier.pk].rank) == (Decimal("17.00"), 1)
    assert "Votre note : <strong>14,00 / 20</strong>" in client.get(url).content.decode()
    # Answered, the expert may still change their grid while the dossier is in instruction.
    experts.answer(expert, text="Avis favorable.")
    client.post(reverse("experts:score", args=[expert.token]),
                {f"note-{diagnostic.pk}": "5", f"note-{dialogue.pk}": "10"})
    assert scoring.scores_of([dossier], [diagnostic, dialogue])[dossier.pk].mean == Decimal("20.00")
    client.force_login(setting["instructor"])
    ranking = client.get(reverse("commission:ranking", args=[setting["call"].slug])).content.decode()
    assert "20,00" in ranking


def test_an_experts_bad_mark_is_explained_at_its_field(client, setting, expert):
    diagnostic, _ = setting["criteria"]
    response = client.post(reverse("experts:score", args=[expert.token]), {f"note-{diagnostic.pk}": "-1"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Saisissez un nombre entier de 0 à 5." in body and 'aria-invalid="true"' in body
    assert not Score.objects.exists()


def test_a_revoked_expert_can_no_longer_score(client, setting, expert):
    diagnostic, _ = setting["criteria"]
    experts.revoke(expert, setting["instructor"])
    expert.refresh_from_db()
    assert client.post(reverse("experts:score", args=[expert.token]), {f"note-{diagnostic.pk}": "3"}).status_code \
        == 404
    with pytest.raises(PermissionDenied, match="annulée"):
        scoring.record(setting["on"], expert, {diagnostic.pk: 3})
    assert not Score.objects.exists()


def test_an_expert_scores_only_that_dossier_and_only_in_instruction(client, setting, expert):
    diagnostic, _ = setting["criteria"]
    with pytest.raises(PermissionDenied):
        scoring.record(setting["off"], expert, {diagnostic.pk: 3})
    Dossier.objects.filter(pk=setting["on"].pk).update(state=State.REFUSE)
    response = client.post(reverse("experts:score", args=[expert.token]), {f"note-{diagnostic.pk}": "3"},
                           follow=True)
    body = response.content.decode()
    assert "La notation de ce dossier est close" in body and f'name="note-{diagnostic.pk}"' not in body
    Dossier.objects.filter(pk=setting["on"].pk).update(state=State.EN_CONSTRUCTION)
    body = client.get(reverse("experts:answer", args=[expert.token])).content.decode()
    assert "La notation de ce dossier s&#x27;ouvrira quand il passera en instruction." in body
    assert not Score.objects.exists()


def test_a_score_belongs_to_exactly_one_user_or_expert(setting, expert):
    diagnostic, _ = setting["criteria"]
    dossier = setting["on"]
    for owner in ({}, {"scorer": setting["member"], "expert_request": expert}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Score.objects.create(dossier=dossier, criterion=diagnostic, value=3, **owner)
    Score.objects.create(dossier=dossier, criterion=diagnostic, value=3, expert_request=expert)
    with pytest.raises(IntegrityError), transaction.atomic():
        Score.objects.create(dossier=dossier, criterion=diagnostic, value=4, expert_request=expert)
