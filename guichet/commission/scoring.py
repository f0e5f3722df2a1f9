"""Scores of dossiers: recording a scorer's grid, and the weighted score, spread and ranking.

All arithmetic is Decimal; a score is out of 20, rounded half up to the hundredth.
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from guichet.core import audit
from guichet.dossiers.models import Dossier, State
from guichet.dossiers.workflow import can_instruct
from guichet.formschema.expressions import round_half_up

from .models import Criterion, Score

TWENTY = Decimal(20)


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
    marks: dict  # scorer id -> mark /20
    mean: Decimal | None
    spread: Decimal | None
    rank: int | None = None


def scores_of(dossiers, criteria: list[Criterion]) -> dict[int, DossierScore]:
    """Scores of many dossiers in one query."""
    by_dossier: dict[int, dict[int, dict[int, int]]] = defaultdict(lambda: defaultdict(dict))
    for dossier_id, scorer_id, criterion_id, value in Score.objects.filter(
            dossier__in=dossiers, criterion__in=criteria).values_list("dossier_id", "scorer_id", "criterion_id",
                                                                      "value"):
        by_dossier[dossier_id][scorer_id][criterion_id] = value
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
    """Save ``scorer``'s grid for ``dossier`` (criterion id -> value); a missing value removes that score."""
    if not can_instruct(scorer, dossier):
        raise PermissionDenied("Seule l'ARS de la région de l'appel note les dossiers.")
    if dossier.state == State.BROUILLON:
        raise ValidationError("Un brouillon ne se note pas.")
    comments = comments or {}
    for criterion in dossier.call.criteria.all():
        value = values.get(criterion.pk)
        if value is None:
            Score.objects.filter(dossier=dossier, criterion=criterion, scorer=scorer).delete()
            continue
        if not 0 <= value <= criterion.scale_max:
            raise ValidationError(f"« {criterion.label} » se note de 0 à {criterion.scale_max}.")
        Score.objects.update_or_create(dossier=dossier, criterion=criterion, scorer=scorer,
                                       defaults={"value": value, "comment": comments.get(criterion.pk, "")})
    audit.record(scorer, "score", dossier=dossier, request=request, values={str(k): v for k, v in values.items()})
