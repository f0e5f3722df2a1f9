"""Send a reminder to experts whose opinion is still awaited (run daily, e.g. from cron)."""

from django.core.management.base import BaseCommand

from guichet.core import text
from guichet.experts.services import send_reminders


class Command(BaseCommand):
    help = "Relance les experts dont l'avis est attendu depuis plus de GUICHET_AVIS_REMINDER_DAYS jours."

    def handle(self, *args, **options):
        count = send_reminders()
        self.stdout.write(f"{text.count(count, 'relance envoyée')}.")
