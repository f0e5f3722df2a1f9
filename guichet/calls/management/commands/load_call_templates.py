"""Create or update the template calls of the seed procedures (guichet/calls/seed_templates/)."""

from django.core.management.base import BaseCommand, CommandError

from guichet.calls.templates_loader import TemplateError, load_seed_templates
from guichet.core.text import count, plural
from guichet.formschema.schema import SchemaError


class Command(BaseCommand):
    help = "Charge (ou met à jour) les modèles d'appels à projets issus des procédures de référence."

    def handle(self, *args, **options):
        try:
            calls = load_seed_templates()
        except SchemaError as exc:
            raise CommandError("Formulaire invalide :\n" + "\n".join(exc.messages)) from exc
        except TemplateError as exc:
            raise CommandError(str(exc)) from exc
        for call in calls:
            self.stdout.write(f"- {call.load_report.describe()}")
        loaded = f"{count(len(calls), 'modèle')} d'appel à projets {plural(len(calls), 'chargé')}."
        self.stdout.write(self.style.SUCCESS(loaded))
