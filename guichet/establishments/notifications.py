"""E-mails about who acts for an establishment (claims, decisions, members), sent as background tasks.

``claims`` renders nothing itself: it calls ``transaction.on_commit(lambda: send(...))`` with the template
and a context of plain strings, so that a request never waits for the mail server and nothing is sent
for a change that was rolled back. The recipients are fixed when the change is made (a member removed is
told, even though they no longer belong to the establishment when the mail goes).
"""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django_tasks import task


@task(queue_name="emails")
def _deliver(subject: str, template: str, recipients: list[str], context: dict) -> None:
    context = {**context, "url": settings.SITE_URL + reverse("establishments:mine")}
    send_mail(subject, render_to_string(template, context), None, recipients)


def send(subject: str, template: str, recipients: list[str], context: dict) -> None:
    """Queue one e-mail to ``recipients`` (call it after commit)."""
    _deliver.enqueue(subject, template, list(recipients), context)
