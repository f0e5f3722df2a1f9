"""A call's deadline: the instant filing stops, and how a person reads it (one rule, one place).

The rule of the notices: a deadline given as a day includes that whole day, Europe/Paris
(« du 26 janvier 2024 au 31 juillet 2024 »: a filing at 23:59:59.999 on 31 July is on time).

Storage. ``Call.closes_at`` is the *closing instant*, excluded: a filing is accepted strictly before
it and refused from it on. A deadline given as a day D is stored as midnight, Paris time, at the start
of D + 1 (``closing_instant``); a deadline given as a precise instant (« le 31 juillet 2024 à 12 h »)
is stored as that instant. Why not « 23:59:59 on D »: an excluded bound leaves no last second, or last
millisecond, outside the day; the test is one ``<`` in Python and in SQL; and midnight always exists in
Paris (the clocks change at 2 h and 3 h), so days of 23 or 25 hours need no special case.

Reading. A closing instant at Paris midnight reads as its day, included (« jusqu'au 31 juillet 2024
inclus »); any other instant reads with its exact time, to the second (and its fraction, if any), as an
excluded bound (« avant le 31 juillet 2024 à 23 h 59 min 59 s »). Filing, reminders, pages, e-mails,
the API and the admin all use ``Deadline`` (``Call.deadline``).

Entry. The ARS types the last day, and a time only for a deadline that is not the end of a day
(``split`` / ``join``, used by the admin's deadline field).

Proofs' payment windows (``funding.payments.Window``) follow the same rule: a day ``received_until``
is included, i.e. a proof received before ``closing_instant(received_until)`` is in the window, and the
day of a receipt is its Paris day (``paris_day``).
"""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import Q

PARIS = ZoneInfo("Europe/Paris")
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")
PARIS_NOTE = "(heure de Paris)"
HELP_TEXT = ("Heure de Paris. Le dernier jour de dépôt, inclus : laissez l'heure vide. Une heure n'est à saisir "
             "que si la clôture tombe en cours de journée : aucun dépôt n'est accepté à partir de cette heure.")


# --- The instant -----------------------------------------------------------------------------------

def paris_day(instant: dt.datetime) -> dt.date:
    """The day, in Paris, of an aware instant."""
    return instant.astimezone(PARIS).date()


