# ruff: noqa: F811  (pytest fixtures imported from tests.test_reporting_exports, used as arguments)
"""Exports in the background (issue 13, « Mes exports »): the threshold between a download at once and a job, the
job's lifecycle with the immediate task backend (the file equal to the direct download), progress, the e-mail,
« Mes exports », downloads by the author only (audited), expiry and ``purge_exports``."""

import csv
import datetime as dt
import io

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from guichet.core.models import AuditRecord
from guichet.reporting import jobs
from guichet.reporting.models import ExportJob, ExportState
from tests.factories import ArsAdminFactory, InstructorFactory, UserFactory, region
from tests.test_reporting_exports import call, instructor, ods_sheets, url, world  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


@pytest.fixture
def to_job(settings):
    """Every list goes to a background job."""
    settings.GUICHET_EXPORT_STREAM_MAX = 0
    return settings


def start(client, user, target, capture):
    """The request that creates a job, its task run after commit (immediate backend); the job."""
    client.force_login(user)
    with capture(execute=True):
        response = client.get(target)
    assert response.status_code == 302, response
    job = ExportJob.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))
    assert response["Location"] == reverse("reporting:job", args=[job.pk])
    return job


def content(client, job) -> bytes:
    response = client.get(reverse("reporting:job_file", args=[job.pk]))
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def test_a_short_list_streams_at_once_a_longer_one_becomes_a_job(client, settings, call, instructor, world,
                                                                  django_capture_on_commit_callbacks):
    client.force_login(instructor)
    settings.GUICHET_EXPORT_STREAM_MAX = 3  # the list holds 3 dossiers: at most the threshold, sent at once
    response = client.get(url(call, "csv", onglet="tous"))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert not ExportJob.objects.exists()
    settings.GUICHET_EXPORT_STREAM_MAX = 2
    job = start(client, instructor, url(call, "csv", onglet="tous"), django_capture_on_commit_callbacks)
    assert (job.author, job.call, job.format, job.kind) == (instructor, call, "csv", "workspace")
    assert job.parameters == {"onglet": ["tous"]}
    # A filter that leaves 1 dossier streams again.
    response = client.get(url(call, "csv", onglet="tous", departement="67"))
    assert response.status_code == 200 and ExportJob.objects.count() == 1


