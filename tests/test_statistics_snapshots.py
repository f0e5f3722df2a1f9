"""Precomputed statistics (issue 13, « Speed »): a snapshot holds the same figures as the direct computation,
changes mark the scopes touched stale and their refresh (queued after the commit, one per scope) updates them,
a page with a fresh snapshot reads a few rows whatever the number of dossiers, and says when the figures were
computed. Set: ``tests.statistics_data``."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from guichet.accounts.models import Role
from guichet.dossiers import workflow
from guichet.dossiers.models import Dossier, State
from guichet.funding.models import Payment, PaymentStatus
from guichet.reporting import snapshots, statistics
from guichet.reporting.models import StatisticsSnapshot
from tests.factories import UserFactory
from tests.statistics_data import build_data, dossier, establishments, paris

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "emails"]}}


@pytest.fixture
def data(db):
    return build_data()


def scopes(data):
    return [statistics.for_call(data["call_a"]), statistics.for_region(data["hdf"]), statistics.for_country()]


def paid(snapshot):
    return {r.key: r.values[0] for r in snapshot.stats.figure("montants").rows}["verse"]


def test_a_snapshot_holds_the_same_figures_as_the_computation(data):
    for scope in scopes(data):
        direct = statistics.compute(scope)
        snapshots.store(scope)
        kept = snapshots.get(scope)
        assert not kept.stale and kept.stats.time == direct.time
        assert kept.stats.figures == direct.figures, scope.level
        # Euros stay Decimal with their cents, counts int: the same numbers on the pages and in the files.
        assert [str(v) for f in kept.stats.figures for r in f.rows for v in r.values] == [
            str(v) for f in direct.figures for r in f.rows for v in r.values]
    assert StatisticsSnapshot.objects.count() == 3


def test_a_scope_never_computed_is_computed_once_then_read(data):
    scope = statistics.for_region(data["hdf"])
    first = snapshots.get(scope)
    assert StatisticsSnapshot.objects.filter(key=f"region:{data['hdf'].pk}").count() == 1
    with CaptureQueriesContext(connection) as read:
        again = snapshots.get(scope)
    assert len(read) == 1 and again.computed_at == first.computed_at


def test_a_transition_marks_the_scopes_stale_and_the_refresh_updates_them(data, django_capture_on_commit_callbacks):
    for scope in scopes(data):
        snapshots.store(scope)
    other = snapshots.store(statistics.for_region(data["grand_est"]))
    d = Dossier.objects.get(call=data["call_a"], state=State.EN_CONSTRUCTION)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.apply(d, "passer_en_instruction", data["staff"])
    for scope in scopes(data):
        kept = snapshots.get(scope)
        states = {r.key: r.values[0] for r in kept.stats.figure("etats").rows}
        assert not kept.stale and states["en_construction"] == 0, scope.level
        assert states == {r.key: r.values[0] for r in statistics.dossiers_by_state(scope).rows}
    # Another region's figures are not touched.
    assert snapshots.get(statistics.for_region(data["grand_est"])).computed_at == other.computed_at


def test_a_payment_marks_stale_and_the_refresh_updates_the_amounts(data, django_capture_on_commit_callbacks):
    national = statistics.for_country()
    before = paid(snapshots.store(national))
    payment = Payment.objects.get(amount=Decimal("2500"), status=PaymentStatus.SCHEDULED)
    payment.status = PaymentStatus.PAID
    with django_capture_on_commit_callbacks(execute=True):
        payment.save()
    assert paid(snapshots.get(national)) == before + Decimal("2500.00")


def test_changes_mark_stale_and_queue_one_refresh_per_scope(data, settings, django_capture_on_commit_callbacks):
    settings.TASKS = DATABASE_TASKS
    for scope in scopes(data):
        snapshots.store(scope)
    payment = Payment.objects.get(amount=Decimal("2500"), status=PaymentStatus.SCHEDULED)
    payment.status = PaymentStatus.PAID
    with django_capture_on_commit_callbacks(execute=True):
        payment.save()
        data["call_a"].envelope = Decimal("120000.00")
        data["call_a"].save()
    with django_capture_on_commit_callbacks(execute=True):
        payment.save()  # a refresh is already queued for these scopes: nothing more
    queued = sorted(r.args_kwargs["args"][0] for r in DBTaskResult.objects.all())
    assert queued == sorted([f"call:{data['call_a'].pk}", f"region:{data['hdf'].pk}", "national"])
    assert set(StatisticsSnapshot.objects.values_list("stale", "refresh_pending")) == {(True, True)}
    # The worker runs them: fresh again, the new envelope read.
    for key in queued:
        snapshots.refresh(key)
    assert set(StatisticsSnapshot.objects.values_list("stale", "refresh_pending")) == {(False, False)}
    envelope = snapshots.get(statistics.for_call(data["call_a"])).stats.figure("enveloppe")
    assert envelope.rows[0].values[0] == Decimal("120000.00")


def test_a_rolled_back_change_marks_nothing(data, django_capture_on_commit_callbacks):
    snapshots.store(statistics.for_country())
    payment = Payment.objects.get(amount=Decimal("2500"), status=PaymentStatus.SCHEDULED)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            payment.save()
            raise RuntimeError
    assert not StatisticsSnapshot.objects.get(key="national").stale


@pytest.mark.parametrize("level", ["call", "region", "national"])
def test_a_page_with_a_fresh_snapshot_reads_a_few_rows_whatever_the_dossiers(client, data, level):
    user = UserFactory(email="lecteur@sante.gouv.fr", role=Role.NATIONAL) if level == "national" else data["staff"]
    url = {"call": reverse("reporting:call_statistics", args=["clact-2024-hdf"]),
           "region": reverse("reporting:region_statistics_of", args=[data["hdf"].slug]),
           "national": reverse("reporting:national_statistics")}[level]
    client.force_login(user)
    assert client.get(url).status_code == 200  # computes and keeps the snapshot

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200
        return len(captured)

    before = queries()
    e1, e2, e3, _ = establishments()
    for day in range(1, 25):
        dossier(data["call_a"], (e1, e2, e3)[day % 3], State.ACCEPTE, paris(2024, 4, day, 9), day % 7, 1000 + day)
    assert queries() == before <= 10


def test_the_page_says_when_the_figures_were_computed(client, data, django_capture_on_commit_callbacks):
    client.force_login(data["staff"])
    url = reverse("reporting:region_statistics_of", args=[data["hdf"].slug])
    html = client.get(url).content.decode()
    computed = StatisticsSnapshot.objects.get(key=f"region:{data['hdf'].pk}").computed_at
    assert "Chiffres calculés le " in html and "mise à jour en cours" not in html
    StatisticsSnapshot.objects.update(stale=True)
    html = client.get(url).content.decode()
    assert "— mise à jour en cours." in html and "Chiffres calculés le " not in html
    assert f"{computed.astimezone(paris(2024, 1, 1, 0).tzinfo):%H:%M}" in html


def test_the_download_reads_the_same_figures_as_the_page(client, data):
    client.force_login(data["staff"])
    snapshots.store(statistics.for_call(data["call_a"]))
    # A dossier made outside the workflow: the snapshot (and so the page and its file) do not count it yet.
    dossier(data["call_a"], establishments()[0], State.REFUSE, paris(2024, 3, 9, 10), 5, 1000)
    csv = client.get(reverse("reporting:call_statistics_download", args=["clact-2024-hdf", "etats", "csv"]))
    text = b"".join(csv.streaming_content).decode("utf-8-sig")
    assert "Refusé;1" in text.replace('"', "")
    assert client.get(reverse("reporting:call_statistics_download", args=["clact-2024-hdf", "nope", "csv"])
                      ).status_code == 404


def test_the_command_refreshes_every_scope(data):
    StatisticsSnapshot.objects.create(key="national", computed_at=paris(2024, 1, 1, 0), payload={}, stale=True,
                                      refresh_pending=True)
    call_command("refresh_statistics", verbosity=0)
    keys = set(StatisticsSnapshot.objects.values_list("key", flat=True))
    assert {"national", f"region:{data['hdf'].pk}", f"region:{data['grand_est'].pk}",
            f"call:{data['call_a'].pk}"} <= keys
    national = StatisticsSnapshot.objects.get(key="national")
    assert not national.stale and not national.refresh_pending
    assert snapshots.get(statistics.for_country()).stats.figures == statistics.compute(
        statistics.for_country()).figures


def test_a_filing_marks_nothing_and_an_aged_snapshot_refreshes_itself_when_read(data, settings,
                                                                                django_capture_on_commit_callbacks):
    """A deadline rush must not pay for the figures: filings reach them when a snapshot older than
    GUICHET_STATISTICS_MAX_AGE is read, which queues its refresh (once)."""
    import datetime as dt

    from django.utils import timezone

    from guichet.dossiers.workflow import filed

    settings.TASKS = DATABASE_TASKS
    settings.GUICHET_STATISTICS_MAX_AGE = 600
    for scope in scopes(data):
        snapshots.store(scope)
    d = Dossier.objects.filter(call=data["call_a"]).first()
    with django_capture_on_commit_callbacks(execute=True):
        filed.send(sender=Dossier, dossier=d, at=timezone.now())
    assert not StatisticsSnapshot.objects.filter(stale=True).exists() and not DBTaskResult.objects.exists()
    region = statistics.for_region(data["hdf"])
    assert not snapshots.get(region).stale  # fresh: read as it is
    StatisticsSnapshot.objects.update(computed_at=timezone.now() - dt.timedelta(seconds=601))
    assert snapshots.get(region).stale  # aged: shown, and its refresh queued
    assert snapshots.get(region).stale
    assert [r.args_kwargs["args"][0] for r in DBTaskResult.objects.all()] == [f"region:{data['hdf'].pk}"]
