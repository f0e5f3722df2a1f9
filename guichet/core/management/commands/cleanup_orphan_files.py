"""``python manage.py cleanup_orphan_files``: delete stored files that no database row refers to.

A file is written to storage before the transaction that records it commits; if that transaction
fails, the file is deleted straight away, but a crash at the wrong moment can still leave it behind.
This command lists the files under the uploads' folders (``dossiers/``, ``decisions/`` for letters and
conventions, ``imports/`` for spreadsheets waiting for an import's confirmation), and deletes those that no
``StoredFile`` row refers to and that are older than ``--older-than-hours`` (24 by default, so that an
upload whose transaction is still running is never touched). ``--dry-run`` only lists them.
Run it daily, e.g. from cron.
"""

import datetime as dt

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand
from django.utils import timezone

from guichet.core import storage as stored
from guichet.core.text import count, plural

DEFAULT_PREFIXES = ["dossiers/", "decisions/", "imports/"]


class Command(BaseCommand):
    help = "Supprime les fichiers du stockage qu'aucune ligne de la base ne référence (fichiers orphelins)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Lister sans supprimer.")
        parser.add_argument("--older-than-hours", type=float, default=24,
                            help="Ne supprimer que les fichiers plus anciens que ce nombre d'heures (24).")
        parser.add_argument("--prefix", action="append", dest="prefixes",
                            help="Dossier du stockage à examiner (par défaut : dossiers/, decisions/ et imports/). "
                                 "Répétable.")

    def handle(self, *args, dry_run=False, older_than_hours=24, prefixes=None, verbosity=1, **options):
        limit = timezone.now() - dt.timedelta(hours=older_than_hours)
        referenced = stored.referenced_names()
        seen = deleted = recent = 0
        for prefix in prefixes or DEFAULT_PREFIXES:
            for listed in stored.walk(default_storage, prefix):
                seen += 1
                if listed.name in referenced:
                    continue
                if listed.modified > limit:
                    recent += 1
                    if verbosity >= 2:
                        self.stdout.write(f"orphelin récent, conservé : {listed.name}")
                    continue
                if not dry_run:
                    default_storage.delete(listed.name)
                deleted += 1
                if verbosity:
                    self.stdout.write(f"{'à supprimer' if dry_run else 'supprimé'} : {listed.name}")
        verb = "à supprimer" if dry_run else plural(deleted, "supprimé")
        if verbosity:
            self.stdout.write(self.style.SUCCESS(
                f"{count(seen, 'fichier examiné')} ; {count(deleted, 'orphelin')} {verb} ; "
                f"{count(recent, 'orphelin')} de moins de {older_than_hours:g} h {plural(recent, 'conservé')}."))
