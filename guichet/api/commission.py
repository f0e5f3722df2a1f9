"""API endpoints of the commission: a call's ranking, its sessions and arbitration table, the decisions
applied, and the grants they created. Read-only.

Everything is reached through the same scopes as the pages: ``Call.objects.instructed_by`` for a call,
``arbitration.sessions_visible_to`` for a session, ``Grant.objects.visible_to`` for a grant; anything of
another region answers 404. Ceilings and totals come from ``guichet.commission.arbitration`` (the rules
live there, not here). Each endpoint runs a fixed number of SQL queries whatever the number of rows;
the lists are paginated with a cursor (the last id seen), like the dossier list.
"""

import datetime as dt

from django.db.models import Count, F, Prefetch, Sum
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema
from pydantic import Field

from guichet.api.errors import responses
from guichet.api.inputs import id_param, slug_param
from guichet.api.pagination import cursor_param, money, page
from guichet.api.schemas import decimal_string, paris_time
from guichet.calls.models import Call
from guichet.commission import arbitration, scoring
from guichet.commission.models import AgendaItem, ConventionKind, Decision
from guichet.core import audit
from guichet.dossiers.models import Dossier, State
from guichet.establishments.models import Establishment
from guichet.funding.models import Grant, GrantAction, GrantStatus

router = Router(tags=["commission"])

# The same page sizes and cursor rule as the dossier list (guichet.api.api, not imported here: it
# imports this module at its end).
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
LIST_ERRORS = responses(400, 401, 404, 422)  # a bad cursor, no token, an unknown call filter, a bad parameter
DECISIONS = dict(Decision.choices)
CONVENTION_KINDS = dict(ConventionKind.choices)
HEAVY_DOSSIER_FIELDS = ("dossier__answers", "dossier__pending")  # never needed here

NEXT_CURSOR = Field(description="À passer en ?cursor= pour obtenir la page suivante ; null sur la dernière page.")
MONEY = "chaîne décimale, en euros"


# --- schemas -----------------------------------------------------------------------------------

class CriterionOut(Schema):
    id: int
    label: str
    help: str
    weight: str = Field(description="Coefficient, chaîne décimale.", examples=["2.00"])
    scale_max: int = Field(description="Note maximale du critère (de 0 à scale_max).")


class DossierScoreOut(Schema):
    number: str
    establishment: str = Field(description="Raison sociale de l'établissement porteur.")
    finess: str = Field(description="FINESS géographique de l'établissement porteur.")
    mean: str | None = Field(description="Note moyenne sur 20 (chaîne décimale) ; null si le dossier n'est pas noté.")
    spread: str | None = Field(description="Écart entre la note la plus haute et la plus basse des notateurs, sur 20.")
    scorers: int = Field(description="Nombre de notateurs.")
    rank: int | None = Field(description="Rang (ex aequo : même rang) ; null si le dossier n'est pas noté.")


class RankingOut(Schema):
    call: str
    criteria: list[CriterionOut] = Field(description="La grille de notation de l'appel.")
    dossiers: list[DossierScoreOut] = Field(description="Dossiers déposés, par note décroissante (non notés en fin).")


class SessionSummaryOut(Schema):
    id: int
    call: str = Field(description="Identifiant d'adresse (slug) de l'appel.")
    title: str
    held_on: dt.datetime
    place: str
    status: str = Field(description="preparation ou decided.")
    status_label: str
    decided_at: dt.datetime | None
    agenda_size: int = Field(description="Nombre de dossiers à l'ordre du jour.")


class SessionPage(Schema):
    items: list[SessionSummaryOut]
    next_cursor: str | None = NEXT_CURSOR


class MemberOut(Schema):
    name: str = Field(description="Prénom et nom (à défaut, adresse électronique).")
    capacity: str = Field(description="Code de la qualité : president, membre, expert, secretaire.")
    capacity_label: str
    organisation: str


