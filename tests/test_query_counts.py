"""How many SQL queries the requests of a deadline rush make (issue 15, « query counts crept up »): an autosave
of one field and a filing, each a whole HTTP request (session, user, MFA policy, audit record, task enqueued).

Counts, not timings: they cannot creep again unnoticed. An applicant with no second factor (``real_mfa``: the
MFA middleware asks whether they sit on a commission, as in production), tasks on the database queue as in
production: the filing enqueues its acknowledgement (one INSERT) and never sends it inside the request.
The bounds are per database: PostgreSQL adds the audit trail's advisory lock and locks the establishment's row
before the one-dossier-per-establishment check (SQLite serialises writers instead). docs/performance.md lists
the queries.
"""

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from guichet.core.models import AuditRecord
from guichet.dossiers import services
from guichet.dossiers.models import Dossier, State
from guichet.establishments.models import EstablishmentAccess
from tests.factories import CallFactory, EstablishmentFactory, UserFactory
from tests.test_dossier_filling import SCHEMA, fill_completely

pytestmark = pytest.mark.real_mfa

AUTOSAVE = {"sqlite": 10, "postgresql": 11}
FILING = {"sqlite": 15, "postgresql": 17}
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "emails"]}}


@pytest.fixture
def applicant(db):
    user = UserFactory()
    EstablishmentAccess.objects.create(user=user, establishment=EstablishmentFactory())
    return user


@pytest.fixture
def dossier(applicant):
    return services.start_dossier(CallFactory(schema=SCHEMA), applicant.establishments.get(), applicant)


def test_an_autosave_of_one_field_stays_within_its_queries(client, dossier, applicant,
                                                          django_assert_max_num_queries):
    client.force_login(applicant)
    url = reverse("dossiers:section", args=[dossier.pk, "identification"])
    client.post(url, {"raison_sociale": "CH de Lisieux"}, HTTP_HX_REQUEST="true")  # a first save, as the page does
    with django_assert_max_num_queries(AUTOSAVE[connection.vendor]):
        response = client.post(url, {"raison_sociale": "Centre hospitalier de Lisieux"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Enregistr" in response.content.decode()
    dossier.refresh_from_db()
    assert dossier.answers["raison_sociale"] == "Centre hospitalier de Lisieux"
    # Nothing the request used to do was dropped: the edit is in the audit trail.
    assert AuditRecord.objects.filter(action="dossier:edit", dossier_id=dossier.pk).count() == 2


@pytest.mark.django_db(transaction=True)  # real commits: the task is enqueued at commit, inside the request
def test_a_filing_stays_within_its_queries_and_leaves_the_email_to_the_worker(
        client, dossier, applicant, settings, django_assert_max_num_queries):
    settings.TASKS = DATABASE_TASKS
    fill_completely(dossier)
    client.force_login(applicant)
    with django_assert_max_num_queries(FILING[connection.vendor]):
        response = client.post(reverse("dossiers:file", args=[dossier.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("dossiers:summary", args=[dossier.pk])
    dossier.refresh_from_db()
    assert dossier.state == State.EN_CONSTRUCTION and dossier.number
    assert AuditRecord.objects.filter(action="dossier:file", dossier_id=dossier.pk).exists()
    assert mail.outbox == [] and DBTaskResult.objects.count() == 1  # enqueued, not sent in the request
    call_command("db_worker", batch=True, queue_name="*", startup_delay=False, verbosity=0)
    assert len(mail.outbox) == 1 and dossier.number in mail.outbox[0].subject


def test_filing_someone_elses_dossier_is_refused_before_anything_is_written(client, dossier, settings):
    """The filing view goes straight to the locked read: a stranger still gets a 404, a member of the ARS of
    another region too, and nothing changes."""
    settings.TASKS = DATABASE_TASKS
    fill_completely(dossier)
    stranger = UserFactory()
    EstablishmentAccess.objects.create(user=stranger, establishment=EstablishmentFactory())
    client.force_login(stranger)
    assert client.post(reverse("dossiers:file", args=[dossier.pk])).status_code == 404
    assert client.post(reverse("dossiers:file", args=[dossier.pk + 1000])).status_code == 404
    assert Dossier.objects.get(pk=dossier.pk).state == State.BROUILLON
    assert not AuditRecord.objects.filter(action="dossier:file").exists() and DBTaskResult.objects.count() == 0
