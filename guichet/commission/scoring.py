"""Scores of dossiers: who scores, recording a scorer's grid, and the weighted score, spread and ranking.

Scorers are the ARS staff of the call's region, the members of a commission session whose agenda holds
the dossier (whatever their role), and the experts asked for an opinion on it, through their request's
secret link (an expert has no account: their scores belong to the request). Members and experts score
while the dossier is in instruction only.

All arithmetic is Decimal; a score is out of 20, rounded half up to the hundredth.
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from guichet.core import audit
from guichet.core.ids import is_ascii_number
from guichet.dossiers.models import Dossier, State
from guichet.dossiers.workflow import can_instruct
from guichet.experts.models import ExpertRequest
from guichet.formschema.expressions import round_half_up

from .arbitration import sits_on
from .models import AgendaItem, Criterion, Score

TWENTY = Decimal(20)


# --- who scores --------------------------------------------------------------------------------

def seated_dossiers(user):
    """Dossiers on the agenda of a session ``user`` sits on (the scope behind ``arbitration.sits_on``)."""
    if not user.is_authenticated:
        return Dossier.objects.none()
    return Dossier.objects.filter(pk__in=AgendaItem.objects.filter(session__members__user=user).values("dossier_id"))


def can_score(scorer, dossier: Dossier) -> bool:
    """A user of the region's ARS, a member of a session holding the dossier, or an expert's request on it
    that the ARS has not revoked."""
    if isinstance(scorer, ExpertRequest):
        return (scorer.dossier_id == dossier.pk
                and ExpertRequest.objects.filter(pk=scorer.pk, revoked_at__isnull=True).exists())
    return can_instruct(scorer, dossier) or sits_on(scorer, dossier)


def why_closed(scorer, dossier: Dossier) -> str | None:
    """Why ``scorer`` (allowed to score the dossier) cannot score it now, in French; None when they can."""
    if dossier.state == State.BROUILLON:
        return "Un brouillon ne se note pas."
    if not isinstance(scorer, ExpertRequest) and can_instruct(scorer, dossier):
        return None
    if dossier.state == State.EN_CONSTRUCTION:
        return "La notation de ce dossier s'ouvrira quand il passera en instruction."
    if dossier.state != State.EN_INSTRUCTION:
        return "La notation de ce dossier est close : il n'est plus en instruction."
    return None


def scorer_key(scorer) -> int | str:
    """How ``DossierScore.marks`` names a scorer: a user's id, or ``"e<id>"`` for an expert's request."""
    return f"e{scorer.pk}" if isinstance(scorer, ExpertRequest) else scorer.pk


def _owner(scorer) -> dict:
    return {"expert_request": scorer} if isinstance(scorer, ExpertRequest) else {"scorer": scorer}


def scores_by(dossier: Dossier, scorer) -> dict[int, Score]:
    """``scorer``'s scores on ``dossier``, by criterion id."""
    return {s.criterion_id: s for s in Score.objects.filter(dossier=dossier, **_owner(scorer))}


# --- reading a grid typed in a page ------------------------------------------------------------

@dataclass
class GridEntry:
    """A grid as typed: the values and comments to record, and each field's text and error (French)."""

    values: dict[int, int]
    comments: dict[int, str]
    typed: dict[int, str]
    errors: dict[int, str]


def read_grid(data, criteria: list[Criterion]) -> GridEntry:
    """Read ``note-<criterion id>`` / ``commentaire-<criterion id>`` from posted ``data``; an empty mark
    is no score, anything but a whole number of the criterion's scale is an error at its field."""
    entry = GridEntry({}, {}, {}, {})
    for c in criteria:
        raw = data.get(f"note-{c.pk}", "").strip()
        entry.typed[c.pk] = raw
        entry.comments[c.pk] = data.get(f"commentaire-{c.pk}", "").strip()[:1000]
        if raw == "":
            continue
        if not is_ascii_number(raw) or len(raw) > 6 or not 0 <= int(raw) <= c.scale_max:
            entry.errors[c.pk] = f"Saisissez un nombre entier de 0 à {c.scale_max}."
        else:
            entry.values[c.pk] = int(raw)
    return entry


def grid_rows(criteria: list[Criterion], mine: dict[int, Score], entry: GridEntry | None = None) -> list[dict]:
    """What the grid's fields show: the text typed when a post comes back, else the scorer's stored score."""
    rows = []
    for c in criteria:
        stored = mine.get(c.pk)
        if entry is not None:
            value, comment = entry.typed.get(c.pk, ""), entry.comments.get(c.pk, "")
        else:
            value, comment = (stored.value, stored.comment) if stored else ("", "")
        rows.append({"criterion": c, "value": value, "comment": comment,
                     "error": entry.errors.get(c.pk) if entry else None})
    return rows


