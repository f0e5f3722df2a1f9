"""Asking for and giving expert opinions: the rules, used by the views and the reminder command."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from guichet.core import audit
from guichet.core.files import store_upload
from guichet.dossiers.models import State
from guichet.dossiers.workflow import can_instruct

from . import notifications
from .models import ExpertFile, ExpertRequest


def _store(request_obj, upload, side, user) -> ExpertFile:
    return store_upload(ExpertFile(request=request_obj, side=side), upload, folder="avis",
                        prefix=f"{request_obj.pk}-{side}", user=user)


@transaction.atomic
def ask(dossier, user, *, email: str, question: str, confidential: bool = False, upload=None,
        http_request=None) -> ExpertRequest:
    if not can_instruct(user, dossier):
        raise PermissionDenied("Seul un instructeur de l'ARS de la région de l'appel peut demander un avis.")
    if dossier.state == State.BROUILLON:
        raise ValidationError("On ne demande pas d'avis sur un brouillon.")
    request_obj = ExpertRequest.objects.create(dossier=dossier, invited_by=user, email=email.lower(),
                                               question=question.strip(), confidential=confidential)
    if upload is not None:
        _store(request_obj, upload, ExpertFile.QUESTION, user)
    audit.record(user, "avis:request", dossier=dossier, request=http_request, expert=request_obj.email,
                 confidential=confidential)
    transaction.on_commit(lambda: notifications.invite_expert.enqueue(request_obj.pk))
    return request_obj


@transaction.atomic
def answer(request_obj: ExpertRequest, *, text: str, upload=None, http_request=None) -> ExpertRequest:
    request_obj = ExpertRequest.objects.select_for_update().get(pk=request_obj.pk)
    if request_obj.revoked_at:
        raise ValidationError("Cette demande d'avis a été annulée par l'ARS.")
    if request_obj.answered_at:
        raise ValidationError("Vous avez déjà rendu votre avis sur ce dossier.")
    if not text.strip():
        raise ValidationError("Écrivez votre avis.")
    request_obj.answer = text.strip()
    request_obj.answered_at = timezone.now()
    request_obj.save(update_fields=["answer", "answered_at"])
    if upload is not None:
        _store(request_obj, upload, ExpertFile.ANSWER, None)
    audit.record(None, "avis:post", dossier=request_obj.dossier, request=http_request, expert=request_obj.email)
    transaction.on_commit(lambda: notifications.expert_answered.enqueue(request_obj.pk))
    return request_obj


@transaction.atomic
def revoke(request_obj: ExpertRequest, user, http_request=None) -> None:
    if not can_instruct(user, request_obj.dossier):
        raise PermissionDenied
    request_obj.revoked_at = timezone.now()
    request_obj.save(update_fields=["revoked_at"])
    audit.record(user, "avis:revoke", dossier=request_obj.dossier, request=http_request, expert=request_obj.email)


def visible_to_expert(request_obj: ExpertRequest):
    """The other opinions on the same dossier an expert may read: answered and not confidential."""
    return (ExpertRequest.objects.filter(dossier_id=request_obj.dossier_id, answered_at__isnull=False,
                                         confidential=False, revoked_at__isnull=True)
            .exclude(pk=request_obj.pk))


def due_for_reminder(now=None):
    from django.conf import settings

    now = now or timezone.now()
    limit = now - timezone.timedelta(days=settings.GUICHET_AVIS_REMINDER_DAYS)
    return [r for r in ExpertRequest.objects.pending().filter(reminders_sent__lt=settings.GUICHET_AVIS_MAX_REMINDERS)
            if (r.last_reminded_at or r.created_at) <= limit]


def send_reminders(now=None) -> int:
    now = now or timezone.now()
    count = 0
    for request_obj in due_for_reminder(now):
        ExpertRequest.objects.filter(pk=request_obj.pk).update(reminders_sent=request_obj.reminders_sent + 1,
                                                               last_reminded_at=now)
        notifications.remind_expert.enqueue(request_obj.pk)
        count += 1
    return count
