"""Rebuild the workspace's search and filter index of every filed dossier (after an import or a restore)."""

from django.core.management.base import BaseCommand

from guichet.core import text
from guichet.instruction.index import reindex_all


class Command(BaseCommand):
    help = "Reconstruit l'index de recherche des dossiers déposés (liste d'instruction)."

    def handle(self, *args, **options):
        count = reindex_all()
        self.stdout.write(f"{text.count(count, 'dossier indexé')}.")
