"""Deadlines as the notices write them (issue 10, point 2): a deadline given as a day includes that whole
day, Europe/Paris — at both sides of each boundary, to the second and the millisecond, in winter, in
summer and on both days the clocks change; through filing (service and page), the proofs' windows, the
reminders, the pages, the API, the admin, the seed templates and the migration of existing rows."""

import datetime as dt
import html
import importlib
import itertools
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core import mail
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from guichet.calls import deadlines
from guichet.calls.forms import CopyCallForm
from guichet.calls.models import Call, CallKind
from guichet.calls.templates_loader import TemplateError, copy_call, load_seed_templates, parse_datetime
from guichet.dossiers import reminders, services
from guichet.dossiers.models import Attachment, Dossier, State
from guichet.establishments.models import EstablishmentAccess
from guichet.funding import payments
from guichet.funding.models import ActionProgress, Completion, InvoiceLine
from tests.factories import PARIS, ArsAdminFactory, CallFactory, DossierFactory, EstablishmentFactory, region
from tests.test_payments import WINDOWS, make_grant


def migration():
    return importlib.import_module("guichet.calls.migrations.0006_closes_at_whole_days")


UTC = dt.UTC
MS = dt.timedelta(milliseconds=1)
SECOND = dt.timedelta(seconds=1)

# Deadline days: summer (seed 000's 31 July 2024), winter (31 January 2025), the day before and the day of
# the change to summer time (30 and 31 March 2024: 31 March lasts 23 hours), the day of the change back
# (27 October 2024: 25 hours), and seed 001's 15 November 2024 (winter).
DAYS = [dt.date(2024, 7, 31), dt.date(2025, 1, 31), dt.date(2024, 3, 30), dt.date(2024, 3, 31),
        dt.date(2024, 10, 27), dt.date(2024, 11, 15)]
# The closing instants in UTC, written out by hand: Paris is UTC+2 in summer, UTC+1 in winter.
CLOSING_UTC = {
    dt.date(2024, 7, 31): dt.datetime(2024, 7, 31, 22, tzinfo=UTC),
    dt.date(2025, 1, 31): dt.datetime(2025, 1, 31, 23, tzinfo=UTC),
    dt.date(2024, 3, 30): dt.datetime(2024, 3, 30, 23, tzinfo=UTC),  # midnight still in winter time
    dt.date(2024, 3, 31): dt.datetime(2024, 3, 31, 22, tzinfo=UTC),  # midnight already in summer time
    dt.date(2024, 10, 27): dt.datetime(2024, 10, 27, 23, tzinfo=UTC),  # back to winter time
    dt.date(2024, 11, 15): dt.datetime(2024, 11, 15, 23, tzinfo=UTC),
}


def paris(*args, fold=0):
    return dt.datetime(*args, tzinfo=PARIS, fold=fold)


def last_second(day):
    return paris(day.year, day.month, day.day, 23, 59, 59)


def around_midnight(day):
    """(instant, accepted) at both sides of the end of ``day``, to the second and to the millisecond."""
    midnight = CLOSING_UTC[day]
    return [(last_second(day), True), (last_second(day) + dt.timedelta(milliseconds=999), True),
            (midnight - MS, True), (midnight, False), (midnight + MS, False), (midnight + SECOND, False)]


@pytest.fixture
def clock(monkeypatch):
    """Sets ``timezone.now()`` (and so ``timezone.localdate()``) for the code under test."""
    def set_to(instant):
        monkeypatch.setattr(timezone, "now", lambda: instant.astimezone(UTC))
    return set_to


# --- The rule ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("day", DAYS)
def test_a_day_deadline_closes_at_the_next_paris_midnight(day):
    closes = deadlines.closing_instant(day)
    assert closes == CLOSING_UTC[day]
    assert deadlines.last_day(closes) == day and deadlines.is_day_deadline(closes)
    for instant, accepted in around_midnight(day):
        assert deadlines.has_closed(closes, instant) is not accepted, instant