# --- marks -------------------------------------------------------------------------------------


def scorer_mark(values: dict[int, int], criteria: list[Criterion]) -> Decimal | None:
    """One scorer's mark /20: the weighted mean of value/scale over the criteria they scored."""
    weights = sum((c.weight for c in criteria if c.pk in values), Decimal(0))
    if not weights:
        return None
    total = sum((c.weight * Decimal(values[c.pk]) / Decimal(c.scale_max) for c in criteria if c.pk in values),
                Decimal(0))
    return round_half_up(TWENTY * total / weights, 2)


@dataclass
class DossierScore:
    dossier_id: int
    marks: dict  # scorer_key (user id, or "e<request id>" for an expert) -> mark /20
    mean: Decimal | None
    spread: Decimal | None
    rank: int | None = None


def scores_of(dossiers, criteria: list[Criterion]) -> dict[int, DossierScore]:
    """Scores of many dossiers in one query; each expert's request counts as one scorer."""
    by_dossier: dict[int, dict[int | str, dict[int, int]]] = defaultdict(lambda: defaultdict(dict))
    for dossier_id, scorer_id, expert_id, criterion_id, value in Score.objects.filter(
            dossier__in=dossiers, criterion__in=criteria).values_list("dossier_id", "scorer_id", "expert_request_id",
                                                                      "criterion_id", "value"):
        key = scorer_id if scorer_id is not None else f"e{expert_id}"
        by_dossier[dossier_id][key][criterion_id] = value
    result = {}
    for dossier in dossiers:
        pk = dossier.pk if isinstance(dossier, Dossier) else dossier
        marks = {scorer: mark for scorer, values in by_dossier.get(pk, {}).items()
                 if (mark := scorer_mark(values, criteria)) is not None}
        mean = round_half_up(sum(marks.values(), Decimal(0)) / len(marks), 2) if marks else None
        spread = (max(marks.values()) - min(marks.values())) if marks else None
        result[pk] = DossierScore(pk, marks, mean, spread)
    return result


def ranking(call) -> list[DossierScore]:
    """The call's filed dossiers by decreasing mean score (unscored last); equal scores share a rank."""
    criteria = list(call.criteria.all())
    dossiers = list(Dossier.objects.filter(call=call).exclude(state=State.BROUILLON).values_list("pk", flat=True))
    scores = sorted(scores_of(dossiers, criteria).values(),
                    key=lambda s: (s.mean is None, -(s.mean or 0), s.dossier_id))
    previous, rank = None, 0
    for position, item in enumerate(scores, start=1):
        if item.mean is None:
            break
        if item.mean != previous:
            rank, previous = position, item.mean
        item.rank = rank
    return scores


@transaction.atomic
def record(dossier: Dossier, scorer, values: dict[int, int], comments: dict[int, str] | None = None,
           request=None) -> None:
    """Save ``scorer``'s grid for ``dossier`` (criterion id -> value); a missing value removes that score.
    ``scorer`` is a user, or an ``ExpertRequest`` for an expert scoring through their link."""
    if not can_score(scorer, dossier):
        if isinstance(scorer, ExpertRequest):
            raise PermissionDenied("Cette demande d'avis a été annulée par l'ARS : elle ne permet plus de noter.")
        raise PermissionDenied("Seuls l'ARS de la région de l'appel et les membres d'une séance de la commission "
                               "qui examine ce dossier le notent.")
    reason = why_closed(scorer, dossier)
    if reason:
        raise ValidationError(reason)
    comments = comments or {}
    owner = _owner(scorer)
    for criterion in dossier.call.criteria.all():
        value = values.get(criterion.pk)
        if value is None:
            Score.objects.filter(dossier=dossier, criterion=criterion, **owner).delete()
            continue
        if not 0 <= value <= criterion.scale_max:
            raise ValidationError(f"« {criterion.label} » se note de 0 à {criterion.scale_max}.")
        Score.objects.update_or_create(dossier=dossier, criterion=criterion, **owner,
                                       defaults={"value": value, "comment": comments.get(criterion.pk, "")})
    details = {"values": {str(k): v for k, v in values.items()}}
    if isinstance(scorer, ExpertRequest):
        audit.record(None, "score", dossier=dossier, request=request, expert=scorer.email, **details)
    else:
        audit.record(scorer, "score", dossier=dossier, request=request, **details)
