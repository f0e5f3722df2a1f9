"""``manage.py audit_checkpoint`` (daily): anchor the audit trail outside the database.

Verifies the chain first (a broken chain is not anchored: exit 1), then stores a new checkpoint
(length and last hash, ``audit_checkpoints``) in the file storage and e-mails it to
``AUDIT_CHECKPOINT_EMAILS`` when set. ``verify_audit`` then detects a deletion of the last records.
"""

from django.core.management.base import BaseCommand, CommandError

from guichet.core import audit, audit_checkpoints, text


class Command(BaseCommand):
    help = "Écrit un point d'ancrage du journal d'audit (nombre d'enregistrements, dernière empreinte) hors de la base."

    def handle(self, *args, **options):
        count, broken = audit.verify()
        if broken is not None:
            rec, problem = broken
            raise CommandError(f"Chaîne d'audit rompue à l'enregistrement n° {rec.seq} : {problem}. Aucun point "
                               f"d'ancrage écrit ; lancez « manage.py verify_audit ».", returncode=1)
        problem = audit_checkpoints.check(audit_checkpoints.stored_checkpoints())
        if problem:
            raise CommandError(f"Journal d'audit altéré : {problem}. Aucun point d'ancrage écrit.", returncode=1)
        point = audit_checkpoints.write()
        sent = audit_checkpoints.email(point)
        to = f", envoyé à {text.count(sent, 'destinataire')}" if sent else ""
        self.stdout.write(f"Point d'ancrage écrit : {point.name} ({text.count(point.seq, 'enregistrement')}, "
                          f"dernière empreinte {point.hash}){to}")
