"""A call's calendar: the filing period, then the phases an ARS announces (instruction, commission
sessions, notification and conventions), shown to applicants and instructors; and the reminders
sent to the owners of drafts before the filing deadline."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone

from . import deadlines

PARIS = ZoneInfo("Europe/Paris")
PHASE_KINDS = {
    "filing": "Dépôt des dossiers",
    "instruction": "Instruction des projets",
    "commission": "Commission d'arbitrage",
    "notification": "Notification et conventionnement",
    "other": "Étape",
}


def parse_moment(value, *, end=False) -> dt.datetime | None:
    """An ISO date (the whole day, Paris time) or date-time (Paris time when naive)."""
    if not value:
        return None
    if isinstance(value, dt.datetime):
        moment = value
    else:
        text = str(value)
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            moment = dt.datetime.combine(day, dt.time.max if end else dt.time.min)
        else:
            moment = dt.datetime.fromisoformat(text)
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=PARIS)


def closing_moment(value) -> dt.datetime | None:
    """The end of a phase as an excluded instant: a day is included whole (``deadlines.closing_instant``)."""
    if not value:
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return deadlines.closing_instant(value)
    if isinstance(value, str) and len(value) == 10:
        return deadlines.closing_instant(dt.date.fromisoformat(value))
    return parse_moment(value)


def calendar(call, now=None) -> list[dict]:
    """The phases; ``ends_at`` is for display (a day's last moment), ``closes_at`` the excluded end."""
    now = now or timezone.now()
    items = [{"kind": "filing", "label": PHASE_KINDS["filing"], "starts_at": call.opens_at,
              "ends_at": call.closes_at, "closes_at": call.closes_at}]
    for phase in call.phases or []:
        kind = phase.get("kind", "other")
        items.append({"kind": kind, "label": phase.get("label") or PHASE_KINDS.get(kind, PHASE_KINDS["other"]),
                      "starts_at": parse_moment(phase.get("starts_at")),
                      "ends_at": parse_moment(phase.get("ends_at"), end=True),
                      "closes_at": closing_moment(phase.get("ends_at"))})
    items.sort(key=lambda p: p["starts_at"] or p["ends_at"] or now)
    for item in items:
        start, closes = item["starts_at"], item["closes_at"]
        item["past"] = closes is not None and deadlines.has_closed(closes, now)
        item["current"] = (start is None or start <= now) and not item["past"]
    return items


def shift_phases(phases: list, delta: dt.timedelta) -> list:
    """The same phases moved by ``delta`` (demo calls): dates stay dates, date-times stay date-times."""
    shifted = []
    for phase in phases or []:
        moved = dict(phase)
        for key in ("starts_at", "ends_at"):
            value = phase.get(key)
            if not value:
                continue
            if len(str(value)) == 10:
                moved[key] = (dt.date.fromisoformat(str(value)) + dt.timedelta(days=delta.days)).isoformat()
            else:
                moved[key] = (parse_moment(value) + delta).isoformat()
        shifted.append(moved)
    return shifted


def shift_windows(windows: list, delta: dt.timedelta) -> list:
    """Payment windows moved by ``delta`` whole days (demo calls), the years in their labels following
    their payment date."""
    import re

    shifted = []
    for window in windows or []:
        moved = dict(window)
        for key in ("received_from", "received_until", "paid_by"):
            if window.get(key):
                moved[key] = (dt.date.fromisoformat(str(window[key])) + dt.timedelta(days=delta.days)).isoformat()
        if moved.get("paid_by") and moved.get("label"):
            moved["label"] = re.sub(r"\b20\d\d\b", moved["paid_by"][:4], moved["label"])
        shifted.append(moved)
    return shifted
