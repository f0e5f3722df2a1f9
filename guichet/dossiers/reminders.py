"""Reminders to the owners of drafts before a call's filing deadline (``manage.py remind_drafts``, daily).

Each draft's members are reminded once per threshold of ``GUICHET_DRAFT_REMINDER_DAYS`` (e.g. 7 and 1
days before the deadline), with what is still missing.
"""

import datetime as dt

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from guichet.calls import deadlines

from .models import Dossier, DraftReminder, State


def thresholds() -> list[int]:
    return sorted({int(d) for d in str(settings.GUICHET_DRAFT_REMINDER_DAYS).split(",") if d.strip()}, reverse=True)


def due(now=None):
    """(draft, threshold) pairs to remind now: the smallest threshold reached and not yet sent."""
    now = now or timezone.now()
    days = thresholds()
    if not days:
        return []
    horizon = now + dt.timedelta(days=max(days))
    drafts = (Dossier.objects.filter(deadlines.within_q(now, prefix="call__"), state=State.BROUILLON,
                                     call__published=True, call__is_template=False, call__closes_at__lte=horizon)
              .select_related("call__region", "establishment").prefetch_related("members", "draft_reminders"))
    result = []
    for dossier in drafts:
        left = dossier.call.closes_at - now
        reached = [d for d in days if left <= dt.timedelta(days=d)]
        sent = {r.days for r in dossier.draft_reminders.all()}
        if reached and min(reached) not in sent:
            result.append((dossier, min(reached)))
    return result


def send(now=None) -> int:
    from .services import missing_items

    count = 0
    for dossier, days in due(now):
        try:
            with transaction.atomic():
                DraftReminder.objects.create(dossier=dossier, days=days)
        except IntegrityError:
            continue  # another run sent it
        recipients = [m.email for m in dossier.members.all()]
        if not recipients:
            continue
        context = {"dossier": dossier, "missing": missing_items(dossier),
                   "url": settings.SITE_URL + reverse("dossiers:file", args=[dossier.pk])}
        send_mail(f"Votre dossier n'est pas encore déposé — dépôt possible {dossier.call.deadline.until}",
                  render_to_string("dossiers/emails/draft_reminder.txt", context), None, recipients)
        count += 1
    return count