@pytest.mark.django_db
def test_filing_opens_at_its_first_instant_included():
    opens, closes = paris(2025, 1, 6, 9), deadlines.closing_instant(dt.date(2025, 1, 31))
    call = CallFactory(opens_at=opens, closes_at=closes)
    for when, within in ((opens - MS, False), (opens, True), (closes - MS, True), (closes, False)):
        assert deadlines.is_within(opens, closes, when) is within, when
        assert call.is_open(when) is within and Call.objects.open_at(when).filter(pk=call.pk).exists() is within
    assert not deadlines.is_within(closes, opens, opens + SECOND)  # both bounds hold, not either


def test_the_days_the_clocks_change_are_filed_whole():
    # 31 March 2024 lasts 23 hours, 27 October 2024 lasts 25: both are open from their first to their
    # last instant, and the wall-clock hour that happens twice in October is open both times.
    def hours(later, earlier):  # elapsed time (in one tzinfo Python subtracts wall clocks)
        return (later.astimezone(UTC) - earlier.astimezone(UTC)) / dt.timedelta(hours=1)

    assert hours(deadlines.closing_instant(dt.date(2024, 3, 31)), paris(2024, 3, 31)) == 23
    assert hours(deadlines.closing_instant(dt.date(2024, 10, 27)), paris(2024, 10, 27)) == 25
    closes = deadlines.closing_instant(dt.date(2024, 10, 27))
    first, second = paris(2024, 10, 27, 2, 30), paris(2024, 10, 27, 2, 30, fold=1)
    assert hours(second, first) == 1
    assert not deadlines.has_closed(closes, first) and not deadlines.has_closed(closes, second)
    # A precise deadline in that hour: the second 2:15 (winter time) comes after the first 2:30 (summer time).
    assert deadlines.has_closed(first, paris(2024, 10, 27, 2, 15, fold=1))
    assert not deadlines.has_closed(second, paris(2024, 10, 27, 2, 45))


ANY_INSTANT = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1),
                           timezones=st.just(UTC))
ANY_DAY = st.one_of(st.dates(min_value=dt.date(2000, 1, 2), max_value=dt.date(2099, 12, 30)),
                    st.sampled_from(DAYS + [dt.date(2025, 3, 30), dt.date(2025, 10, 26), dt.date(2024, 2, 29)]))


@st.composite
def day_and_instant(draw):
    """A deadline day and an instant, most of them within two seconds of a Paris midnight next to that day."""
    day = draw(ANY_DAY)
    if draw(st.booleans()):
        return day, draw(ANY_INSTANT)
    midnight = deadlines.closing_instant(day + dt.timedelta(days=draw(st.sampled_from([-1, 0, 1]))))
    return day, midnight + dt.timedelta(microseconds=draw(st.integers(-2_000_000, 2_000_000)))


@settings(deadline=None, max_examples=400)
@given(day_and_instant())
def test_any_instant_against_any_day_deadline(drawn):
    day, instant = drawn
    """Oracle: filing is open while the instant's Paris calendar day is not after the deadline's day."""
    wall = instant.astimezone(PARIS)
    on_or_before = (wall.year, wall.month, wall.day) <= (day.year, day.month, day.day)
    assert deadlines.has_closed(deadlines.closing_instant(day), instant) is not on_or_before
    # The proofs' payment windows follow the same rule: a window « received until » that day holds it.
    call = SimpleNamespace(payment_windows=[{"label": "W", "received_from": None, "received_until": day.isoformat(),
                                             "paid_by": day.isoformat()}])
    assert (payments.window_for(call, instant) is not None) is on_or_before


@settings(deadline=None, max_examples=300)
@given(st.one_of(ANY_INSTANT, day_and_instant().map(lambda drawn: drawn[1])))
@example(dt.datetime(2004, 10, 31, 0, 0, tzinfo=UTC))  # 2 h 00 in Paris, the first time
@example(dt.datetime(2024, 10, 27, 1, 30, tzinfo=UTC))  # 2 h 30 in Paris, the second time
def test_what_the_admin_shows_is_what_it_stores(closes_at):
    """Found by this property: 2 h 00 on 31 October 2004 happened twice in Paris; the form's time cannot say
    which, so such a time is asked again rather than saved an hour off."""
    day, time = deadlines.split(closes_at)
    assert (time is None) is deadlines.is_day_deadline(closes_at)
    local = closes_at.astimezone(PARIS)
    if local.utcoffset() != local.replace(fold=1 - local.fold).utcoffset():
        with pytest.raises(deadlines.UnclearTime, match="existe deux fois"):
            deadlines.join(day, time.replace(fold=0))
        return
    # In UTC: Python's == across time zones is False for a wall time of the repeated hour (PEP 495).
    assert deadlines.join(day, time).astimezone(UTC) == closes_at.astimezone(UTC)


