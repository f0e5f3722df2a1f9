"""``manage.py create_api_token EMAIL [--name N] [--write] [--days 365]``: issue an API token.

The token is printed once on standard output (alone on its line, so a script can capture it);
only its hash is stored. Refused for applicants and for deactivated accounts.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from guichet.api.models import issue_token


class Command(BaseCommand):
    help = "Délivre un jeton d'API à un gestionnaire instructeur ou administrateur d'ARS (affiché une seule fois)."

    def add_arguments(self, parser):
        parser.add_argument("email", help="adresse électronique du titulaire")
        parser.add_argument("--name", default="", help="libellé du jeton (outil, script…)")
        parser.add_argument("--write", action="store_true", help="autoriser l'écriture (par défaut : lecture seule)")
        parser.add_argument(
            "--days", type=int, default=settings.API_TOKEN_DEFAULT_DAYS,
            help=f"durée de validité en jours (par défaut : {settings.API_TOKEN_DEFAULT_DAYS})",
        )

    def handle(self, *args, email, name, write, days, **options):
        user = get_user_model().objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"Aucun utilisateur n'a l'adresse {email}.")
        try:
            token, raw = issue_token(user, name, write=write, days=days)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        expires = timezone.localtime(token.expires_at).strftime("%d/%m/%Y %H:%M")
        region = "toutes les régions" if user.is_superuser else f"région {user.region}"
        self.stderr.write(
            f"Jeton « {token.name} » ({token.get_scope_display().lower()}, {region}) délivré à {user.email}, "
            f"valable jusqu'au {expires}. Conservez-le : il ne sera plus jamais affiché."
        )
        self.stdout.write(raw)
