"""The API takes instruction events through the same state machine as the web page."""

import pytest
from django.core import mail

from guichet.api.models import issue_token
from guichet.dossiers.models import Dossier, DossierEvent
from tests.factories import DossierFactory, InstructorFactory, region


@pytest.fixture
def instructor(db):
    return InstructorFactory()


@pytest.fixture
def dossier(db):
    d = DossierFactory()
    Dossier.objects.filter(pk=d.pk).update(state="en_construction", number=f"2024-32-{d.pk:06d}")
    return Dossier.objects.get(pk=d.pk)


def call(client, token, method, url, **kwargs):
    return getattr(client, method)(f"/api/v1{url}", HTTP_AUTHORIZATION=f"Bearer {token}",
                                   content_type="application/json", **kwargs)


def test_transition_through_the_api(client, instructor, dossier, django_capture_on_commit_callbacks):
    _, token = issue_token(instructor, "outil", write=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = call(client, token, "post", f"/dossiers/{dossier.number}/transitions",
                        data={"event": "passer_en_instruction"})
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "en_instruction"
    assert "accepter" in response.json()["available_events"]
    assert DossierEvent.objects.get(dossier=dossier, event="passer_en_instruction").actor == instructor
    assert mail.outbox and mail.outbox[0].to == [dossier.created_by.email]
    history = call(client, token, "get", f"/dossiers/{dossier.number}/history").json()
    assert history[-1]["event"] == "passer_en_instruction" and history[-1]["actor"] == instructor.email


def test_refused_transitions_say_why(client, instructor, dossier):
    _, token = issue_token(instructor, "outil", write=True)
    response = call(client, token, "post", f"/dossiers/{dossier.number}/transitions", data={"event": "accepter"})
    assert response.status_code == 409 and "n'est pas possible" in response.json()["detail"]
    Dossier.objects.filter(pk=dossier.pk).update(state="en_instruction")
    response = call(client, token, "post", f"/dossiers/{dossier.number}/transitions", data={"event": "refuser"})
    assert response.status_code == 409 and "motivation" in response.json()["detail"]
    assert Dossier.objects.get(pk=dossier.pk).state == "en_instruction"


def test_read_only_tokens_and_other_regions_cannot_act(client, instructor, dossier):
    _, read_only = issue_token(instructor, "lecture")
    response = call(client, read_only, "post", f"/dossiers/{dossier.number}/transitions",
                    data={"event": "passer_en_instruction"})
    assert response.status_code == 403
    _, other = issue_token(InstructorFactory(region=region("44")), "autre", write=True)
    response = call(client, other, "post", f"/dossiers/{dossier.number}/transitions",
                    data={"event": "passer_en_instruction"})
    assert response.status_code == 404
    assert Dossier.objects.get(pk=dossier.pk).state == "en_construction"


def test_workspace_through_the_api_with_the_same_filters(client, instructor):
    from guichet.establishments.models import Establishment
    from tests.factories import EstablishmentFactory

    call = DossierFactory().call
    medico = Establishment.objects.create(finess="680000007", name="EHPAD DE COLMAR", sector="medico_social",
                                          legal_status="public", department="68", region=region("44"))
    made = []
    for i in range(7):
        d = DossierFactory(call=call, establishment=medico if i % 2 else EstablishmentFactory())
        d.state, d.number = "en_construction", f"2024-32-{d.pk:06d}"
        d.first_filed_at = d.created_at
        d.save()
        made.append(d)
    _, token = issue_token(instructor, "outil")
    seen, cursor = [], ""
    while True:
        response = call_json(client, token, f"/calls/{call.slug}/workspace?tab=tous&limit=3&cursor={cursor}")
        assert response.status_code == 200, response.content
        body = response.json()
        seen += [item["number"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(d.number for d in made)
    assert body["counts"]["tous"] == 7
    body = call_json(client, token, f"/calls/{call.slug}/workspace?tab=tous&sector=medico_social").json()
    assert {item["establishment"] for item in body["items"]} == {"EHPAD DE COLMAR"} and len(body["items"]) == 3
    assert call_json(client, token, f"/calls/{call.slug}/workspace?tab=inconnu").status_code == 422


def call_json(client, token, url):
    return client.get(f"/api/v1{url}", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_workspace_api_filters_on_the_instructor_group(client, instructor):
    from guichet.instruction.models import DossierGroup, InstructorGroup

    call = DossierFactory().call
    group = InstructorGroup.objects.create(call=call, name="Nord")
    dossiers = []
    for _ in range(3):
        d = DossierFactory(call=call)
        d.state, d.number = "en_construction", f"2024-32-{d.pk:06d}"
        d.save()
        dossiers.append(d)
    DossierGroup.objects.create(dossier=dossiers[0], group=group)
    _, token = issue_token(instructor, "outil")
    body = call_json(client, token, f"/calls/{call.slug}/workspace?tab=tous&group={group.pk}").json()
    assert [i["number"] for i in body["items"]] == [dossiers[0].number]
    body = call_json(client, token, f"/calls/{call.slug}/workspace?tab=tous&group=0").json()
    assert sorted(i["number"] for i in body["items"]) == sorted(d.number for d in dossiers[1:])


@pytest.mark.parametrize("query", ["label=99999999999999999999", "group=99999999999999999999", "group=",
                                   "label=", "label=-1", "limit=99999999999999999999"])
def test_workspace_api_refuses_out_of_range_numbers_in_french(client, instructor, query):
    """A number no database id can be was an OverflowError (500) on SQLite: it is a 4xx in French."""
    call = DossierFactory().call
    _, token = issue_token(instructor, "outil")
    response = call_json(client, token, f"/calls/{call.slug}/workspace?tab=tous&{query}")
    assert response.status_code in (400, 422), response.content
    body = response.json()
    text = body["detail"] if isinstance(body["detail"], str) else str(body)
    assert any(word in text for word in ("invalide", "compris", "entier", "identifiant")), text
