"""E-mails about dossiers, sent as background tasks once the transaction has committed.

Callers use ``transaction.on_commit(lambda: notifications.dossier_filed.enqueue(pk))``: a request
never waits for the mail server, and nothing is sent for a change that was rolled back.
"""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django_tasks import task


def _absolute(path: str) -> str:
    return settings.SITE_URL + path


@task(queue_name="emails")
def dossier_filed(dossier_id: int) -> None:
    """Acknowledgement of receipt to every member of the dossier."""
    from .models import Dossier

    dossier = Dossier.objects.select_related("call__region", "establishment").get(pk=dossier_id)
    context = {"dossier": dossier, "url": _absolute(reverse("dossiers:summary", args=[dossier.pk]))}
    subject = f"Dossier n° {dossier.number} déposé — {dossier.call.title}"
    body = render_to_string("dossiers/emails/filed.txt", context)
    recipients = list(dossier.members.values_list("email", flat=True))
    send_mail(subject, body, None, recipients)
    # The ARS side: its group's members and whoever asked for every filing (see instruction.preferences).
    from guichet.instruction.preferences import staff_recipients

    staff = staff_recipients(dossier, "filed")
    if staff:
        from guichet.instruction.groups import group_of

        context = {"dossier": dossier, "group": group_of(dossier),
                   "url": _absolute(reverse("instruction:dossier", args=[dossier.pk])),
                   "preferences_url": _absolute(reverse("instruction:preferences"))}
        send_mail(f"Nouveau dossier n° {dossier.number} — {dossier.call.title}",
                  render_to_string("instruction/emails/new_dossier.txt", context), None, staff)


@task(queue_name="emails")
def invitation(invitation_id: int) -> None:
    from .models import Invitation

    inv = Invitation.objects.select_related("dossier__call", "dossier__establishment", "invited_by").get(
        pk=invitation_id)
    context = {"invitation": inv, "url": _absolute(reverse("dossiers:accept_invitation", args=[inv.token]))}
    subject = f"Invitation à compléter un dossier — {inv.dossier.call.title}"
    send_mail(subject, render_to_string("dossiers/emails/invitation.txt", context), None, [inv.email])


@task(queue_name="emails")
def transition(event_id: int) -> None:
    """After a change of state: the applicant's members are told what the ARS did (with its message);
    the instructors who follow the dossier (else its group's members) are told when the applicant files
    corrections, unless they turned that off in their notification preferences."""
    from .models import DossierEvent

    event = DossierEvent.objects.select_related("dossier__call__region", "dossier__establishment", "actor").get(
        pk=event_id)
    dossier = event.dossier
    context = {"event": event, "dossier": dossier, "done": event.details.get("done", ""),
               "url": _absolute(reverse("dossiers:summary", args=[dossier.pk]))}
    subject = f"Dossier n° {dossier.number} — {event.details.get('done', '').rstrip('.')}"
    if event.event == "deposer_corrections":
        from guichet.instruction.preferences import staff_recipients

        recipients = staff_recipients(dossier, "corrections")  # followers, else the dossier's group
        template = "dossiers/emails/corrections_filed.txt"
    elif event.event in ("archiver", "desarchiver"):
        return
    else:
        recipients = list(dossier.members.values_list("email", flat=True))
        template = "dossiers/emails/transition.txt"
    if recipients:
        send_mail(subject, render_to_string(template, context), None, recipients)
