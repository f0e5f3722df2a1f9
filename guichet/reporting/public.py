"""What the public page of a call shows (opt-in by the region's ARS, ``Call.public_statistics``): dossiers
received and decided, the usual processing time, the amounts delegated — aggregates only, never a name.

Small counts identify: in a call where two EHPAD applied, « 1 dossier médico-social refusé » names a refusal,
and a median over one dossier is that dossier's duration. So (the statistical-secrecy rule of thumb of public
statistics, applied to the number of dossiers behind each published number):
- the totals (received, decided) are always shown: they name no one;
- a breakdown (by sector, by decision) is shown only when each of its non-zero cells counts at least
  ``THRESHOLD`` dossiers — hiding a single cell would not do, the total gives it back by subtraction;
- the processing time only when at least ``THRESHOLD`` dossiers were decided;
- the amounts delegated only when at least ``THRESHOLD`` grants make them up (else it is one or two
  establishments' grant);
and the page says what it left out and why. Pure: reads a ``statistics.Statistics`` of a call.
"""

from __future__ import annotations

from dataclasses import dataclass

from guichet.dossiers.models import State

from . import charts, statistics

THRESHOLD = 3
FIGURES = ("etats", "secteurs", "montants", "justificatifs")  # what ``figures`` reads, besides the time


@dataclass(frozen=True)
class Breakdown:
    title: str
    rows: tuple[tuple[str, str], ...]  # (label, count as written), () when suppressed
    suppressed: bool


def _breakdown(title: str, pairs: list[tuple[str, int]]) -> Breakdown:
    if any(0 < n < THRESHOLD for _, n in pairs):
        return Breakdown(title, (), True)
    return Breakdown(title, tuple((label, charts.number(n, statistics.COUNT)) for label, n in pairs), False)


def figures(stats: statistics.Statistics) -> dict:
    """The public page's figures: written numbers, and the breakdowns, times and amounts left out."""
    states = {r.key: r.values[0] for r in stats.figure("etats").rows}
    sectors = {r.key: (r.label, r.values[0]) for r in stats.figure("secteurs").rows}
    decided = sum(states.get(s, 0) for s in statistics.DECIDED)
    money = {r.key: r.values[0] for r in stats.figure("montants").rows}
    grants = {r.key: r.values[1] for r in stats.figure("justificatifs").rows}.get("subventions") or 0
    time = stats.time
    breakdowns = [_breakdown("Dossiers reçus par secteur", [sectors[k] for k in sectors if sectors[k][1]])]
    if decided:
        breakdowns.append(_breakdown("Dossiers décidés, par décision", [
            ("Retenus", states.get(State.ACCEPTE, 0)), ("Refusés", states.get(State.REFUSE, 0)),
            ("Classés sans suite", states.get(State.SANS_SUITE, 0))]))
    return {
        "received": stats.filed,
        "decided": decided,
        "breakdowns": breakdowns,
        "time_shown": time.decided >= THRESHOLD,
        "median": charts.number(time.median_days, statistics.DAYS),
        "usual": charts.number(time.usual_days, statistics.DAYS),
        "amounts_shown": grants >= THRESHOLD,
        "granted": charts.number(money["accorde"], statistics.EUROS),
        "paid": charts.number(money["verse"], statistics.EUROS),
        "threshold": THRESHOLD,
    }