@pytest.mark.parametrize("extension", ["csv", "xlsx", "ods"])
def test_the_job_writes_the_same_file_as_the_direct_download(client, settings, call, instructor, world, extension,
                                                             django_capture_on_commit_callbacks):
    client.force_login(instructor)
    streamed = client.get(url(call, extension, onglet="tous", tri="numero"))
    direct = b"".join(streamed.streaming_content)
    settings.GUICHET_EXPORT_STREAM_MAX = 0
    job = start(client, instructor, url(call, extension, onglet="tous", tri="numero"),
                django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.state == ExportState.READY
    assert (job.done, job.total, job.percent) == (3, 3, 100)
    assert job.size > 0 and len(job.sha256) == 64 and job.file.name.startswith("exports/")
    assert job.expires_at - job.finished_at == dt.timedelta(days=7)
    data = content(client, job)
    assert len(data) == job.size
    if extension == "csv":
        assert data == direct
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
        assert {r[0] for r in rows[1:]} == {d.number for d in world}
    elif extension == "xlsx":
        ours, theirs = load_workbook(io.BytesIO(data)), load_workbook(io.BytesIO(direct))
        assert ours.sheetnames == theirs.sheetnames == ["Dossiers", "Actions"]
        for name in ours.sheetnames:
            assert [[c.value for c in r] for r in ours[name].iter_rows()] == \
                   [[c.value for c in r] for r in theirs[name].iter_rows()]
    else:
        assert ods_sheets(data) == ods_sheets(direct)


def test_filters_are_kept_and_progress_is_saved_by_batch(client, to_job, call, instructor, world, monkeypatch,
                                                        django_capture_on_commit_callbacks):
    seen = []
    real = jobs._counted

    def spy(rows, job_pk):
        for row in real(rows, job_pk):
            seen.append(ExportJob.objects.get(pk=job_pk).done)
            yield row

    monkeypatch.setattr(jobs, "BATCH", 2)
    monkeypatch.setattr(jobs, "_counted", spy)
    job = start(client, instructor, url(call, "csv", onglet="tous", departement="67"),
                django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert (job.done, job.total) == (1, 1)
    assert b"EHPAD Les Tilleuls" in content(client, job)
    assert world[0].number.encode() not in content(client, job)
    job2 = start(client, instructor, url(call, "csv", onglet="tous"), django_capture_on_commit_callbacks)
    job2.refresh_from_db()
    # Rows 1 and 2 are yielded before the batch's update, the third after it (done = 2), then done = 3.
    assert seen[-3:] == [0, 0, 2] and job2.done == 3


def test_the_author_gets_an_email_with_the_link(client, to_job, call, instructor, world,
                                                 django_capture_on_commit_callbacks):
    job = start(client, instructor, url(call, "xlsx", onglet="tous"), django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [instructor.email]
    assert message.subject == "Votre export est prêt — Liste des dossiers"
    assert "http://testserver" not in message.body
    assert reverse("reporting:job", args=[job.pk]) in message.body
    assert reverse("reporting:mine") in message.body and "« Mes exports »" in message.body


def test_the_job_page_shows_progress_then_the_download(client, to_job, call, instructor, world,
                                                        django_capture_on_commit_callbacks):
    client.force_login(instructor)
    with django_capture_on_commit_callbacks(execute=False):  # the task has not run yet
        response = client.get(url(call, "ods", onglet="tous"))
    job = ExportJob.objects.get()
    page = client.get(response["Location"]).content.decode()
    assert job.state == ExportState.PENDING
    assert f'hx-get="{reverse("reporting:job_status", args=[job.pk])}"' in page
    assert 'hx-trigger="every 2s"' in page
    assert '<progress class="guichet-progress fr-mt-1w" id="export-progress" max="1" value="0">' in page
    assert '<label class="fr-label" for="export-progress">' in page
    assert f'href="{reverse("reporting:job", args=[job.pk])}">Actualiser</a>' in page
    ExportJob.objects.filter(pk=job.pk).update(state=ExportState.RUNNING, done=250, total=1000)
    fragment = client.get(reverse("reporting:job_status", args=[job.pk])).content.decode()
    assert 'max="1000" value="250"' in fragment and "250 lignes écrites sur 1000 (25 %)" in fragment
    assert "<html" not in fragment
    jobs.run(job.pk)
    fragment = client.get(reverse("reporting:job_status", args=[job.pk])).content.decode()
    assert "hx-get" not in fragment  # polling stops
    assert reverse("reporting:job_file", args=[job.pk]) in fragment and "Télécharger le fichier ODS" in fragment
    mine = client.get(reverse("reporting:mine")).content.decode()
    assert "Prêt" in mine and reverse("reporting:job_file", args=[job.pk]) in mine and call.title in mine


def test_only_the_author_downloads_and_each_download_is_audited(client, to_job, call, instructor, world,
                                                               django_capture_on_commit_callbacks):
    job = start(client, instructor, url(call, "csv", onglet="tous"), django_capture_on_commit_callbacks)
    assert content(client, job) and content(client, job)
    records = AuditRecord.objects.filter(action="export:download")
    assert [(r.actor_id, r.object_id, r.details["format"]) for r in records] == [
        (instructor.pk, str(job.pk), "csv")] * 2
    colleague = InstructorFactory(region=region("44"))
    admin_of_region = ArsAdminFactory(region=region("44"))
    applicant = world[0].created_by
    for user in (colleague, admin_of_region, InstructorFactory(region=region("32")), applicant, UserFactory()):
        client.force_login(user)
        for name in ("job", "job_status", "job_file"):
            response = client.get(reverse(f"reporting:{name}", args=[job.pk]))
            assert response.status_code == 404, (user, name)
        mine = client.get(reverse("reporting:mine"))
        assert reverse("reporting:job_file", args=[job.pk]).encode() not in mine.content
    client.force_login(applicant)
    assert client.get(reverse("reporting:mine")).status_code == 403
    assert AuditRecord.objects.filter(action="export:download").count() == 2
    client.logout()
    assert client.get(reverse("reporting:job_file", args=[job.pk])).status_code == 302


def test_expiry_and_the_purge_command(client, to_job, call, instructor, world, django_capture_on_commit_callbacks):
    job = start(client, instructor, url(call, "csv", onglet="tous"), django_capture_on_commit_callbacks)
    job.refresh_from_db()
    name = job.file.name
    assert default_storage.exists(name)
    failed = ExportJob.objects.create(author=instructor, kind="grants", format="csv", state=ExportState.FAILED)
    ExportJob.objects.filter(pk=failed.pk).update(created_at=timezone.now() - dt.timedelta(days=8))
    out = io.StringIO()
    call_command("purge_exports", stdout=out)  # the file has not expired yet; the old failed job has
    assert "0 fichier supprimé ; 1 export marqué expiré." in out.getvalue() and default_storage.exists(name)
    assert ExportJob.objects.get(pk=failed.pk).state == ExportState.EXPIRED
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    out = io.StringIO()
    call_command("purge_exports", stdout=out)
    assert "1 fichier supprimé ; 1 export marqué expiré." in out.getvalue()
    assert not default_storage.exists(name)
    job.refresh_from_db()
    assert job.state == ExportState.EXPIRED and not job.file.name
    out = io.StringIO()
    call_command("purge_exports", stdout=out)  # a second run changes nothing
    assert "0 fichier supprimé ; 0 export marqué expiré." in out.getvalue()
    client.force_login(instructor)
    assert client.get(reverse("reporting:job_file", args=[job.pk])).status_code == 404
    assert "a expiré" in client.get(reverse("reporting:job", args=[job.pk])).content.decode()


def test_a_job_whose_author_lost_access_fails_with_a_french_message(to_job, call, instructor, world):
    job = jobs.create(instructor, "workspace", "csv", call=call, parameters={"onglet": ["tous"]})
    instructor.role = "applicant"
    instructor.save()
    assert jobs.run(job.pk) == ExportState.FAILED
    job.refresh_from_db()
    assert job.error.startswith("Votre compte ne donne plus accès") and not job.file.name
    assert jobs.run(job.pk) == ExportState.FAILED  # finished: running it again does nothing


def test_a_failure_is_said_in_french_and_logged(to_job, call, instructor, world, monkeypatch):
    job = jobs.create(instructor, "workspace", "xlsx", call=call, parameters={"onglet": ["tous"]})

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(jobs.formats, "xlsx_file", broken)
    assert jobs.run(job.pk) == ExportState.FAILED
    job.refresh_from_db()
    assert job.error == jobs.FAILED and "disk full" not in job.error


def test_mes_exports_is_in_the_ars_navigation_only(client, instructor):
    client.force_login(instructor)
    page = client.get(reverse("reporting:mine"))
    assert page.status_code == 200
    assert "Vous n'avez demandé aucun export" in page.content.decode()
    assert f'href="{reverse("reporting:mine")}"' in client.get("/").content.decode()
    client.force_login(UserFactory())
    assert f'href="{reverse("reporting:mine")}"' not in client.get("/").content.decode()


def test_at_most_three_jobs_wait_at_once_per_author(client, to_job, call, instructor, world):
    client.force_login(instructor)
    for _ in range(3):  # the tasks never run here (no commit): the jobs wait
        assert client.get(url(call, "csv", onglet="tous")).status_code == 302
    response = client.get(url(call, "csv", onglet="tous"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("reporting:mine")
    assert "Vous avez déjà 3 exports en cours de préparation" in response.content.decode()
    assert ExportJob.objects.count() == 3
    # A job stuck for more than an hour (a stopped worker) no longer counts.
    ExportJob.objects.filter(pk=ExportJob.objects.first().pk).update(
        created_at=timezone.now() - dt.timedelta(hours=2))
    assert client.get(url(call, "csv", onglet="tous"))["Location"].startswith("/suivi/exports/")
    assert ExportJob.objects.count() == 4
