"""``manage.py import_establishments FILE``: import the SAE identification table into the directory."""

from django.core.management.base import BaseCommand, CommandError

from guichet.establishments.directory import ImportFileError, import_sae


class Command(BaseCommand):
    help = ("Importe la table d'identification SAE (séparateur « ; », ISO-8859-1 ou UTF-8) "
            "dans l'annuaire des établissements.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="chemin du fichier CSV SAE")

    def handle(self, *args, file, **options):
        try:
            report = import_sae(file)
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        for rejected in report.rejected:
            self.stdout.write(str(rejected))
        self.stdout.write(self.style.SUCCESS(report.summary))