def closing_instant(day: dt.date) -> dt.datetime:
    """The closing instant of a deadline given as ``day``, included: the next midnight in Paris."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=PARIS)


def is_day_deadline(closes_at: dt.datetime) -> bool:
    """Whether the closing instant is the end of a whole Paris day (a deadline given as a day)."""
    return closes_at.astimezone(PARIS).time() == dt.time()


def last_day(closes_at: dt.datetime) -> dt.date:
    """The last Paris day on which filing is possible (for a day deadline, the day the notice states)."""
    return paris_day(closes_at - dt.timedelta(microseconds=1))


def _utc(instant: dt.datetime) -> dt.datetime:
    # Python compares two datetimes of the same tzinfo by wall clock, ignoring ``fold``: in UTC, the hour
    # the clocks go back (02:00-03:00 twice on the last Sunday of October) compares right.
    return instant.astimezone(dt.UTC)


def has_closed(closes_at: dt.datetime, when: dt.datetime) -> bool:
    """Whether filing is refused at ``when``: from the closing instant on."""
    return _utc(when) >= _utc(closes_at)


def is_within(opens_at: dt.datetime, closes_at: dt.datetime, when: dt.datetime) -> bool:
    """Whether ``when`` falls in the filing period: from the opening, included, to the closing, excluded."""
    return _utc(opens_at) <= _utc(when) and not has_closed(closes_at, when)


def within_q(when: dt.datetime, prefix: str = "") -> Q:
    """``is_within`` as a query filter on a Call (``prefix`` e.g. ``"call__"`` from a dossier)."""
    return Q(**{f"{prefix}opens_at__lte": when, f"{prefix}closes_at__gt": when})


# --- Entry: a day, and a time only when needed ----------------------------------------------------

class UnclearTime(ValueError):
    """A Paris wall-clock time that names no instant (skipped when the clocks go forward) or two (repeated when
    they go back): the ARS is asked for another time (French message)."""


def join(day: dt.date, time: dt.time | None) -> dt.datetime:
    """The closing instant typed as a day (``time`` None: the whole day is included) or a day and time."""
    if time is None:
        return closing_instant(day)
    naive = dt.datetime.combine(day, time)
    instant = naive.replace(tzinfo=PARIS)
    said = f"L'heure {moment_text(naive, with_day=False)}"
    if instant.astimezone(dt.UTC).astimezone(PARIS).replace(tzinfo=None) != naive:
        raise UnclearTime(f"{said} n'existe pas le {day_text(day)} à Paris (passage à l'heure d'été) : "
                          "choisissez une autre heure.")
    if instant.utcoffset() != instant.replace(fold=1).utcoffset():
        # A typed time carries no « first » or « second » 2 h 30: guessing would move the deadline by an hour.
        raise UnclearTime(f"{said} existe deux fois le {day_text(day)} à Paris (passage à l'heure d'hiver) : "
                          "choisissez une autre heure.")
    return instant


def split(closes_at: dt.datetime) -> tuple[dt.date, dt.time | None]:
    """What the ARS sees in the form: the last day, and the time only for a precise instant."""
    if is_day_deadline(closes_at):
        return last_day(closes_at), None
    local = closes_at.astimezone(PARIS)
    return local.date(), local.time().replace(tzinfo=None)


# --- Reading -----------------------------------------------------------------------------------------

def day_text(day: dt.date) -> str:
    """« 1er juin 2024 », « 31 juillet 2024 »."""
    return f"{'1er' if day.day == 1 else day.day} {MONTHS[day.month - 1]} {day.year}"


def time_text(moment: dt.time) -> str:
    """« 12 h 00 » on the minute, else to the second (« 23 h 59 min 59 s ») or its fraction (« 59,25 s »)."""
    if not (moment.second or moment.microsecond):
        return f"{moment.hour} h {moment.minute:02d}"
    seconds = f"{moment.second:02d}"
    if moment.microsecond:
        seconds += "," + f"{moment.microsecond:06d}".rstrip("0")
    return f"{moment.hour} h {moment.minute:02d} min {seconds} s"


def moment_text(instant: dt.datetime, *, with_day: bool = True) -> str:
    """An instant read in Paris: « 26 janvier 2024 » at midnight, else with its time."""
    local = instant.astimezone(PARIS) if instant.tzinfo else instant
    if with_day and local.time() == dt.time():
        return day_text(local.date())
    time = time_text(local.time())
    return f"{day_text(local.date())} à {time}" if with_day else time


@dataclass(frozen=True)
class Deadline:
    """A closing instant as a person reads it (always in Paris time, whatever the active time zone)."""

    closes_at: dt.datetime

    @property
    def is_day(self) -> bool:
        return is_day_deadline(self.closes_at)

    @property
    def last_day(self) -> dt.date:
        return last_day(self.closes_at)

    @property
    def text(self) -> str:
        """« 31 juillet 2024 inclus », or « 31 juillet 2024 à 12 h 00 exclu »."""
        if self.is_day:
            return f"{day_text(self.last_day)} inclus"
        return f"{moment_text(self.closes_at)} exclu"

    @property
    def until(self) -> str:
        """« jusqu'au 31 juillet 2024 inclus », or « avant le 31 juillet 2024 à 23 h 59 min 59 s »."""
        if self.is_day:
            return f"jusqu'au {self.text}"
        return f"avant le {moment_text(self.closes_at)}"

    @property
    def until_paris(self) -> str:
        return f"{self.until} {PARIS_NOTE}"

    def __str__(self) -> str:
        return self.until_paris

    def closed_message(self) -> str:
        """Why a filing is refused after the deadline."""
        return (f"La date limite de dépôt est dépassée : le dépôt était possible {self.until_paris}. "
                "Le dossier n'a pas été déposé.")