class TotalsOut(Schema):
    envelope: str | None = Field(description=f"Enveloppe de l'appel ({MONEY}) ; null si elle n'est pas fixée.")
    committed: str = Field(description=f"Montants accordés sur l'appel, toutes séances ({MONEY}).")
    remaining: str | None = Field(description=f"Reste disponible ({MONEY}).")


class LineOut(Schema):
    position: int
    title: str
    establishments: str = Field(description="Établissements concernés, tels que déclarés.")
    cost: str
    eligible_cost: str
    requested: str
    proposed: str | None
    granted: str | None
    ceiling: str = Field(description="Plafond : taux de cofinancement × coût éligible (arrondi au centime "
                                     "inférieur), sans dépasser le montant demandé.")


class AgendaItemOut(Schema):
    number: str | None = Field(description="Numéro du dossier.")
    establishment: str
    finess: str
    decision: str = Field(description="Code de la décision ; chaîne vide tant qu'elle n'est pas prise.")
    decision_label: str
    motivation: str
    convention_kind: str
    applied_at: dt.datetime | None
    lines: list[LineOut]


class SessionOut(SessionSummaryOut):
    signatory_name: str
    signatory_title: str
    convention_starts_on: dt.date | None
    convention_ends_on: dt.date | None
    members: list[MemberOut]
    totals: TotalsOut = Field(description="Totaux de l'appel de la séance.")
    items: list[AgendaItemOut]


class DecisionOut(Schema):
    number: str | None
    establishment: str
    finess: str
    session: int = Field(description="Identifiant de la séance.")
    decision: str
    decision_label: str
    motivation: str
    granted_total: str = Field(description=f"Total accordé au dossier ({MONEY}).")
    applied_at: dt.datetime


class DecisionPage(Schema):
    items: list[DecisionOut]
    next_cursor: str | None = NEXT_CURSOR


class BeneficiaryOut(Schema):
    name: str
    finess: str = Field(description="FINESS géographique (ET).")


class LegalEntityOut(Schema):
    name: str
    finess: str = Field(description="FINESS juridique (EJ).")
    siren: str


class ConventionOut(Schema):
    reference: str
    kind: str = Field(description="convention ou avenant.")
    kind_label: str
    starts_on: dt.date | None
    ends_on: dt.date | None
    signed_on: dt.date | None


class GrantActionOut(Schema):
    position: int
    title: str
    ceiling: str = Field(description=f"Plafond de l'action ({MONEY}).")
    eligible_cost: str | None
    establishments: list[str] = Field(description="FINESS des établissements concernés.")


class GrantOut(Schema):
    id: int
    call: str | None = Field(description="Identifiant d'adresse (slug) de l'appel ; null pour une subvention importée.")
    call_year: int
    dossier: str | None = Field(description="Numéro du dossier.")
    session: int | None
    beneficiary: BeneficiaryOut = Field(description="Établissement porteur, qui reçoit la subvention.")
    legal_entity: LegalEntityOut | None
    rate: str = Field(description="Taux de cofinancement en %, chaîne décimale.")
    total: str = Field(description=f"Montant total accordé ({MONEY}).")
    convention: ConventionOut
    status: GrantStatus
    status_label: str
    decided_at: dt.datetime | None
    activated_at: dt.datetime | None
    actions: list[GrantActionOut]


class GrantPage(Schema):
    items: list[GrantOut]
    next_cursor: str | None = NEXT_CURSOR


# --- helpers -----------------------------------------------------------------------------------

def _call(request, slug: str) -> Call:
    from guichet.api.api import scoped_calls

    return get_object_or_404(scoped_calls(request.auth), slug=slug)




def _session_summary(session) -> dict:
    return {"id": session.pk, "call": session.call.slug, "title": session.title,
            "held_on": paris_time(session.held_on), "place": session.place, "status": session.status,
            "status_label": session.get_status_display(), "decided_at": paris_time(session.decided_at),
            "agenda_size": session.agenda_size}


