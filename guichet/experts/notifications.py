"""E-mails of expert opinions, sent as background tasks after commit."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django_tasks import task


def _url(request_obj) -> str:
    return settings.SITE_URL + reverse("experts:answer", args=[request_obj.token])


def _send(request_obj, subject, template, to):
    context = {"r": request_obj, "dossier": request_obj.dossier, "url": _url(request_obj),
               "ars_url": settings.SITE_URL + reverse("experts:dossier", args=[request_obj.dossier_id])}
    send_mail(subject, render_to_string(template, context), None, to)


def _load(pk):
    from .models import ExpertRequest

    return ExpertRequest.objects.select_related("dossier__call__region", "dossier__establishment",
                                                "invited_by").get(pk=pk)


@task(queue_name="emails")
def invite_expert(pk: int) -> None:
    r = _load(pk)
    _send(r, f"Demande d'avis — dossier n° {r.dossier.number} ({r.dossier.call.region.ars_name})",
          "experts/emails/invitation.txt", [r.email])


@task(queue_name="emails")
def remind_expert(pk: int) -> None:
    r = _load(pk)
    if r.answered_at or r.revoked_at:
        return
    _send(r, f"Rappel : avis attendu sur le dossier n° {r.dossier.number}", "experts/emails/reminder.txt", [r.email])


@task(queue_name="emails")
def expert_answered(pk: int) -> None:
    r = _load(pk)
    _send(r, f"Avis rendu par {r.email} — dossier n° {r.dossier.number}", "experts/emails/answered.txt",
          [r.invited_by.email])
