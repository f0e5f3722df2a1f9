"""API endpoints of instruction: a dossier's history, and taking an event of the state machine.

They call the same domain function as the instructor's page (``workflow.apply``): the same guards,
the same history row, the same e-mail to the applicant.
"""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from ninja import Router, Schema
from ninja.errors import HttpError

from guichet.api.auth import require_write
from guichet.dossiers import workflow

router = Router(tags=["instruction"])


class EventOut(Schema):
    at: str
    kind: str
    event: str
    label: str
    from_state: str
    to_state: str
    actor: str | None
    motivation: str


class TransitionIn(Schema):
    event: str
    motivation: str = ""


class StateOut(Schema):
    number: str
    state: str
    state_label: str
    archived: bool
    available_events: list[str]


def _dossier(request, number):
    from guichet.api.api import scoped_dossiers

    return get_object_or_404(scoped_dossiers(request.auth), number=number)


def _state(dossier, user) -> dict:
    return {"number": dossier.number, "state": dossier.state, "state_label": dossier.get_state_display(),
            "archived": dossier.archived, "available_events": [t.event for t in workflow.available(dossier, user)]}


@router.get("/dossiers/{number}/history", response=list[EventOut],
            summary="Historique d'un dossier (dépôt, modifications, changements d'état)")
def history(request, number: str):
    dossier = _dossier(request, number)
    return [{"at": e.at.isoformat(), "kind": e.kind, "event": e.event, "label": e.get_kind_display(),
             "from_state": e.from_state, "to_state": e.to_state, "actor": e.actor.email if e.actor else None,
             "motivation": e.motivation} for e in dossier.events.select_related("actor")]


@router.post("/dossiers/{number}/transitions", response={200: StateOut},
             summary="Appliquer une action de l'instruction (passer en instruction, accepter, refuser…)")
def transition(request, number: str, payload: TransitionIn):
    require_write(request)
    dossier = _dossier(request, number)
    try:
        dossier = workflow.apply(dossier, payload.event, request.auth, motivation=payload.motivation)
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from None
    except workflow.TransitionError as exc:
        raise HttpError(409, exc.messages[0]) from None
    return _state(dossier, request.auth)
