"""API endpoints of the messagerie: a dossier's thread as the ARS sees it, posting a message, awaited documents.

Posting goes through ``guichet.messaging.services.post_message`` as the token's user, from the ARS side:
the same checks (closed on archived dossiers), the same audit record, the same e-mail to the applicant
after the delay. Drafts are outside the API's scope (404), like everywhere else for the ARS.
"""

import datetime as dt

from django.core.exceptions import PermissionDenied
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from pydantic import Field, field_validator

from guichet.api.auth import require_write
from guichet.api.errors import responses
from guichet.api.inputs import InputSchema, number_param
from guichet.api.schemas import AwaitedDocumentOut, paris_time
from guichet.messaging import services
from guichet.messaging.models import AwaitedDocument, Message

router = Router(tags=["messagerie"])

NOT_ARS = "Seul un instructeur de l'ARS de la région de l'appel peut écrire au nom de l'ARS sur ce dossier."
MAX_BODY = 20_000


class AttachmentOut(Schema):
    id: int
    name: str = Field(description="Nom du fichier envoyé.")
    size: int = Field(description="Taille en octets.")
    sha256: str
    scan_status: str = Field(description="Résultat de l'analyse antivirus (code).")


class MessageOut(Schema):
    id: int
    at: dt.datetime
    from_ars: bool
    author: str | None = Field(description="Adresse électronique de l'auteur ; null pour un message du système.")
    kind: str = Field(description="message, state_change ou correction_request.")
    body: str = Field(description="Texte brut, jamais du HTML.")
    attachments: list[AttachmentOut]


class MessageIn(InputSchema):
    body: str = Field(description="Texte brut du message (ni vide ni fait que d'espaces).", min_length=1,
                      max_length=MAX_BODY)

    @field_validator("body")
    @classmethod
    def not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Le message est vide.")
        return value


def _dossier(request, number):
    from guichet.api.instruction import _dossier as scoped

    return scoped(request, number)


def message_out(message: Message) -> dict:
    return {
        "id": message.pk, "at": paris_time(message.created_at), "from_ars": message.from_ars,
        "author": message.author.email if message.author_id else None, "kind": message.kind,
        "body": message.body,
        "attachments": [{"id": a.pk, "name": a.original_name, "size": a.size, "sha256": a.sha256,
                         "scan_status": a.scan_status} for a in message.attachments.all()],
    }


@router.get("/dossiers/{number}/messages", response={200: list[MessageOut], **responses(401, 404, 422)},
            summary="Messagerie d'un dossier (messages supprimés exclus)")
def list_messages(request, number: str = number_param()):
    dossier = _dossier(request, number)
    messages = (Message.objects.visible().filter(dossier=dossier).select_related("author")
                .prefetch_related("attachments"))
    return [message_out(m) for m in messages]


@router.post("/dossiers/{number}/messages",
             response={201: MessageOut, **responses(400, 401, 403, 404, 409, 422)},
             summary="Écrire au porteur dans la messagerie du dossier, au nom de l'ARS (jeton en écriture)")
def post_message(request, payload: MessageIn, number: str = number_param()):
    require_write(request)
    dossier = _dossier(request, number)
    reason = services.closed_reason(dossier)
    if reason:
        raise HttpError(409, reason)
    if not services.speaks_for_ars(request.auth, dossier):
        raise HttpError(403, NOT_ARS)
    try:
        message = services.post_message(dossier, request.auth, payload.body, request=request)
    except PermissionDenied as exc:
        dossier.refresh_from_db(fields=["state", "archived"])
        raise HttpError(409 if services.closed_reason(dossier) else 403, str(exc) or NOT_ARS) from None
    return Status(201, message_out(message))


@router.get("/dossiers/{number}/awaited-documents",
            response={200: list[AwaitedDocumentOut], **responses(401, 404, 422)},
            summary="Pièces attendues d'un dossier (reçues ou non)")
def awaited_documents(request, number: str = number_param()):
    return list(AwaitedDocument.objects.filter(dossier=_dossier(request, number)))
