"""``manage.py verify_audit``: recompute every hash of the audit trail, check every link, then check
the chain against every checkpoint kept outside the database (``audit_checkpoints``).

Exits 0 with « Chaîne d'audit intègre : N enregistrements » and a line on the checkpoints, or 1 naming
the first broken record, or the checkpoint that shows a truncated tail or a rewritten chain.
Reads the chain in order in chunks (constant memory, whatever its length).
``--checkpoint FILE`` (repeatable) adds checkpoints kept elsewhere, e.g. those received by e-mail.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from guichet.core import audit, audit_checkpoints, text


class Command(BaseCommand):
    help = ("Vérifie l'intégrité de la chaîne du journal d'audit (empreintes et liens) et la compare aux points "
            "d'ancrage conservés hors de la base.")

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=2000,
                            help="Nombre d'enregistrements lus à la fois (2000 par défaut).")
        parser.add_argument("--checkpoint", action="append", default=[], metavar="FICHIER",
                            help="Point d'ancrage supplémentaire (fichier JSON, par exemple reçu par courriel).")

    def handle(self, *args, chunk_size=2000, checkpoint=(), **options):
        count, broken = audit.verify(chunk_size=max(1, chunk_size))
        if broken is not None:
            rec, problem = broken
            raise CommandError(
                f"Chaîne d'audit rompue après {text.count(count, 'enregistrement intègre')}. Premier enregistrement en "
                f"cause : n° {rec.seq} (id {rec.pk}, {rec.action}, {audit.utc_iso(rec.at)}) : {problem}.",
                returncode=1)
        points = self._checkpoints(checkpoint)
        problem = audit_checkpoints.check(points)
        if problem:
            intact = text.count(count, "enregistrement intègre")
            raise CommandError(f"Journal d'audit altéré ({intact} entre eux) : {problem}.",
                               returncode=1)
        self.stdout.write(f"Chaîne d'audit intègre : {count} enregistrements")
        if points:
            last = max(points, key=lambda point: point.at)
            self.stdout.write(f"Points d'ancrage vérifiés : {len(points)} (le dernier du {last.at} : "
                              f"{text.count(last.seq, 'enregistrement')})")
        else:
            self.stdout.write("Aucun point d'ancrage : la suppression des derniers enregistrements ne serait pas "
                              "détectée. Lancez « manage.py audit_checkpoint » chaque jour.")

    def _checkpoints(self, files):
        try:
            points = audit_checkpoints.stored_checkpoints()
        except audit_checkpoints.Unreadable as exc:
            raise CommandError(f"Point d'ancrage illisible dans le stockage : {exc}.", returncode=1) from exc
        for name in files:
            path = Path(name)
            try:
                points.append(audit_checkpoints.parse(str(path), path.read_bytes()))
            except OSError as exc:
                raise CommandError(f"Point d'ancrage {name} introuvable : {exc.strerror}.", returncode=2) from exc
            except audit_checkpoints.Unreadable as exc:
                raise CommandError(f"Point d'ancrage illisible : {name}.", returncode=2) from exc
        return points
