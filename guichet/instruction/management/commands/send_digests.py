"""``python manage.py send_digests``: the daily e-mail of the dossiers filed in the last 24 hours, to each
instructor who chose « un récapitulatif quotidien » for one or more calls (run it once a day, e.g. by cron).

One e-mail per instructor, grouping their calls; nothing is sent to someone with no new dossier.
"""

import datetime as dt

from django.conf import settings
from django.core.mail import send_mail
from django.core.management.base import BaseCommand
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from guichet.core.text import count
from guichet.dossiers.models import Dossier, State
from guichet.instruction.groups import staff_of_call
from guichet.instruction.models import NewDossierNotice, NotificationPreference


def send_digests(hours: int = 24, now=None) -> int:
    """Send the digests; returns the number of e-mails sent."""
    now = now or timezone.now()
    since = now - dt.timedelta(hours=hours)
    prefs = (NotificationPreference.objects.filter(on_new_dossier=NewDossierNotice.DIGEST)
             .select_related("user", "call").order_by("user_id", "call__title"))
    by_user: dict = {}
    dossiers_by_call: dict = {}
    for pref in prefs:
        user, call = pref.user, pref.call
        if not staff_of_call(call.region_id).filter(pk=user.pk).exists():
            continue  # left the region, or deactivated
        if call.pk not in dossiers_by_call:
            found = list(Dossier.objects.filter(call=call, first_filed_at__gte=since, first_filed_at__lt=now)
                         .exclude(state=State.BROUILLON).select_related("establishment")
                         .order_by("first_filed_at", "pk"))
            for d in found:
                d.url = settings.SITE_URL + reverse("instruction:dossier", args=[d.pk])
            dossiers_by_call[call.pk] = found
        if dossiers_by_call[call.pk]:
            by_user.setdefault(user, []).append({"call": call, "dossiers": dossiers_by_call[call.pk]})
    sent = 0
    preferences_url = settings.SITE_URL + reverse("instruction:preferences")
    for user, calls in by_user.items():
        total = sum(len(item["dossiers"]) for item in calls)
        subject = (f"Récapitulatif : {total} nouveaux dossiers déposés" if total > 1
                   else "Récapitulatif : 1 nouveau dossier déposé")
        body = render_to_string("instruction/emails/digest.txt",
                                {"calls": calls, "since": since, "preferences_url": preferences_url})
        send_mail(subject, body, None, [user.email])
        sent += 1
    return sent


class Command(BaseCommand):
    help = "Envoie le récapitulatif quotidien des dossiers déposés aux instructeurs qui l'ont choisi."

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=int, default=24, help="Période couverte, en heures (24 par défaut).")

    def handle(self, *args, hours=24, **options):
        sent = send_digests(hours=hours)
        self.stdout.write(f"{count(sent, 'récapitulatif envoyé')}.")
