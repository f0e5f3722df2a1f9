"""An instructor filters the workspace, asks for the list as CSV, follows the background job's progress (htmx
polling, no inline script) and downloads the file from its page (issue 13: filter → export → progress →
download). The threshold is 0, so any list goes to a job; the task backend is the dummy one until the test runs
the job itself, so that the page is seen waiting first."""

import csv
import datetime as dt
import io

import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from guichet.calls.models import Call, FormVersion
from guichet.dossiers import services
from guichet.establishments.models import Establishment, EstablishmentAccess, Region
from guichet.reporting import jobs
from guichet.reporting.models import ExportJob, ExportState
from tests.browser.accessibility import assert_accessible
from tests.browser.login import log_in
from tests.factories import InstructorFactory, UserFactory

expect.set_options(timeout=15_000)

INSTRUCTOR = "instructeur@ars-hdf.sante.fr"
SCHEMA = {"sections": [{"key": "projet", "title": "Le projet", "fields": [
    {"key": "nom_projet", "type": "text", "label": "Nom du projet", "required": True}]}]}


@pytest.fixture
def filed(transactional_db):
    cache.clear()
    region = Region.objects.get(code="32")
    instructor = InstructorFactory(email=INSTRUCTOR, region=region)
    EmailAddress.objects.create(user=instructor, email=instructor.email, verified=True, primary=True)
    call = Call.objects.create(region=region, year=2026, title="CLACT-QVCT 2026 Hauts-de-France", slug="clact",
                               opens_at=timezone.now() - dt.timedelta(days=1),
                               closes_at=timezone.now() + dt.timedelta(days=10))
    FormVersion.objects.create(call=call, number=1, schema=SCHEMA)
    dossiers = []
    for finess, name, project in (("590000006", "CH DE ROUBAIX", "Ateliers"), ("620000006", "EHPAD D'ARRAS", "Repos")):
        user = UserFactory(email=f"deposant-{finess}@exemple.fr")
        establishment = Establishment.objects.create(finess=finess, name=name, region=region, sector="sanitaire",
                                                     legal_status="public", department=finess[:2])
        EstablishmentAccess.objects.create(user=user, establishment=establishment)
        started = services.start_dossier(call, establishment, user)
        services.save_section(started, "projet", {"nom_projet": project}, None, user)
        dossiers.append(services.file_dossier(started, user))
    return dossiers


@pytest.mark.browser
def test_filter_export_progress_download(page, browser, browser_context_args, live_server, filed, settings):
    settings.GUICHET_EXPORT_STREAM_MAX = 0
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend",
                                  "QUEUES": ["default", "emails"]}}
    roubaix, arras = filed
    context = browser.new_context(**browser_context_args, accept_downloads=True)
    page = context.new_page()
    log_in(page, INSTRUCTOR, "/instruction/appels/clact/?onglet=tous")
    page.locator("#id_q").fill("ROUBAIX")
    page.get_by_role("button", name="Appliquer les filtres").click()
    expect(page.get_by_role("link", name=roubaix.number)).to_be_visible()
    expect(page.get_by_role("link", name=arras.number)).to_have_count(0)
    page.get_by_role("link", name="Télécharger en CSV").click()

    # The job's page: waiting, with its progress bar and the « Actualiser » link; it polls its fragment.
    expect(page.get_by_role("heading", level=1)).to_have_text("Export — Liste des dossiers")
    job = ExportJob.objects.get()
    assert job.state == ExportState.PENDING and job.parameters["q"] == ["ROUBAIX"]
    expect(page.get_by_role("progressbar", name="Avancement : pas encore commencé")).to_be_visible()
    expect(page.get_by_role("link", name="Actualiser")).to_be_visible()
    assert_accessible(page)

    # The task runs (as a worker would): the page shows the download without being reloaded.
    assert jobs.run(job.pk) == ExportState.READY
    link = page.get_by_role("link", name="Télécharger le fichier CSV")
    expect(link).to_be_visible()
    expect(page.get_by_role("link", name="Actualiser")).to_have_count(0)
    assert_accessible(page)
    with page.expect_download() as info:
        link.click()
    assert info.value.suggested_filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(open(info.value.path(), encoding="utf-8-sig").read()), delimiter=";"))
    assert [r[0] for r in rows[1:]] == [roubaix.number]

    # « Mes exports » lists it, ready.
    page.get_by_role("link", name="Mes exports").first.click()
    expect(page.get_by_role("cell", name="Prêt")).to_be_visible()
    assert_accessible(page)
    context.close()
