# ruff: noqa: F811  (pytest fixtures imported from tests.test_workspace, used as arguments)
"""The « Documents attendus » filter of the workspace (web page and API), its constant query count, and the
instructor's dossier page: links to the messagerie and the expert opinions, the awaited documents."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from guichet.api.models import issue_token
from guichet.experts.models import ExpertRequest
from guichet.instruction import workspace
from guichet.messaging import services
from guichet.messaging.models import AwaitedDocument, Message
from tests.test_workspace import call, ids, instructor, many, world  # noqa: F401  (fixtures shared with the workspace tests)

pytestmark = pytest.mark.django_db


@pytest.fixture
def awaited(world):
    """d0: CSE opinion still awaited; d1: received; d3: one received, one awaited; d2, d4: none."""
    d = world["dossiers"]
    now = timezone.now()
    AwaitedDocument.objects.create(dossier=d[0], label="Avis du CSE", part=3)
    AwaitedDocument.objects.create(dossier=d[1], label="Avis du CSE", part=3, received_at=now)
    AwaitedDocument.objects.create(dossier=d[3], label="Avis du CSE", part=3, received_at=now)
    AwaitedDocument.objects.create(dossier=d[3], label="Attestation", part=2)
    return d


def test_filter_yes_no_and_counts(awaited, call, instructor):
    d = awaited
    assert ids(call, instructor, "tous", awaited=True) == [d[0].pk, d[3].pk]
    assert ids(call, instructor, "tous", awaited=False) == [d[1].pk, d[2].pk, d[4].pk]
    assert ids(call, instructor, "tous", awaited=None) == [x.pk for x in d]
    assert ids(call, instructor, "tous", awaited=True, state="en_construction") == [d[0].pk]
    counts = workspace.tab_counts(call, instructor, workspace.Filters(awaited=True))
    assert counts["tous"] == 2 and counts["a_traiter"] == 1 and counts["traites"] == 1
    # Receiving the last awaited document takes the dossier out of « oui ».
    AwaitedDocument.objects.filter(dossier=d[0]).update(received_at=timezone.now())
    assert ids(call, instructor, "tous", awaited=True) == [d[3].pk]


def test_filter_on_the_page(awaited, call, instructor, client):
    client.force_login(instructor)
    url = reverse("instruction:workspace", args=[call.slug])
    html = client.get(url, {"onglet": "tous"}).content.decode()
    assert '<label class="fr-label" for="id_attendus">Documents attendus' in html
    html = client.get(url, {"onglet": "tous", "attendus": "oui"}).content.decode()
    shown = [x for x in awaited if x.number in html]
    assert shown == [awaited[0], awaited[3]]
    html = client.get(url, {"onglet": "tous", "attendus": "non"}).content.decode()
    assert [x for x in awaited if x.number in html] == [awaited[1], awaited[2], awaited[4]]
    html = client.get(url, {"onglet": "tous", "attendus": "peut-être"}).content.decode()
    assert "fr-select-group--error" in html


def test_query_count_unchanged_by_the_filter(many, call, instructor, client, django_assert_num_queries):
    for d in many[::3]:
        AwaitedDocument.objects.create(dossier=d, label="Avis du CSE")
    client.force_login(instructor)
    url = reverse("instruction:workspace", args=[call.slug])
    with CaptureQueriesContext(connection) as plain:
        assert client.get(url, {"onglet": "tous"}).status_code == 200
    expected = len(plain.captured_queries)
    cursor = ""
    for _ in range(5):
        cursor = workspace.page(call, instructor, "tous", workspace.Filters(awaited=True), "depot", cursor,
                                size=2).next_cursor
    assert cursor
    for params in ({"attendus": "oui"}, {"attendus": "non"}, {"attendus": "oui", "tri": "depot", "curseur": cursor}):
        with django_assert_num_queries(expected):
            response = client.get(url, {"onglet": "tous", **params})
        assert response.status_code == 200


def test_filter_in_the_api(awaited, call, instructor, client):
    _, token = issue_token(instructor, "lecture")
    url = f"/api/v1/calls/{call.slug}/workspace"
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    data = client.get(url, {"tab": "tous", "awaited": "true"}, **headers).json()
    assert [r["number"] for r in data["items"]] == [awaited[0].number, awaited[3].number]
    assert data["counts"]["tous"] == 2
    data = client.get(url, {"tab": "tous", "awaited": "false"}, **headers).json()
    assert [r["number"] for r in data["items"]] == [awaited[1].number, awaited[2].number, awaited[4].number]
    assert client.get(url, {"awaited": "bof"}, **headers).status_code == 422


def test_dossier_page_links_and_awaited_documents(awaited, instructor, client):
    d3 = awaited[3]
    services.post_message(d3, instructor, "Bonjour")
    deleted = services.post_message(d3, instructor, "Erreur")
    Message.objects.filter(pk=deleted.pk).update(deleted_at=timezone.now())
    ExpertRequest.objects.create(dossier=d3, invited_by=instructor, email="expert@example.org", question="?")
    ExpertRequest.objects.create(dossier=d3, invited_by=instructor, email="autre@example.org", question="?",
                                 revoked_at=timezone.now())
    client.force_login(instructor)
    html = client.get(reverse("instruction:dossier", args=[d3.pk])).content.decode()
    assert f'href="{reverse("messaging:thread", args=[d3.pk])}">Messagerie (1)</a>' in html
    assert f'href="{reverse("experts:dossier", args=[d3.pk])}">Avis d\'experts (1)</a>' in html
    assert "Documents attendus" in html
    assert "Attestation (partie 2) — <span class=\"fr-badge fr-badge--sm fr-badge--warning\">Attendu depuis" in html
    assert "Avis du CSE (partie 3) — <span class=\"fr-badge fr-badge--sm fr-badge--success\">Reçu le" in html
    html = client.get(reverse("instruction:dossier", args=[awaited[2].pk])).content.decode()
    assert "Messagerie (0)" in html and "Documents attendus" not in html
