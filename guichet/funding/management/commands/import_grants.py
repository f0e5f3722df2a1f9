"""``manage.py import_grants FILE.xlsx [--region CODE] [--dry-run]``: import the grants decided before the
platform, one row per funded action (see ``guichet.funding.imports``). All or nothing: any error and nothing
is written; the errors are listed by row and column and the command exits with a non-zero status."""

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from guichet.core.money import euros, percent
from guichet.core.text import count
from guichet.establishments.models import Region
from guichet.funding.imports import import_grants


class Command(BaseCommand):
    help = ("Importe les subventions antérieures à la plateforme depuis un classeur Excel (.xlsx) : une ligne "
            "par action financée (et, facultatif, le montant total de la convention s'il est inférieur à la somme "
            "des plafonds). Rien n'est enregistré si une ligne contient une erreur.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="chemin du classeur .xlsx (voir le modèle téléchargeable sur la plateforme)")
        parser.add_argument("--region", help=("code INSEE (ex. 28 pour la Normandie) ou identifiant de la région de "
                                              "l'ARS ; facultatif si tous les établissements du fichier sont d'une "
                                              "même région"))
        parser.add_argument("--dry-run", action="store_true",
                            help="vérifier le fichier et afficher ce qui serait créé, sans rien enregistrer")

    def handle(self, *args, file, region=None, dry_run=False, verbosity=1, **options):
        chosen = None
        if region:
            chosen = Region.objects.filter(Q(code=region.strip().upper()) | Q(slug=region.strip().lower())).first()
            if chosen is None:
                raise CommandError(f"Région « {region} » inconnue : indiquez son code INSEE, par exemple 28 pour la "
                                   "Normandie.")
        report = import_grants(file, chosen, None, dry_run=dry_run)
        if report.errors and all(e.row is None for e in report.errors) and len(report.errors) == 1:
            hint = " Indiquez la région avec --region CODE." if "plusieurs régions" in report.errors[0].message else ""
            raise CommandError(f"{report.errors[0]}{hint}")  # the file as a whole: unreadable, no rows…
        if report.errors:
            for error in report.errors:
                self.stderr.write(str(error))
            hint = ""
            if any(e.row is None and "plusieurs régions" in e.message for e in report.errors):
                hint = " Indiquez la région avec --region CODE."
            raise CommandError(f"{report.summary}{hint}")
        if verbosity >= 2 or dry_run:
            for grant in report.grants:
                self.stdout.write(
                    f"{grant.reference} ({grant.kind}, {grant.call_year}, signée le {grant.signed_on:%d/%m/%Y}) — "
                    f"{grant.beneficiary.name} ({grant.beneficiary.finess}) — taux {percent(grant.rate)} — "
                    f"{count(len(grant.actions), 'action')}, total {euros(grant.total)}"
                    + (f" (plafonds {euros(grant.ceilings)})" if grant.total != grant.ceilings else "") + ", "
                    f"déjà versé {euros(grant.paid_before)}")
                for action in grant.actions:
                    self.stdout.write(f"    ligne {action.line} : {action.title} — {action.establishment.finess} — "
                                      f"plafond {euros(action.ceiling)}, déjà versé {euros(action.paid_before)}")
        self.stdout.write(self.style.SUCCESS(report.summary))