# --- How it reads -----------------------------------------------------------------------------------

@settings(deadline=None)
@given(ANY_DAY)
def test_any_day_deadline_reads_as_that_day_included(day):
    deadline = deadlines.Deadline(deadlines.closing_instant(day))
    assert deadline.is_day and deadline.last_day == day
    assert deadline.until == f"jusqu'au {deadlines.day_text(day)} inclus"

@pytest.mark.parametrize("closes_at, until", [
    (deadlines.closing_instant(dt.date(2024, 7, 31)), "jusqu'au 31 juillet 2024 inclus"),
    (deadlines.closing_instant(dt.date(2024, 11, 15)), "jusqu'au 15 novembre 2024 inclus"),
    (deadlines.closing_instant(dt.date(2024, 6, 1)), "jusqu'au 1er juin 2024 inclus"),
    (deadlines.closing_instant(dt.date(2024, 3, 31)), "jusqu'au 31 mars 2024 inclus"),
    (paris(2024, 7, 31, 23, 59, 59), "avant le 31 juillet 2024 à 23 h 59 min 59 s"),
    (paris(2025, 1, 31, 12), "avant le 31 janvier 2025 à 12 h 00"),
    (paris(2025, 1, 31, 9, 5, 0, 250000), "avant le 31 janvier 2025 à 9 h 05 min 00,25 s"),
    (paris(2024, 10, 27, 2, 30, fold=1), "avant le 27 octobre 2024 à 2 h 30"),
])
def test_the_deadline_reads_as_the_notice_writes_it(closes_at, until):
    deadline = deadlines.Deadline(closes_at)
    assert deadline.until == until
    assert str(deadline) == f"{until} (heure de Paris)"
    with timezone.override("UTC"):  # always read in Paris time, whatever the active zone
        assert deadlines.Deadline(closes_at.astimezone(UTC)).until == until


def test_a_precise_deadline_is_never_shown_as_a_day():
    for closes_at in (paris(2024, 8, 1, 0, 0, 1), paris(2024, 8, 1, 0, 0, 0, 1), paris(2024, 7, 31, 23, 59, 59)):
        deadline = deadlines.Deadline(closes_at)
        assert not deadline.is_day and "inclus" not in deadline.until
    # Its last day is the day of the last instant still accepted.
    assert deadlines.last_day(paris(2024, 8, 1, 0, 0, 0, 1)) == dt.date(2024, 8, 1)
    assert deadlines.last_day(paris(2024, 8, 1, 0, 0, 0, 2)) == dt.date(2024, 8, 1)
    assert deadlines.last_day(paris(2024, 7, 31, 12)) == dt.date(2024, 7, 31)


# --- Filing: the service and the page --------------------------------------------------------------

def day_call(day, **kwargs):
    return CallFactory(opens_at=paris(2024, 1, 1), closes_at=deadlines.closing_instant(day), **kwargs)


_SITES = itertools.count(1)


def complete_draft(call):
    # Each draft for its own establishment: one filed dossier per establishment and call (dossiers/unique.py).
    n = next(_SITES)
    establishment = EstablishmentFactory(finess=f"59{n:07d}", siret="", name=f"ÉTABLISSEMENT {n}")
    dossier = DossierFactory(call=call, establishment=establishment,
                             answers={"nom_projet": "Ergonomie des postes", "cout": "1000.00"})
    dossier.members.add(dossier.created_by)
    return dossier