def _item(item, rate) -> dict:
    establishment = item.dossier.establishment
    return {
        "number": item.dossier.number, "establishment": establishment.name, "finess": establishment.finess,
        "decision": item.decision, "decision_label": DECISIONS.get(item.decision, item.decision),
        "motivation": item.motivation, "convention_kind": item.convention_kind,
        "applied_at": paris_time(item.applied_at),
        "lines": [{"position": line.position, "title": line.title, "establishments": line.establishments,
                   "cost": str(line.cost), "eligible_cost": str(line.eligible_cost),
                   "requested": str(line.requested), "proposed": decimal_string(line.proposed),
                   "granted": decimal_string(line.granted),
                   "ceiling": str(arbitration.line_ceiling(line, rate))} for line in item.lines.all()],
    }


def _grants(user):
    return (Grant.objects.visible_to(user)
            .select_related("call", "beneficiary", "legal_entity").annotate(dossier_number=F("dossier__number"))
            .prefetch_related(Prefetch("actions", queryset=GrantAction.objects.prefetch_related(
                Prefetch("establishments", queryset=Establishment.objects.only("pk", "finess"))))))


def _grant(grant) -> dict:
    entity = grant.legal_entity
    return {
        "id": grant.pk, "call": grant.call.slug if grant.call_id else None, "call_year": grant.call_year,
        "dossier": grant.dossier_number, "session": grant.session_id,
        "beneficiary": {"name": grant.beneficiary.name, "finess": grant.beneficiary.finess},
        "legal_entity": None if entity is None else {"name": entity.name, "finess": entity.finess,
                                                     "siren": entity.siren},
        "rate": str(grant.rate), "total": str(grant.total),
        "convention": {"reference": grant.convention_reference, "kind": grant.convention_kind,
                       "kind_label": CONVENTION_KINDS.get(grant.convention_kind, grant.convention_kind),
                       "starts_on": grant.convention_starts_on, "ends_on": grant.convention_ends_on,
                       "signed_on": grant.convention_signed_on},
        "status": grant.status, "status_label": grant.get_status_display(),
        "decided_at": paris_time(grant.decided_at), "activated_at": paris_time(grant.activated_at),
        "actions": [{"position": a.position, "title": a.title, "ceiling": str(a.ceiling),
                     "eligible_cost": decimal_string(a.eligible_cost),
                     "establishments": sorted(e.finess for e in a.establishments.all())}
                    for a in grant.actions.all()],
    }


# --- endpoints ---------------------------------------------------------------------------------

@router.get("/calls/{slug}/scores", response={200: RankingOut, **responses(401, 404, 422)},
            summary="Classement des dossiers d'un appel : note moyenne sur 20, écart, notateurs, rang ; la grille")
def call_scores(request, slug: str = slug_param()):
    from guichet.api.api import scoped_calls

    call = get_object_or_404(scoped_calls(request.auth).prefetch_related("criteria"), slug=slug)
    scores = scoring.ranking(call)  # reads the prefetched criteria
    dossiers = {pk: (number, name, finess) for pk, number, name, finess in
                Dossier.objects.filter(call=call).exclude(state=State.BROUILLON)
                .values_list("pk", "number", "establishment__name", "establishment__finess")}
    audit.record(request.auth, "api:read", request=request, obj=call, resource="scores")
    return {
        "call": call.slug,
        "criteria": [{"id": c.pk, "label": c.label, "help": c.help, "weight": str(c.weight),
                      "scale_max": c.scale_max} for c in call.criteria.all()],
        "dossiers": [{"number": dossiers[s.dossier_id][0], "establishment": dossiers[s.dossier_id][1],
                      "finess": dossiers[s.dossier_id][2], "mean": decimal_string(s.mean),
                      "spread": decimal_string(s.spread), "scorers": len(s.marks), "rank": s.rank}
                     for s in scores if s.dossier_id in dossiers],
    }


@router.get("/sessions", response={200: SessionPage, **LIST_ERRORS},
            summary="Séances de commission de la région du jeton (pagination par curseur)")
