"""Precomputed statistics: the figures of each scope (a call, a region, the country) kept as last computed, so
that the statistics pages, the « Bilan de l'appel » and the API answer in a few queries whatever the number of
dossiers (computing a region of 100 000 dossiers takes seconds).

- ``get(scope)`` returns the scope's ``statistics.Statistics`` from its ``StatisticsSnapshot``, with when they
  were computed and whether they are being refreshed; a scope never computed is computed there, once, and kept.
- When data feeding the figures changes (a dossier changes state, a grant, a payment, an action line of the
  commission or a call is saved; ``signals``), ``mark_stale`` flags the call's, its region's and the national
  snapshots in one UPDATE and, after the commit, queues one ``refresh_statistics`` task per scope that has no
  refresh queued yet (the debounce). A stale snapshot is still shown, with its date and « mise à jour en cours ».
- A filing marks nothing (it must stay cheap at a deadline rush): a snapshot read when older than
  ``GUICHET_STATISTICS_MAX_AGE`` seconds queues its own refresh, so new filings show within that time.
- ``refresh_all`` (``manage.py refresh_statistics``) recomputes every scope, e.g. nightly.

The payload is the same computation as ``statistics.compute`` (the national one names no one), stored as JSON:
counts as numbers, euros, days and percents as decimal strings (never floats).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from guichet.calls.models import Call
from guichet.establishments.models import Region
from guichet.funding.models import Grant

from . import statistics
from .models import StatisticsSnapshot

NATIONAL = "national"


@dataclass(frozen=True)
class Snapshot:
    stats: statistics.Statistics
    computed_at: dt.datetime
    stale: bool


def key_of(scope: statistics.Scope) -> str:
    if scope.level == statistics.CALL:
        return f"call:{scope.call.pk}"
    return f"region:{scope.region.pk}" if scope.level == statistics.REGION else NATIONAL


def keys_for(call_id=None, region_id=None) -> list[str]:
    """The scopes a change to a call's (or a region's) data touches: the call, its region, the country."""
    keys = [NATIONAL]
    if call_id:
        keys.append(f"call:{call_id}")
    if region_id:
        keys.append(f"region:{region_id}")
    return keys


# --- JSON -------------------------------------------------------------------------------------------

def _dump_value(value):
    return str(value) if isinstance(value, Decimal) else value


def _load_value(value):
    return Decimal(value) if isinstance(value, str) else value


def dump(stats: statistics.Statistics) -> dict:
    time = stats.time
    return {
        "time": [time.decided, _dump_value(time.median_days), _dump_value(time.usual_days)],
        "figures": [{"key": f.key, "title": f.title, "label_header": f.label_header, "series": list(f.series),
                     "units": list(f.units), "note": f.note, "charted": list(f.charted),
                     "rows": [[r.label, [_dump_value(v) for v in r.values], r.key] for r in f.rows]}
                    for f in stats.figures],
    }


def load(scope: statistics.Scope, payload: dict) -> statistics.Statistics:
    decided, median, usual = payload["time"]
    figures = [statistics.Figure(
        f["key"], f["title"], f["label_header"], tuple(f["series"]), tuple(f["units"]),
        tuple(statistics.Row(label, tuple(_load_value(v) for v in values), key) for label, values, key in f["rows"]),
        f["note"], tuple(f["charted"])) for f in payload["figures"]]
    return statistics.Statistics(scope, statistics.ProcessingTime(decided, _load_value(median), _load_value(usual)),
                                 figures)


# --- reading and refreshing -------------------------------------------------------------------------

def store(scope: statistics.Scope) -> Snapshot:
    """Compute the scope's figures now and keep them (fresh)."""
    stats = statistics.compute(scope)
    now = timezone.now()
    StatisticsSnapshot.objects.update_or_create(key=key_of(scope), defaults={
        "computed_at": now, "payload": dump(stats), "stale": False})
    return Snapshot(stats, now, False)