@pytest.mark.django_db
@pytest.mark.parametrize("day", DAYS)
def test_filing_at_both_sides_of_the_end_of_the_day(day):
    call = day_call(day)
    for instant, accepted in around_midnight(day):
        dossier = complete_draft(call)
        if accepted:
            services.file_dossier(dossier, dossier.created_by, now=instant)
            assert Dossier.objects.get(pk=dossier.pk).state == State.EN_CONSTRUCTION, instant
        else:
            with pytest.raises(services.FilingError) as refused:
                services.file_dossier(dossier, dossier.created_by, now=instant)
            assert refused.value.messages == [
                "La date limite de dépôt est dépassée : le dépôt était possible "
                f"jusqu'au {deadlines.day_text(day)} inclus (heure de Paris). Le dossier n'a pas été déposé."]
            assert Dossier.objects.get(pk=dossier.pk).state == State.BROUILLON


@pytest.mark.django_db
@settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(day_and_instant())
def test_filing_any_instant_against_any_day_deadline(drawn):
    day, instant = drawn
    call = CallFactory(opens_at=paris(1999, 1, 1), closes_at=deadlines.closing_instant(day))
    dossier = complete_draft(call)
    wall = instant.astimezone(PARIS)
    if (wall.year, wall.month, wall.day) <= (day.year, day.month, day.day):
        services.file_dossier(dossier, dossier.created_by, now=instant)
        assert Dossier.objects.get(pk=dossier.pk).state == State.EN_CONSTRUCTION
    else:
        with pytest.raises(services.FilingError, match=f"jusqu'au {deadlines.day_text(day)} inclus"):
            services.file_dossier(dossier, dossier.created_by, now=instant)


@pytest.mark.django_db
@pytest.mark.parametrize("slug, day", [("modele-hdf-2024-candidature", dt.date(2024, 7, 31)),
                                       ("modele-grand-est-2025-2026-candidature", dt.date(2025, 12, 31))])
def test_the_seed_calls_accept_a_filing_in_the_last_second_of_their_day(slug, day):
    """The calls copied from seed 000 (summer) and seed 003 (winter) with their own dates."""
    template = next(c for c in load_seed_templates() if c.slug == slug)
    call = copy_call(template, region=template.region, title="Copie", slug=f"copie-{slug}",
                     opens_at=template.opens_at, closes_at=template.closes_at)
    dossier = DossierFactory(call=call)  # a draft: the deadline is checked before completeness
    for instant in (last_second(day), last_second(day) + dt.timedelta(milliseconds=999)):
        assert call.is_open(instant) and Call.objects.open_at(instant).filter(pk=call.pk).exists()
        with pytest.raises(services.FilingError, match="incomplet"):
            services.file_dossier(dossier, dossier.created_by, now=instant)
    midnight = deadlines.closing_instant(day)
    assert not call.is_open(midnight) and not Call.objects.open_at(midnight).filter(pk=call.pk).exists()
    with pytest.raises(services.FilingError, match=f"jusqu'au {deadlines.day_text(day)} inclus"):
        services.file_dossier(dossier, dossier.created_by, now=midnight)


@pytest.mark.django_db
@pytest.mark.parametrize("day", [dt.date(2024, 7, 31), dt.date(2025, 1, 31)])
def test_filing_through_the_page_in_the_last_millisecond_and_at_midnight(client, clock, day):
    call = day_call(day)
    on_time, late = complete_draft(call), complete_draft(call)
    client.force_login(on_time.created_by)
    clock(deadlines.closing_instant(day) - MS)
    page = client.get(reverse("dossiers:file", args=[on_time.pk])).content.decode()
    assert f"Dépôt possible jusqu&#x27;au {deadlines.day_text(day)} inclus (heure de Paris)." in page
    response = client.post(reverse("dossiers:file", args=[on_time.pk]))
    assert response.status_code == 302 and Dossier.objects.get(pk=on_time.pk).state == State.EN_CONSTRUCTION

    client.force_login(late.created_by)
    clock(deadlines.closing_instant(day))
    page = client.post(reverse("dossiers:file", args=[late.pk]), follow=True).content.decode()
    assert Dossier.objects.get(pk=late.pk).state == State.BROUILLON
    assert (f"le dépôt était possible jusqu&#x27;au {deadlines.day_text(day)} inclus (heure de Paris). "
            "Le dossier n&#x27;a pas été déposé.") in page
    assert "L'appel à projets est fermé" in page and "23:59" not in page


