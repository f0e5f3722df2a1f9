"""API endpoints of instruction: a dossier's history, and taking an event of the state machine.

They call the same domain function as the instructor's page (``workflow.apply``): the same guards,
the same history row, the same e-mail to the applicant.
"""

import datetime as dt
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema
from ninja.errors import HttpError, ValidationError
from pydantic import Field

from guichet.api.auth import require_write
from guichet.api.errors import responses
from guichet.api.inputs import InputSchema, number_param, slug_param
from guichet.core.ids import MAX_ID
from guichet.core.money import MAX_AMOUNT
from guichet.dossiers import workflow
from guichet.instruction import workspace

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


EVENTS = ", ".join(workflow.TRANSITIONS)


class TransitionIn(InputSchema):
    event: str = Field(min_length=1, max_length=100, examples=["passer_en_instruction"],
                       description=f"Code de l'action : {EVENTS} ; les actions possibles sur un dossier sont dans "
                                   "« available_events ». Une action inconnue ou impossible dans l'état du dossier "
                                   "est refusée (409).")
    motivation: str = Field("", max_length=10000,
                            description="Motivation, obligatoire pour certaines actions (demande de correction, refus, "
                                        "classement) ; 10 000 caractères au plus, comme sur la page de l'instructeur.")


class StateOut(Schema):
    number: str
    state: str
    state_label: str
    archived: bool
    available_events: list[str]


class WorkspaceQuery(InputSchema):
    """The workspace's tab, filters, search and sort, as query parameters."""

    tab: str = workspace.DEFAULT_TAB
    state: str = ""
    sector: str = ""
    department: str = ""
    legal_status: str = ""
    theme: str = ""
    amount_min: Decimal | None = Field(None, allow_inf_nan=False, ge=-MAX_AMOUNT, le=MAX_AMOUNT, decimal_places=2)
    amount_max: Decimal | None = Field(None, allow_inf_nan=False, ge=-MAX_AMOUNT, le=MAX_AMOUNT, decimal_places=2)
    label: int | None = Field(None, ge=1, le=MAX_ID, description="Identifiant d'une étiquette.")
    group: int | None = Field(None, ge=0, le=MAX_ID, description="Identifiant d'un groupe d'instructeurs ; 0 : "
                                                                  "dossiers affectés à aucun groupe.")
    filed_from: dt.datetime | None = None
    filed_to: dt.datetime | None = None
    q: str = ""
    awaited: bool | None = Field(None, description="true : dossiers ayant au moins un document attendu non reçu ; "
                                                   "false : dossiers sans document attendu.")
    sort: str = workspace.DEFAULT_SORT
    cursor: str = Field("", description="Curseur de pagination : la valeur de `next_cursor` de la page précédente, "
                                        "telle quelle (une chaîne opaque) ; vide pour la première page. Un curseur "
                                        "illisible ou fait pour un autre tri ramène à la première page.")
    limit: int = Field(50, ge=1, le=200)


class WorkspaceRow(Schema):
    number: str | None
    state: str
    establishment: str
    category: str
    department: str
    sector: str
    filed_at: dt.datetime | None
    requested_amount: str | None
    label_ids: list[int]


class WorkspacePage(Schema):
    items: list[WorkspaceRow]
    next_cursor: str | None
    counts: dict[str, int]


def _dossier(request, number):
    from guichet.api.api import scoped_dossiers

    return get_object_or_404(scoped_dossiers(request.auth), number=number)


def _state(dossier, user) -> dict:
    return {"number": dossier.number, "state": dossier.state, "state_label": dossier.get_state_display(),
            "archived": dossier.archived, "available_events": [t.event for t in workflow.available(dossier, user)]}


@router.get("/dossiers/{number}/history", response={200: list[EventOut], **responses(401, 404, 422)},
            summary="Historique d'un dossier (dépôt, modifications, changements d'état)")
def history(request, number: str = number_param()):
    dossier = _dossier(request, number)
    return [{"at": e.at.isoformat(), "kind": e.kind, "event": e.event, "label": e.get_kind_display(),
             "from_state": e.from_state, "to_state": e.to_state, "actor": e.actor.email if e.actor else None,
             "motivation": e.motivation} for e in dossier.events.select_related("actor")]


@router.post("/dossiers/{number}/transitions", response={200: StateOut, **responses(400, 401, 403, 404, 409, 422)},
             summary="Appliquer une action de l'instruction (passer en instruction, accepter, refuser…)")
def transition(request, payload: TransitionIn, number: str = number_param()):
    require_write(request)
    dossier = _dossier(request, number)
    try:
        dossier = workflow.apply(dossier, payload.event, request.auth, motivation=payload.motivation)
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from None
    except workflow.TransitionError as exc:
        raise HttpError(409, exc.messages[0]) from None
    return _state(dossier, request.auth)


@router.get("/calls/{slug}/workspace", response={200: WorkspacePage, **responses(401, 404, 422)},
            summary="Liste d'instruction d'un appel : onglets, filtres, recherche, tri (pagination par curseur)")
def call_workspace(request, params: Query[WorkspaceQuery], slug: str = slug_param()):
    from guichet.api.api import scoped_calls

    call = get_object_or_404(scoped_calls(request.auth), slug=slug)
    if params.tab not in dict(workspace.TABS):
        allowed = ", ".join(dict(workspace.TABS))
        raise ValidationError([{"loc": ["query", "tab"], "type": "value_error",
                                "msg": f"Onglet inconnu « {params.tab} » (permis : {allowed})."}])
    filters = workspace.Filters(state=params.state, sector=params.sector, department=params.department,
                                legal_status=params.legal_status, theme=params.theme, amount_min=params.amount_min,
                                amount_max=params.amount_max, label=params.label, group=params.group,
                                filed_from=params.filed_from, filed_to=params.filed_to, q=params.q,
                                awaited=params.awaited)
    result = workspace.page(call, request.auth, params.tab, filters, params.sort, params.cursor, params.limit)
    items = [{"number": r["number"], "state": r["state"], "establishment": r["establishment_name"],
              "category": r["category"], "department": r["department"], "sector": r["sector"],
              "filed_at": r["filed_at"], "requested_amount": None if r["amount"] is None else str(r["amount"]),
              "label_ids": r["label_ids"]} for r in result.rows]
    return {"items": items, "next_cursor": result.next_cursor,
            "counts": workspace.tab_counts(call, request.auth, filters)}
