"""Remind the owners of drafts that a call's filing deadline is near (run daily, e.g. from cron)."""

from django.core.management.base import BaseCommand

from guichet.core.text import count
from guichet.dossiers.reminders import send


class Command(BaseCommand):
    help = "Relance les déposants dont le dossier est encore un brouillon avant la clôture de l'appel."

    def handle(self, *args, **options):
        self.stdout.write(f"{count(send(), 'relance envoyée')}.")