def test_the_calendar_marks_filing_over_from_midnight_and_a_days_phase_current_all_day():
    from guichet.calls.calendar import calendar

    call = Call(opens_at=paris(2024, 1, 26), closes_at=deadlines.closing_instant(dt.date(2024, 7, 31)),
                phases=[{"kind": "commission", "starts_at": "2024-09-10", "ends_at": "2024-09-10"}])

    def state(now):
        return [(p["kind"], p["current"], p["past"]) for p in calendar(call, now)]

    midnight = deadlines.closing_instant(dt.date(2024, 7, 31))
    assert state(midnight - MS) == [("filing", True, False), ("commission", False, False)]
    assert state(midnight) == [("filing", False, True), ("commission", False, False)]
    assert state(paris(2024, 9, 10, 23, 59, 59, 999000)) == [("filing", False, True), ("commission", True, False)]
    assert state(paris(2024, 9, 11)) == [("filing", False, True), ("commission", False, True)]


def test_the_template_filters_read_as_the_rule():
    from django.template import Context, Template

    rendered = Template("{% load deadlines %}{{ day|notice_day }} | {{ closes|deadline }}").render(Context({
        "day": dt.date(2024, 6, 1), "closes": deadlines.closing_instant(dt.date(2024, 11, 15))}))
    assert rendered == "1er juin 2024 | jusqu&#x27;au 15 novembre 2024 inclus (heure de Paris)"


# --- The proofs call of seed 001: 15 November, and its windows ------------------------------------

@pytest.fixture
def proofs(db):
    call = CallFactory(kind=CallKind.PROOFS, year=2024, envelope=None, payment_windows=WINDOWS,
                       covered_years=[2022, 2024], opens_at=paris(2024, 1, 1),
                       closes_at=deadlines.closing_instant(dt.date(2024, 11, 15)))
    establishment = EstablishmentFactory()
    grant = make_grant(establishment, ["8000"], year=2022, reference="AVENANT-2022-1")
    return call, establishment, grant.actions.get()


def proofs_draft(call, establishment, action):
    dossier = DossierFactory(call=call, establishment=establishment,
                             answers={"nom_projet": "Justificatifs 2024", "cout": "1000.00"})
    dossier.members.add(dossier.created_by)
    invoice = Attachment.objects.create(dossier=dossier, field_path="factures", original_name="F-1.pdf", size=8,
                                        file=ContentFile(b"%PDF-1.4", name="F-1.pdf"), scan_status="safe")
    InvoiceLine.objects.create(dossier=dossier, action=action, supplier="Ergonomie Conseil", number="F-1",
                               invoice_date=dt.date(2024, 3, 1), amount_ttc=Decimal("1000"),
                               amount_ht=Decimal("1000"), attachment=invoice)  # each line needs its file
    ActionProgress.objects.create(dossier=dossier, action=action, completion=Completion.DONE)
    return dossier


@pytest.mark.parametrize("instant, window", [
    (paris(2024, 5, 31, 23, 59, 59), "Versement à la fin du 1er semestre 2024"),
    (paris(2024, 6, 1) - MS, "Versement à la fin du 1er semestre 2024"),
    (paris(2024, 6, 1), "Versement en fin d'année 2024"),
    (paris(2024, 11, 15, 23, 59, 59), "Versement en fin d'année 2024"),
    (paris(2024, 11, 16) - MS, "Versement en fin d'année 2024"),
    (paris(2024, 11, 16), None),
    (paris(2024, 11, 16) + SECOND, None),
])
def test_proofs_filed_through_the_real_path_fall_in_the_window_of_their_paris_day(proofs, clock, instant, window):
    call, establishment, action = proofs
    dossier = proofs_draft(call, establishment, action)
    clock(instant)
    if window is None:
        with pytest.raises(services.FilingError, match="jusqu'au 15 novembre 2024 inclus"):
            services.file_dossier(dossier, dossier.created_by)
        return
    services.file_dossier(dossier, dossier.created_by)
    dossier.refresh_from_db()
    assert dossier.state == State.EN_CONSTRUCTION and dossier.first_filed_at == instant
    assert payments.window_for(call, dossier.first_filed_at).label == window
    assert payments.window_for(call, payments.receipt_day(dossier)).label == window


