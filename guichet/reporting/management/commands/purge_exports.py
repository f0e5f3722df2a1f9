"""``python manage.py purge_exports``: delete the files of background exports kept past their expiry.

A job's file is kept ``GUICHET_EXPORT_RETENTION_DAYS`` days (« Mes exports »); past that, its file is deleted
from storage and the job marked « expiré ». Jobs that failed or never finished are marked expired after the
same delay. Safe to run twice; run it daily, e.g. from cron.
"""

from django.core.management.base import BaseCommand

from guichet.core.text import count
from guichet.reporting import jobs


class Command(BaseCommand):
    help = "Supprime les fichiers d'export expirés (« Mes exports ») et marque leurs demandes comme expirées."

    def handle(self, *args, verbosity=1, **options):
        deleted, expired = jobs.purge()
        if verbosity:
            self.stdout.write(self.style.SUCCESS(
                f"{count(deleted, 'fichier supprimé', 'fichiers supprimés')} ; "
                f"{count(expired, 'export marqué expiré', 'exports marqués expirés')}."))
