"""A call's calendar shown to applicants and instructors, and reminders to the owners of drafts."""

import datetime as dt
import io

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from guichet.calls.models import Call
from guichet.calls.templates_loader import load_seed_templates, shift_template_for_demo
from guichet.dossiers.models import Dossier
from tests.factories import PARIS, CallFactory, DossierFactory, InstructorFactory


@pytest.mark.django_db
def test_grand_est_calendar_follows_the_guide():
    template = next(c for c in load_seed_templates() if c.slug == "modele-grand-est-2025-2026-candidature")
    phases = template.calendar()
    assert [p["kind"] for p in phases] == ["filing", "instruction", "notification"]
    assert phases[0]["ends_at"] == dt.datetime(2026, 1, 1, tzinfo=PARIS)  # 31 December 2025 included
    assert template.deadline.until == "jusqu'au 31 décembre 2025 inclus"
    assert phases[1]["starts_at"] == dt.datetime(2026, 1, 1, tzinfo=PARIS)
    assert phases[1]["ends_at"].date() == dt.date(2026, 3, 15)
    assert phases[2]["label"].startswith("Notification")


@pytest.mark.django_db
def test_the_demo_call_moves_its_calendar_with_its_deadline():
    template = next(c for c in load_seed_templates() if c.slug == "modele-grand-est-2025-2026-candidature")
    demo = shift_template_for_demo(template, timezone.now())
    phases = Call.objects.get(pk=demo.pk).calendar()
    assert phases[0]["kind"] == "filing" and phases[0]["ends_at"] > timezone.now()
    # Still after the filing deadline: instruction starts on 1 January, when filing (31 December included) ends.
    assert all(p["starts_at"] >= phases[0]["ends_at"] for p in phases[1:])


@pytest.mark.django_db
def test_calendar_is_shown_to_applicants_and_instructors(client):
    call = CallFactory(phases=[{"kind": "commission", "label": "Commission d'arbitrage", "starts_at": "2027-02-10",
                                "ends_at": "2027-02-10"}])
    page = client.get(reverse("calls:detail", args=[call.slug])).content.decode()
    assert "Commission d&#x27;arbitrage" in page and "En cours" in page  # the filing period is under way
    client.force_login(InstructorFactory())
    page = client.get(reverse("instruction:workspace", args=[call.slug])).content.decode()
    assert "Calendrier de l'appel" in page and "Commission d&#x27;arbitrage" in page


@pytest.mark.django_db
def test_drafts_are_reminded_once_per_threshold_before_the_deadline(settings):
    settings.GUICHET_DRAFT_REMINDER_DAYS = "7,1"
    call = CallFactory(closes_at=timezone.now() + dt.timedelta(days=6, hours=12))
    draft = DossierFactory(call=call)
    filed = DossierFactory(call=call)
    Dossier.objects.filter(pk=filed.pk).update(state="en_construction")
    far = DossierFactory(call=CallFactory(closes_at=timezone.now() + dt.timedelta(days=20)))

    def run():
        out = io.StringIO()
        call_command("remind_drafts", stdout=out)
        return out.getvalue()

    assert "1 relance envoyée" in run()
    assert [m.to for m in mail.outbox] == [[draft.created_by.email]]
    assert "encore un brouillon" in mail.outbox[0].body and "Nom du projet" in mail.outbox[0].body
    assert "0 relance envoyée" in run()  # the 7-day reminder is not sent twice
    Call.objects.filter(pk=call.pk).update(closes_at=timezone.now() + dt.timedelta(hours=20))
    assert "1 relance envoyée" in run()  # the 1-day one comes
    assert far.created_by.email not in {to for m in mail.outbox for to in m.to}