def get(scope: statistics.Scope) -> Snapshot:
    """The scope's figures as last computed (computed and kept now if they never were)."""
    found = StatisticsSnapshot.objects.filter(key=key_of(scope)).first()
    if found is None:
        return store(scope)
    aged = found.computed_at < timezone.now() - dt.timedelta(seconds=settings.GUICHET_STATISTICS_MAX_AGE)
    if aged and not found.refresh_pending:
        _flush([found.key])
        found.stale = True
    return Snapshot(load(scope, found.payload), found.computed_at, found.stale)


def scope_of(key: str) -> statistics.Scope | None:
    """The scope a snapshot key names (None when its call or region no longer exists)."""
    if key == NATIONAL:
        return statistics.for_country()
    kind, _, pk = key.partition(":")
    if kind == "call":
        call = Call.objects.select_related("region").filter(pk=pk).first()
        return call and statistics.for_call(call)
    region = Region.objects.filter(pk=pk).first() if kind == "region" else None
    return region and statistics.for_region(region)


def refresh(key: str) -> None:
    """Recompute one scope (the task). The pending flag is cleared first: a change while computing queues
    another refresh rather than being lost."""
    StatisticsSnapshot.objects.filter(key=key).update(refresh_pending=False)
    scope = scope_of(key)
    if scope is None:
        StatisticsSnapshot.objects.filter(key=key).delete()
        return
    store(scope)


def mark_stale(keys) -> None:
    """Once the transaction commits, flag the scopes' snapshots stale (one UPDATE) and queue a refresh for each
    that has none queued. No query before the commit: a save or a transition costs nothing more in its request
    until then, and a rolled-back change marks nothing. Scopes never computed have no snapshot: they are
    computed when first asked for."""
    transaction.on_commit(_Batch(keys))


class _Batch:
    """Scopes changed in a transaction, flushed after its commit. A transaction saving many rows registers many
    batches: the first to run flushes the keys of those still waiting after it (Django runs the callbacks one by
    one, the others still listed), which then have nothing left to do — one UPDATE per commit."""

    def __init__(self, keys):
        self.keys = set(keys)

    def __call__(self):
        if not self.keys:
            return
        waiting = [entry[1] for entry in getattr(transaction.get_connection(), "run_on_commit", [])]
        later = waiting[waiting.index(self) + 1:] if self in waiting else waiting
        keys = set()
        for batch in [self, *(b for b in later if isinstance(b, _Batch))]:
            keys |= batch.keys
            batch.keys = set()
        _flush(keys)


def _resolve(keys) -> list[str]:
    """Snapshot keys from the keys marked, where « grant-action:<pk> » (a payment's) and « agenda-item:<pk> »
    (a commission's action line) stand for their call's and region's, looked up here in one query each rather
    than in the request, once per saved row."""
    found = {k for k in keys if not k.startswith(("grant-action:", "agenda-item:"))}
    actions = [k.partition(":")[2] for k in keys if k.startswith("grant-action:")]
    items = [k.partition(":")[2] for k in keys if k.startswith("agenda-item:")]
    if actions:
        for call_id, region_id in Grant.objects.filter(actions__pk__in=actions).values_list("call_id", "region_id"):
            found.update(keys_for(call_id, region_id))
    if items:
        for call_id, region_id in Call.objects.filter(sessions__items__pk__in=items).values_list("pk", "region_id"):
            found.update(keys_for(call_id, region_id))
    return sorted(found)


def _flush(keys) -> None:
    keys = _resolve(keys)
    to_queue = list(StatisticsSnapshot.objects.filter(key__in=keys, refresh_pending=False)
                    .values_list("key", flat=True))
    StatisticsSnapshot.objects.filter(key__in=keys).update(stale=True, refresh_pending=True)
    if to_queue:
        from .tasks import refresh_statistics

        for key in to_queue:
            refresh_statistics.enqueue(key)


def refresh_all() -> int:
    """Recompute every call's, region's and the national figures; returns the number of scopes."""
    # A queued refresh lost (no worker) must not block the next ones.
    StatisticsSnapshot.objects.update(refresh_pending=False)
    scopes = [statistics.for_country()]
    scopes += [statistics.for_region(r) for r in Region.objects.order_by("name")]
    scopes += [statistics.for_call(c) for c in Call.objects.calls().select_related("region").order_by("pk")]
    for scope in scopes:
        store(scope)
    return len(scopes)
