"""``manage.py create_ars_user EMAIL --role instructor|admin --region CODE [--password PWD]``.

Creates an ARS staff account (gestionnaire instructeur or administrateur ARS) attached to a
region, or updates the role and region of an existing one, and says what it did.
"""

from django.core.management.base import BaseCommand, CommandError

from guichet.accounts.models import Role
from guichet.accounts.services import create_or_update_ars_user
from guichet.establishments.models import Region


class Command(BaseCommand):
    help = "Crée (ou met à jour) un compte d'agent ARS : gestionnaire instructeur ou administrateur d'une région."

    def add_arguments(self, parser):
        parser.add_argument("email", help="adresse électronique de l'agent")
        parser.add_argument("--role", required=True, choices=[Role.INSTRUCTOR.value, Role.ADMIN.value])
        parser.add_argument("--region", required=True, help="code INSEE de la région, par exemple 32")
        parser.add_argument("--password", default=None, help="mot de passe (sinon, l'agent le choisit lui-même)")

    def handle(self, *args, email, role, region, password, **options):
        try:
            region_obj = Region.objects.get(code=region)
        except Region.DoesNotExist:
            codes = ", ".join(Region.objects.order_by("code").values_list("code", flat=True))
            raise CommandError(f"Région inconnue : {region}. Codes possibles : {codes}.") from None
        try:
            result = create_or_update_ars_user(email, role, region_obj, password=password)
        except ValueError as error:
            raise CommandError(str(error)) from error
        user = result.user
        verb = "Compte créé" if result.created else "Compte mis à jour"
        where = f"{region_obj.name} ({region_obj.code})"
        self.stdout.write(self.style.SUCCESS(f"{verb} : {user.email} — {user.get_role_display()} — {where}."))
        if result.password_set:
            self.stdout.write("Mot de passe défini.")
        elif result.created:
            self.stdout.write(
                "Aucun mot de passe : l'agent le choisit avec « Mot de passe oublié ? » sur la page de connexion."
            )