def test_the_last_payment_window_ends_with_the_proofs_call():
    """Seed 001: « fixée au 15 novembre 2024 » is both the call's last day and the last window's."""
    import yaml

    from guichet.calls.templates_loader import template_paths

    path = next(p for p in template_paths() if p.name == "hdf-2024-justificatifs.yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    closes = parse_datetime(data["closes_at"], path.name, deadline=True)
    assert deadlines.last_day(closes) == dt.date.fromisoformat(data["payment_windows"][-1]["received_until"])


# --- Reminders --------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_draft_is_reminded_until_the_last_millisecond_with_the_same_reading(settings):
    settings.GUICHET_DRAFT_REMINDER_DAYS = "1"
    day = dt.date(2024, 7, 31)
    draft = complete_draft(day_call(day))
    midnight = deadlines.closing_instant(day)
    assert reminders.due(midnight) == []
    assert [d.pk for d, _ in reminders.due(midnight - MS)] == [draft.pk]
    assert [d.pk for d, _ in reminders.due(last_second(day))] == [draft.pk]
    assert reminders.send(last_second(day)) == 1
    (message,) = mail.outbox
    assert message.subject == ("Votre dossier n'est pas encore déposé — dépôt possible "
                               "jusqu'au 31 juillet 2024 inclus")
    assert "Le dépôt est possible jusqu'au 31 juillet 2024 inclus (heure de Paris)." in message.body
    assert "23:59" not in message.body


@pytest.mark.django_db
def test_a_winter_reminder_counts_the_days_to_midnight(settings):
    settings.GUICHET_DRAFT_REMINDER_DAYS = "7"
    day = dt.date(2025, 1, 31)
    draft = complete_draft(day_call(day))
    midnight = deadlines.closing_instant(day)
    assert reminders.due(midnight - dt.timedelta(days=7) - MS) == []
    assert [d.pk for d, _ in reminders.due(midnight - dt.timedelta(days=7))] == [draft.pk]


# --- Pages, API, admin ----------------------------------------------------------------------------

@pytest.mark.django_db
def test_every_page_reads_the_deadline_the_same_way(client):
    day = timezone.localdate() + dt.timedelta(days=10)
    call = CallFactory(closes_at=deadlines.closing_instant(day), opens_at=deadlines.closing_instant(
        timezone.localdate() - dt.timedelta(days=11)))
    expected = f"jusqu&#x27;au {deadlines.day_text(day)} inclus (heure de Paris)"
    applicant = DossierFactory(call=call).created_by
    EstablishmentAccess.objects.create(user=applicant, establishment=EstablishmentFactory())
    client.force_login(applicant)
    for url in (reverse("home"), reverse("calls:list"), reverse("calls:detail", args=[call.slug]),
                reverse("dossiers:start", args=[call.slug])):
        page = client.get(url).content.decode()
        assert expected in page, url
        assert "00:00" not in page and "23:59" not in page, url
    # The establishment's grants point to the open proofs call with the same reading.
    proofs = CallFactory(kind=CallKind.PROOFS, payment_windows=WINDOWS, covered_years=[2022],
                         closes_at=deadlines.closing_instant(day), opens_at=call.opens_at)
    make_grant(applicant.establishments.get(), ["8000"], year=2022)
    page = html.unescape(client.get(reverse("funding:mine")).content.decode())
    assert (f"l'appel « {proofs.title} » est ouvert : dépôt possible jusqu'au {deadlines.day_text(day)} inclus "
            "(heure de Paris).") in page


@pytest.mark.django_db
def test_a_precise_deadline_shows_its_seconds_on_the_pages(client):
    day = timezone.localdate() + dt.timedelta(days=3)
    call = CallFactory(closes_at=deadlines.closing_instant(day) - SECOND)  # typed as 23:59:59, a precise instant
    page = client.get(reverse("calls:detail", args=[call.slug])).content.decode()
    assert f"avant le {deadlines.day_text(day)} à 23 h 59 min 59 s (heure de Paris)" in page
    assert "inclus" not in page


@pytest.mark.django_db
def test_the_api_gives_the_instant_the_last_day_and_the_reading(client):
    from guichet.api.models import issue_token
    from tests.factories import InstructorFactory

    call = CallFactory(region=region("32"), opens_at=paris(2024, 1, 26),
                       closes_at=deadlines.closing_instant(dt.date(2024, 7, 31)))
    raw = issue_token(InstructorFactory(), "Outil")[1]
    (got,) = client.get("/api/v1/calls", HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert got["id"] == call.pk
    assert dt.datetime.fromisoformat(got["closes_at"]) == dt.datetime(2024, 7, 31, 22, tzinfo=UTC)
    assert got["closes_at"] == "2024-08-01T00:00:00+02:00"
    assert got["last_day"] == "2024-07-31"
    assert got["deadline"] == "jusqu'au 31 juillet 2024 inclus (heure de Paris)"


@pytest.mark.django_db
def test_the_ars_types_a_day_or_a_precise_instant_in_the_admin(client):
    from tests.test_calls_admin import call_data, change_url

    admin = ArsAdminFactory(email="admin.hdf@ars.sante.fr")
    call = CallFactory(region=region("32"), opens_at=paris(2024, 1, 26))
    client.force_login(admin)
    response = client.post(change_url(call), call_data(call, closes_at_0="31/07/2024", closes_at_1=""))
    assert response.status_code == 302
    call.refresh_from_db()
    assert call.closes_at == dt.datetime(2024, 7, 31, 22, tzinfo=UTC)  # the whole of 31 July, summer time
    form = client.get(change_url(call)).context["adminform"].form
    assert form["closes_at"].value() == call.closes_at
    widget = form["closes_at"].as_widget()
    assert 'value="31/07/2024"' in widget and 'name="closes_at_1" value=' not in widget
    listing = client.get("/admin/calls/call/").content.decode()
    assert "jusqu&#x27;au 31 juillet 2024 inclus (heure de Paris)" in listing
    template = next(c for c in load_seed_templates() if c.slug == "modele-hdf-2024-justificatifs")
    read_only = client.get(change_url(template)).content.decode()  # a template: read only for the ARS
    assert "jusqu&#x27;au 15 novembre 2024 inclus (heure de Paris)" in read_only
    assert "16 novembre 2024" not in read_only

    response = client.post(change_url(call), call_data(call, closes_at_0="31/01/2025", closes_at_1="12:00:30"))
    assert response.status_code == 302
    call.refresh_from_db()
    assert call.closes_at == dt.datetime(2025, 1, 31, 11, 0, 30, tzinfo=UTC)  # winter: UTC+1
    assert call.deadline.until == "avant le 31 janvier 2025 à 12 h 00 min 30 s"

    # 2:30 does not exist in Paris on 31 March 2024: said at the field, nothing saved.
    response = client.post(change_url(call), call_data(call, closes_at_0="31/03/2024", closes_at_1="02:30"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["closes_at"] == [
        "L'heure 2 h 30 n'existe pas le 31 mars 2024 à Paris (passage à l'heure d'été) : choisissez une autre heure."]
    # 2:30 happens twice on 27 October 2024: which one is not guessed.
    response = client.post(change_url(call), call_data(call, closes_at_0="27/10/2024", closes_at_1="02:30"))
    assert response.context["adminform"].form.errors["closes_at"] == [
        "L'heure 2 h 30 existe deux fois le 27 octobre 2024 à Paris (passage à l'heure d'hiver) : choisissez une "
        "autre heure."]
    response = client.post(change_url(call), call_data(call, closes_at_0="", closes_at_1=""))
    assert response.context["adminform"].form.errors["closes_at"] == ["Indiquez le dernier jour de dépôt."]


@pytest.mark.django_db
def test_copying_a_call_takes_the_deadline_as_a_day_or_an_instant():
    base = {"region": region("32").pk, "title": "Copie", "slug": "copie", "year": 2025, "opens_at": "2025-01-05T09:00"}
    form = CopyCallForm({**base, "closes_at_0": "2025-03-30", "closes_at_1": ""})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["closes_at"] == dt.datetime(2025, 3, 30, 22, tzinfo=UTC)  # 31 March 00:00 CEST
    form = CopyCallForm({**base, "closes_at_0": "2025-03-30", "closes_at_1": "17:00"})
    assert form.is_valid() and form.cleaned_data["closes_at"] == dt.datetime(2025, 3, 30, 15, tzinfo=UTC)
    form = CopyCallForm({**base, "closes_at_0": "30/02/2025", "closes_at_1": ""})
    assert form.errors["closes_at"] == ["Saisissez un jour valide (JJ/MM/AAAA)."]


# --- Seed templates and existing rows --------------------------------------------------------------

def test_a_template_states_the_day_as_the_notice_writes_it():
    assert parse_datetime("2024-07-31", "t.yaml", deadline=True) == deadlines.closing_instant(dt.date(2024, 7, 31))
    assert parse_datetime(dt.date(2024, 7, 31), "t.yaml", deadline=True) == paris(2024, 8, 1)
    assert parse_datetime("2024-01-26", "t.yaml") == paris(2024, 1, 26)  # an opening: the start of the day
    assert parse_datetime("2024-07-31T12:00:00", "t.yaml", deadline=True) == paris(2024, 7, 31, 12)
    with pytest.raises(TemplateError, match="AAAA-MM-JJ pour un jour"):
        parse_datetime("31/07/2024", "t.yaml", deadline=True)


@pytest.mark.django_db
def test_the_seed_templates_close_at_the_end_of_the_notices_days():
    calls = {c.slug: c for c in load_seed_templates()}
    assert {slug: c.deadline.until for slug, c in calls.items()} == {
        "modele-hdf-2024-candidature": "jusqu'au 31 juillet 2024 inclus",
        "modele-hdf-2024-justificatifs": "jusqu'au 15 novembre 2024 inclus",
        "modele-grand-est-2025-2026-candidature": "jusqu'au 31 décembre 2025 inclus",
    }
    assert calls["modele-hdf-2024-candidature"].opening_text == "26 janvier 2024"


@pytest.mark.parametrize("stored, migrated", [
    (paris(2024, 7, 31, 23, 59, 59), paris(2024, 8, 1)),  # summer
    (paris(2024, 11, 15, 23, 59, 59), paris(2024, 11, 16)),  # winter
    (paris(2024, 3, 30, 23, 59, 59), paris(2024, 3, 31)),  # the night the clocks go forward
    (paris(2024, 3, 31, 23, 59, 59), paris(2024, 4, 1)),
    (paris(2024, 10, 27, 23, 59, 59), paris(2024, 10, 28)),
    (paris(2025, 12, 31, 23, 59, 59, 999999), paris(2026, 1, 1)),
    (paris(2024, 7, 31, 23, 59), paris(2024, 7, 31, 23, 59)),  # a precise instant stays
    (paris(2024, 7, 31, 12), paris(2024, 7, 31, 12)),
    (dt.datetime(2024, 7, 31, 23, 59, 59, tzinfo=UTC), dt.datetime(2024, 7, 31, 23, 59, 59, tzinfo=UTC)),
])
def test_the_migration_moves_the_last_second_of_a_day_to_its_end(stored, migrated):
    assert migration().to_whole_day(stored) == migrated
    assert migration().to_whole_day(stored.astimezone(UTC)) == migrated  # as the database returns it
    if stored != migrated:
        assert deadlines.Deadline(migration().to_whole_day(stored)).is_day
        assert migration().to_last_second(migrated) == stored.replace(microsecond=0)


@pytest.mark.django_db
def test_the_migration_converts_the_rows_and_back():
    day_call = CallFactory(closes_at=paris(2024, 7, 31, 23, 59, 59))
    winter = CallFactory(closes_at=paris(2024, 11, 15, 23, 59, 59), is_template=True)
    precise = CallFactory(closes_at=paris(2024, 7, 31, 12))
    migration().forwards(apps, None)
    got = {c.pk: c.closes_at for c in Call.objects.all()}
    assert got == {day_call.pk: paris(2024, 8, 1), winter.pk: paris(2024, 11, 16), precise.pk: paris(2024, 7, 31, 12)}
    migration().backwards(apps, None)
    got = {c.pk: c.closes_at for c in Call.objects.all()}
    assert got == {day_call.pk: paris(2024, 7, 31, 23, 59, 59), winter.pk: paris(2024, 11, 15, 23, 59, 59),
                   precise.pk: paris(2024, 7, 31, 12)}
