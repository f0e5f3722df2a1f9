"""``python manage.py refresh_statistics``: recompute the precomputed statistics of every call, region and the
country (``reporting.snapshots``). Changes already queue a refresh of the scopes they touch; run it daily, e.g.
from cron, so that figures depending on the date alone are recomputed too and no lost refresh lingers."""

from django.core.management.base import BaseCommand

from guichet.core.text import count
from guichet.reporting import snapshots


class Command(BaseCommand):
    help = "Recalcule les chiffres des pages de statistiques (appels, régions, national)."

    def handle(self, *args, verbosity=1, **options):
        done = snapshots.refresh_all()
        if verbosity:
            self.stdout.write(self.style.SUCCESS(f"{count(done, 'périmètre recalculé', 'périmètres recalculés')}."))
