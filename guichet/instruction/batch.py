"""Batch operations: one action on up to 500 selected dossiers, each through the same guarded path.

``run(dossier_ids, event, user, motivation="")`` applies ``event`` to each dossier with
``workflow.apply`` in its own transaction, so one refusal never undoes the others; a dossier the
user may not act on, or whose state does not allow the event, is skipped with the reason, in French.
Besides the state machine's events: « suivre » / « ne plus suivre », and « envoyer un message »
when the messagerie (``guichet.messaging``) offers ``post_message``.
"""

import importlib
from dataclasses import dataclass, field

from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from guichet.core import audit
from guichet.dossiers import workflow
from guichet.dossiers.models import Dossier

MAX_DOSSIERS = 500
FOLLOW, UNFOLLOW, MESSAGE = "suivre", "ne_plus_suivre", "envoyer_message"


class BatchTooLarge(ValidationError):
    """More dossiers than a batch may hold."""


@dataclass
class BatchResult:
    done: list = field(default_factory=list)  # dossiers
    skipped: list = field(default_factory=list)  # (dossier, reason)
    unknown: list = field(default_factory=list)  # ids not found among the dossiers the user may see


def _messaging_post():
    """The messagerie's entry point ``post_message(dossier, user, body)``, or None if it is not there."""
    if not apps.is_installed("guichet.messaging"):
        return None
    for module in ("guichet.messaging.services", "guichet.messaging"):
        try:
            found = getattr(importlib.import_module(module), "post_message", None)
        except ImportError:
            continue
        if callable(found):
            return found
    return None


def choices() -> list[tuple[str, str]]:
    events = [(t.event, t.label) for t in workflow.TRANSITIONS.values() if t.actor == workflow.INSTRUCTOR]
    extra = [(FOLLOW, "Suivre"), (UNFOLLOW, "Ne plus suivre")]
    if _messaging_post() is not None:
        extra.append((MESSAGE, "Envoyer un message"))
    return events + extra


def needs_motivation(event: str) -> bool:
    t = workflow.TRANSITIONS.get(event)
    return event == MESSAGE or bool(t and t.motivation_required)


def _ids(dossier_ids) -> list[int]:
    ids = []
    for value in dossier_ids:
        try:
            number = int(value)
        except (TypeError, ValueError):
            continue
        if number not in ids:
            ids.append(number)
    return ids


def run(dossier_ids, event: str, user, motivation: str = "") -> BatchResult:
    ids = _ids(dossier_ids)
    if len(ids) > MAX_DOSSIERS:
        raise BatchTooLarge(f"Une action par lot porte sur {MAX_DOSSIERS} dossiers au plus "
                            f"({len(ids)} sélectionnés).")
    if event not in dict(choices()):
        raise ValidationError(f"Action inconnue : « {event} ».")
    if needs_motivation(event) and not (motivation or "").strip():
        raise ValidationError("Cette action demande un message ou une motivation.")
    found = {d.pk: d for d in Dossier.objects.visible_to(user).filter(pk__in=ids).select_related("call__region")}
    result = BatchResult(unknown=[pk for pk in ids if pk not in found])
    post_message = _messaging_post() if event == MESSAGE else None
    for pk in ids:
        dossier = found.get(pk)
        if dossier is None:
            continue
        if not workflow.can_instruct(user, dossier):
            result.skipped.append((dossier, "Seul un instructeur de l'ARS de la région de l'appel peut faire "
                                            "cette action."))
            continue
        try:
            with transaction.atomic():
                if event == FOLLOW:
                    dossier.followers.add(user)
                    audit.record(user, "follow", dossier=dossier, batch=True)
                elif event == UNFOLLOW:
                    dossier.followers.remove(user)
                    audit.record(user, "unfollow", dossier=dossier, batch=True)
                elif event == MESSAGE:
                    post_message(dossier, user, motivation)
                else:
                    dossier = workflow.apply(dossier, event, user, motivation=motivation)
        except (ValidationError, PermissionDenied) as exc:
            reason = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
            result.skipped.append((dossier, reason or "Action refusée."))
        else:
            result.done.append(dossier)
    audit.record(user, f"batch:{event}", done=[d.pk for d in result.done],
                 skipped=[d.pk for d, _ in result.skipped], unknown=result.unknown)
    return result
