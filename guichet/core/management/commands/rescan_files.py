"""Scan stored files again: those still pending (a lost task), in error (clamd was down), or not
scanned (stored before an antivirus was configured); ``--all`` for every file (new signatures)."""

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError

from guichet.core import antivirus
from guichet.core.models import ScanStatus, StoredFile
from guichet.core.tasks import scan_stored_file


class Command(BaseCommand):
    help = ("Relance l'analyse antivirus des fichiers en attente, en erreur ou non analysés "
            "(--all : de tous les fichiers).")

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="tous les fichiers, quel que soit leur état")
        parser.add_argument("--now", action="store_true",
                            help="analyser ici, un fichier après l'autre, au lieu de passer par la file de tâches")

    def handle(self, *args, **options):
        if not antivirus.scanner_configured():
            raise CommandError("Aucun antivirus configuré (CLAMAV_SOCKET ou CLAMAV_HOST).")
        states = [ScanStatus.PENDING, ScanStatus.ERROR, ScanStatus.NOT_SCANNED]
        counts = {}
        for model in apps.get_models():
            if not issubclass(model, StoredFile):
                continue
            files = model.objects.all() if options["all"] else model.objects.filter(scan_status__in=states)
            for pk in files.order_by("pk").values_list("pk", flat=True).iterator():
                if options["now"]:
                    instance = model.objects.filter(pk=pk).first()
                    status = antivirus.scan_instance(instance) if instance else "missing"
                    counts[status] = counts.get(status, 0) + 1
                else:
                    scan_stored_file.enqueue(model._meta.label, pk)
                    counts["queued"] = counts.get("queued", 0) + 1
        labels = {"queued": "mis en file", "missing": "disparus", **dict(ScanStatus.choices)}
        summary = ", ".join(f"{labels.get(k, k)} : {n}" for k, n in sorted(counts.items())) or "aucun fichier"
        self.stdout.write(f"Analyse antivirus relancée — {summary}.")
