"""The messagerie's domain functions: who may read and write a thread, posting, deleting, awaited documents.

Views, the API and signals all go through these functions. Side effects (e-mails, scans) happen after
commit.
"""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from guichet.core import audit
from guichet.core.files import store_upload
from guichet.dossiers.models import Dossier, State
from guichet.dossiers.workflow import can_instruct

from . import notifications
from .models import AwaitedDocument, Message, MessageAttachment, MessageKind, email_delay_seconds


def threads_visible_to(user):
    """The dossiers whose thread ``user`` may read: the dossier scope (members; ARS staff of the
    region, never drafts; superuser)."""
    return Dossier.objects.visible_to(user)


def is_member(user, dossier: Dossier) -> bool:
    return user.is_authenticated and dossier.members.filter(pk=user.pk).exists()


def speaks_for_ars(user, dossier: Dossier) -> bool:
    """Whether ``user`` writes as the ARS on this dossier (a member always writes as the applicant)."""
    return not is_member(user, dossier) and can_instruct(user, dossier)


def closed_reason(dossier: Dossier) -> str | None:
    """Why nobody may post on this dossier's thread now, or None."""
    if dossier.state == State.BROUILLON:
        return "La messagerie ouvre lorsque le dossier est déposé."
    if dossier.archived:
        return "Ce dossier est archivé : sa messagerie est en lecture seule."
    return None


def can_post(user, dossier: Dossier) -> bool:
    return closed_reason(dossier) is None and (is_member(user, dossier) or can_instruct(user, dossier))


def store_attachment(message: Message, upload, user) -> MessageAttachment:
    """Stream an uploaded file into private storage, under ``dossiers/`` with the form files (backups and
    the orphan clean-up cover them), and queue its scan."""
    return store_upload(MessageAttachment(message=message), upload, folder="dossiers",
                        prefix=f"{message.dossier_id}-message-{message.pk}", user=user)


@transaction.atomic
def post_message(dossier: Dossier, user, body: str, upload=None, awaited: AwaitedDocument | None = None,
                 request=None) -> Message:
    """Post a plain-text message (with an optional file, optionally sent as an awaited document)."""
    dossier = Dossier.objects.select_for_update(of=("self",)).select_related("call__region").get(pk=dossier.pk)
    reason = closed_reason(dossier)
    if reason:
        raise PermissionDenied(reason)
    if is_member(user, dossier):
        from_ars = False
    elif can_instruct(user, dossier):
        from_ars = True
    else:
        raise PermissionDenied("Vous ne participez pas à ce dossier.")
    if awaited is not None and (from_ars or upload is None or awaited.dossier_id != dossier.pk
                                or awaited.received_at is not None):
        raise PermissionDenied("Cette pièce ne peut pas être transmise ainsi.")
    message = Message.objects.create(dossier=dossier, author=user, body=(body or "").strip(), from_ars=from_ars)
    attachment = store_attachment(message, upload, user) if upload is not None else None
    if awaited is not None:
        AwaitedDocument.objects.filter(pk=awaited.pk).update(received_at=message.created_at,
                                                             received_message=message)
    audit.record(user, "message:post", dossier=dossier, request=request, obj=message, from_ars=from_ars,
                 attachment=attachment.pk if attachment else None,
                 awaited_document=awaited.pk if awaited else None)
    notifications.notify_later(message)
    return message


@transaction.atomic
def delete_message(message: Message, user, request=None, now=None) -> Message:
    """Soft-delete by its author within the delay; a deleted message is never e-mailed."""
    now = now or timezone.now()
    message = Message.objects.select_for_update().get(pk=message.pk)
    if not message.can_delete(user, now):
        raise PermissionDenied("Ce message ne peut plus être supprimé.")
    message.deleted_at = now
    message.save(update_fields=["deleted_at"])
    # A document sent by mistake is awaited again.
    AwaitedDocument.objects.filter(received_message=message).update(received_at=None, received_message=None)
    audit.record(user, "message:delete", dossier=message.dossier_id, request=request, obj=message)
    return message


def create_awaited_documents(dossier: Dossier, now=None) -> list[AwaitedDocument]:
    """One awaited document per required document of the call that may come later (idempotent)."""
    created = []
    for doc in dossier.call.required_documents or []:
        if not isinstance(doc, dict) or not doc.get("may_come_later") or not doc.get("label"):
            continue
        try:
            part = int(doc.get("part")) if doc.get("part") not in (None, "") else None
        except (TypeError, ValueError):
            part = None
        item, new = AwaitedDocument.objects.get_or_create(
            dossier=dossier, label=str(doc["label"])[:255],
            defaults={"part": part, "since": now or timezone.now()})
        if new:
            created.append(item)
    return created


def post_state_change(dossier: Dossier, event, transition, upload=None) -> Message | None:
    """The system message of a change of state, in the thread, with the ARS' file if any; its e-mail is
    the transition's own."""
    if event.event in ("archiver", "desarchiver"):
        return None
    done = (event.details or {}).get("done") or transition.done
    body = done if not event.motivation else f"{done}\n\n{event.motivation}"
    kind = MessageKind.CORRECTION_REQUEST if event.event == "demander_correction" else MessageKind.STATE_CHANGE
    now = timezone.now()
    message = Message.objects.create(dossier=dossier, author=event.actor, body=body, kind=kind,
                                     from_ars=transition.actor == "instructor", created_at=now, email_sent_at=now)
    if upload is not None:
        store_attachment(message, upload, event.actor)
    return message


__all__ = ["email_delay_seconds"]
