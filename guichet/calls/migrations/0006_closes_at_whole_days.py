"""Deadlines as the notices write them (issue 10): ``Call.closes_at`` becomes the excluded closing instant.

Until now a deadline given as a day D was stored as 23:59:59 on D (Paris) and yet treated as excluded, so
the last second of D was refused. Such rows now hold midnight (Paris) at the start of D + 1, which
``calls.deadlines`` reads as « jusqu'au D inclus ». Any other instant is a precise deadline and stays.
Backwards, every deadline at Paris midnight goes back to 23:59:59 on the day before (the old form).
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import migrations, models

PARIS = ZoneInfo("Europe/Paris")
LAST_SECOND = dt.time(23, 59, 59)


def to_whole_day(closes_at: dt.datetime) -> dt.datetime:
    """23:59:59(.xxx) on D, Paris time, becomes midnight at the start of D + 1; anything else is kept."""
    local = closes_at.astimezone(PARIS)
    if local.time().replace(microsecond=0) != LAST_SECOND:
        return closes_at
    return dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), tzinfo=PARIS)


def to_last_second(closes_at: dt.datetime) -> dt.datetime:
    """Backwards: midnight (Paris) at the start of D + 1 becomes 23:59:59 on D; anything else is kept."""
    local = closes_at.astimezone(PARIS)
    if local.time() != dt.time():
        return closes_at
    return dt.datetime.combine(local.date() - dt.timedelta(days=1), LAST_SECOND, tzinfo=PARIS)


def _convert(apps, convert):
    Call = apps.get_model("calls", "Call")
    for call in Call.objects.only("pk", "closes_at").iterator():
        moved = convert(call.closes_at)
        if moved != call.closes_at:
            Call.objects.filter(pk=call.pk).update(closes_at=moved)


def forwards(apps, schema_editor):
    _convert(apps, to_whole_day)


def backwards(apps, schema_editor):
    _convert(apps, to_last_second)


class Migration(migrations.Migration):

    dependencies = [
        ("calls", "0005_covered_years"),
    ]

    operations = [
        migrations.AlterField(
            model_name="call",
            name="closes_at",
            field=models.DateTimeField(
                help_text="Heure de Paris. Le dernier jour de dépôt, inclus : laissez l'heure vide. Une heure "
                          "n'est à saisir que si la clôture tombe en cours de journée : aucun dépôt n'est "
                          "accepté à partir de cette heure.",
                verbose_name="clôture"),
        ),
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
