"""E-mails about messages, as background tasks queued after commit.

- A message from the applicant side goes at once to the instructors who follow the dossier, or, when
  nobody follows it, to the members of its instructor group, or without a group to the instructors of the
  call's region — minus those who turned messages off (``guichet.instruction.preferences``).
- A message from the ARS goes to the dossier's members after ``GUICHET_MESSAGE_EMAIL_DELAY_SECONDS``
  (``run_after`` on a backend that can defer, e.g. the database queue), so that an instructor can still
  delete a message sent by mistake. A backend that cannot defer (the immediate one: tests, demo) sends at
  commit. Either way the task sends nothing for a deleted or already notified message.
"""

import datetime as dt

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from .models import Message, email_delay_seconds


def _context(message: Message) -> dict:
    dossier = message.dossier
    return {"message": message, "dossier": dossier,
            "url": settings.SITE_URL + reverse("messaging:thread", args=[dossier.pk])}


def _claim(message_id: int):
    """Mark the message as notified, once; None when it was deleted or already notified."""
    now = timezone.now()
    claimed = Message.objects.filter(pk=message_id, deleted_at__isnull=True, email_sent_at__isnull=True).update(
        email_sent_at=now)
    if not claimed:
        return None
    return Message.objects.select_related("dossier__call__region", "dossier__establishment", "author").get(
        pk=message_id)


def _send(message: Message, recipients: list[str], template: str) -> None:
    subject = f"Nouveau message — dossier n° {message.dossier.number} — {message.dossier.call.title}"
    try:
        send_mail(subject, render_to_string(template, _context(message)), None, recipients)
    except Exception:
        Message.objects.filter(pk=message.pk).update(email_sent_at=None)  # the next attempt may send it
        raise


@task(queue_name="emails")
def message_to_ars(message_id: int) -> None:
    from guichet.instruction.preferences import staff_recipients

    message = _claim(message_id)
    if message is None:
        return
    # Followers, else the dossier's group, else the region's instructors; minus those who turned it off.
    recipients = staff_recipients(message.dossier, "message")
    if recipients:
        _send(message, recipients, "messaging/emails/to_ars.txt")


@task(queue_name="emails")
def message_to_applicant(message_id: int) -> None:
    message = _claim(message_id)
    if message is None:
        return
    recipients = list(message.dossier.members.filter(is_active=True).values_list("email", flat=True))
    if recipients:
        _send(message, sorted(recipients), "messaging/emails/to_applicant.txt")


def notify_later(message: Message) -> None:
    """Queue the e-mail of a message just posted, once the transaction commits."""
    if not message.from_ars:
        transaction.on_commit(lambda: message_to_ars.enqueue(message.pk))
        return
    delay = email_delay_seconds()
    if delay > 0 and message_to_applicant.get_backend().supports_defer:
        run_after = message.created_at + dt.timedelta(seconds=delay)
        transaction.on_commit(lambda: message_to_applicant.using(run_after=run_after).enqueue(message.pk))
    else:
        transaction.on_commit(lambda: message_to_applicant.enqueue(message.pk))