def list_sessions(
    request,
    call: str | None = Query(None, description="Identifiant d'adresse (slug) d'un appel."),
    cursor: str | None = cursor_param(),
    limit: int = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
):
    sessions = arbitration.sessions_visible_to(request.auth).select_related("call").annotate(
        agenda_size=Count("items", distinct=True))
    if call is not None:
        sessions = sessions.filter(call=_call(request, call))
    rows, next_cursor = page(sessions, cursor, limit)
    return {"items": [_session_summary(s) for s in rows], "next_cursor": next_cursor}


@router.get("/sessions/{session_id}", response={200: SessionOut, **responses(401, 404, 422)},
            summary="Une séance : membres, totaux de l'appel, ordre du jour et tableau d'arbitrage")
def get_session(request, session_id: int = id_param("de la séance")):
    session = get_object_or_404(arbitration.sessions_visible_to(request.auth).select_related("call")
                                .annotate(agenda_size=Count("items", distinct=True)), pk=session_id)
    rate = session.call.cofinancing_rate
    items = (session.items.select_related("dossier__establishment").defer(*HEAVY_DOSSIER_FIELDS)
             .prefetch_related("lines"))
    members = session.members.select_related("user")
    totals = arbitration.totals(session.call)
    audit.record(request.auth, "api:read", request=request, obj=session)
    return {
        **_session_summary(session),
        "signatory_name": session.signatory_name, "signatory_title": session.signatory_title,
        "convention_starts_on": session.convention_starts_on, "convention_ends_on": session.convention_ends_on,
        "members": [{"name": m.user.get_full_name() or m.user.email, "capacity": m.capacity,
                     "capacity_label": m.get_capacity_display(), "organisation": m.organisation} for m in members],
        "totals": {"envelope": decimal_string(totals.envelope), "committed": money(totals.committed),
                   "remaining": decimal_string(totals.remaining)},
        "items": [_item(item, rate) for item in items],
    }


@router.get("/decisions", response={200: DecisionPage, **LIST_ERRORS},
            summary="Décisions appliquées sur un appel, avec le total accordé (pagination par curseur)")
def list_decisions(
    request,
    call: str = Query(..., description="Identifiant d'adresse (slug) de l'appel."),
    cursor: str | None = cursor_param(),
    limit: int = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
):
    the_call = _call(request, call)
    items = (AgendaItem.objects
             .filter(session__in=arbitration.sessions_visible_to(request.auth).filter(call=the_call),
                     applied_at__isnull=False)
             .select_related("dossier__establishment").defer(*HEAVY_DOSSIER_FIELDS)
             .annotate(granted_total=Sum("lines__granted")))
    rows, next_cursor = page(items, cursor, limit)
    return {"items": [{"number": i.dossier.number, "establishment": i.dossier.establishment.name,
                       "finess": i.dossier.establishment.finess, "session": i.session_id, "decision": i.decision,
                       "decision_label": DECISIONS.get(i.decision, i.decision), "motivation": i.motivation,
                       "granted_total": money(i.granted_total), "applied_at": paris_time(i.applied_at)}
                      for i in rows],
            "next_cursor": next_cursor}


@router.get("/grants", response={200: GrantPage, **LIST_ERRORS},
            summary="Subventions de la région du jeton, avec leurs actions et plafonds (pagination par curseur)")
def list_grants(
    request,
    call: str | None = Query(None, description="Identifiant d'adresse (slug) d'un appel."),
    status: GrantStatus | None = None,
    cursor: str | None = cursor_param(),
    limit: int = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
):
    grants = _grants(request.auth)
    if call is not None:
        grants = grants.filter(call=_call(request, call))
    if status is not None:
        grants = grants.filter(status=status)
    rows, next_cursor = page(grants, cursor, limit)
    return {"items": [_grant(g) for g in rows], "next_cursor": next_cursor}


@router.get("/grants/{grant_id}", response={200: GrantOut, **responses(401, 404, 422)},
            summary="Une subvention : bénéficiaire, entité juridique, convention, actions et plafonds")
def get_grant(request, grant_id: int = id_param("de la subvention")):
    grant = get_object_or_404(_grants(request.auth), pk=grant_id)
    audit.record(request.auth, "api:read", grant.dossier_id, request, obj=grant)
    return _grant(grant)
