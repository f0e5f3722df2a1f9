# ruff: noqa: F811  (pytest fixtures imported from tests.test_reporting_exports, used as arguments)
"""API export jobs (issue 13): create (workspace list of a call with its filters, or the region's grants), poll,
download — the token's owner only, anything else 404; French errors."""

import csv
import io

import pytest

from guichet.api.models import issue_token
from guichet.core.models import AuditRecord
from guichet.reporting.models import ExportJob
from tests.factories import InstructorFactory, region
from tests.test_reporting_exports import call, instructor, world  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(instructor):
    return issue_token(instructor, "Tableau de bord")[1]  # read-only: an export only reads


def post(client, token, data):
    return client.post("/api/v1/exports", data, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")


def get(client, token, path):
    return client.get(f"/api/v1{path}", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_create_poll_and_download_a_workspace_export(client, call, token, instructor, world,
                                                     django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, token, {"kind": "workspace", "format": "csv", "call": call.slug,
                                        "filters": {"onglet": ["tous"], "departement": ["67"]}})
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["state"] == "en_attente" and created["call"] == call.slug and created["download_url"] is None
    job = ExportJob.objects.get(pk=created["id"])
    assert job.author == instructor and job.parameters == {"onglet": ["tous"], "departement": ["67"]}
    polled = get(client, token, f"/exports/{job.pk}").json()
    assert polled["state"] == "pret" and polled["state_label"] == "Prêt"
    assert (polled["done"], polled["total"], polled["percent"]) == (1, 1, 100)
    assert polled["download_url"] == f"/api/v1/exports/{job.pk}/file" and polled["size"] > 0
    response = get(client, token, f"/exports/{job.pk}/file")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")), delimiter=";"))
    assert [r[0] for r in rows[1:]] == [world[1].number]
    record = AuditRecord.objects.filter(action="export:download").get()
    assert record.actor_id == instructor.pk and record.details["via"] == "api"


def test_grants_export_and_its_errors(client, call, token, world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, token, {"kind": "grants", "format": "xlsx"})
    assert response.status_code == 201 and response.json()["kind"] == "grants"
    response = post(client, token, {"kind": "grants", "format": "xlsx", "call": call.slug})
    assert response.status_code == 422 and "toute la région" in response.json()["errors"][0]["msg"]
    response = post(client, token, {"kind": "workspace", "format": "csv"})
    assert response.status_code == 422 and response.json()["errors"][0]["loc"] == ["body", "payload", "call"]
    assert "appel à projets" in response.json()["errors"][0]["msg"]
    response = post(client, token, {"kind": "grants", "format": "zip"})
    assert response.status_code == 422 and response.json()["errors"][0]["loc"] == ["body", "payload", "format"]
    assert "fichiers des dossiers" in response.json()["errors"][0]["msg"]
    response = post(client, token, {"kind": "workspace", "format": "pdf", "call": call.slug})
    assert response.status_code == 422 and response.json()["detail"] == "Paramètres de la requête invalides."
    response = post(client, token, {"kind": "workspace", "format": "csv", "call": "appel-inconnu"})
    assert response.status_code == 404 and response.json()["detail"] == "Ressource introuvable."


def test_a_pending_job_is_not_downloadable_yet(client, call, token, world):
    response = post(client, token, {"kind": "workspace", "format": "ods", "call": call.slug})  # task not run
    job_id = response.json()["id"]
    response = get(client, token, f"/exports/{job_id}/file")
    assert response.status_code == 409 and "pas prêt" in response.json()["detail"]


def test_a_foreign_token_gets_404(client, call, token, world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job_id = post(client, token, {"kind": "workspace", "format": "csv", "call": call.slug}).json()["id"]
    colleague = issue_token(InstructorFactory(region=region("44")), "Collègue", write=True)[1]
    other_region = issue_token(InstructorFactory(region=region("32")), "Autre région", write=True)[1]
    for foreign in (colleague, other_region):
        for path in (f"/exports/{job_id}", f"/exports/{job_id}/file"):
            response = get(client, foreign, path)
            assert response.status_code == 404 and response.json()["detail"] == "Ressource introuvable."
    # Another region's token cannot export this call either.
    response = post(client, other_region, {"kind": "workspace", "format": "csv", "call": call.slug})
    assert response.status_code == 404
    assert client.get(f"/api/v1/exports/{job_id}").status_code == 401


def test_a_fourth_waiting_job_is_409(client, call, token, world):
    for _ in range(3):
        assert post(client, token, {"kind": "grants", "format": "csv"}).status_code == 201
    response = post(client, token, {"kind": "grants", "format": "csv"})
    assert response.status_code == 409 and "3 exports en cours de préparation" in response.json()["detail"]


def test_the_files_of_a_list_as_a_zip_job(client, call, token, instructor, world, django_capture_on_commit_callbacks):
    import zipfile

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, token, {"kind": "workspace", "format": "zip", "call": call.slug,
                                        "filters": {"onglet": ["tous"], "departement": ["67"]}})
    assert response.status_code == 201, response.content
    polled = get(client, token, f"/exports/{response.json()['id']}").json()
    assert (polled["state"], polled["format"], polled["done"], polled["total"]) == ("pret", "zip", 1, 1)
    response = get(client, token, f"/exports/{polled['id']}/file")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as zf:
        names = zf.namelist()
    assert "README.txt" in names and any(name.startswith(world[1].number) for name in names)
