"""``manage.py verify_audit``: recompute every hash of the audit trail and check every link.

Exits 0 with « Chaîne d'audit intègre : N enregistrements », or 1 naming the first broken record.
Reads the chain in order in chunks (constant memory, whatever its length).
"""

from django.core.management.base import BaseCommand, CommandError

from guichet.core import audit


class Command(BaseCommand):
    help = "Vérifie l'intégrité de la chaîne du journal d'audit (empreintes et liens)."

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=2000,
                            help="Nombre d'enregistrements lus à la fois (2000 par défaut).")

    def handle(self, *args, chunk_size=2000, **options):
        count, broken = audit.verify(chunk_size=max(1, chunk_size))
        if broken is None:
            self.stdout.write(f"Chaîne d'audit intègre : {count} enregistrements")
            return
        rec, problem = broken
        raise CommandError(
            f"Chaîne d'audit rompue après {count} enregistrement(s) intègre(s). Premier enregistrement en "
            f"cause : n° {rec.seq} (id {rec.pk}, {rec.action}, {audit.utc_iso(rec.at)}) : {problem}.",
            returncode=1)
