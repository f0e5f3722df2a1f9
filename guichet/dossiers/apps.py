from django.apps import AppConfig


class DossiersConfig(AppConfig):
    name = "guichet.dossiers"
    label = "dossiers"
    verbose_name = "Dossiers"

    def ready(self):
        from . import memberships  # noqa: F401  (connects its receiver to establishments.claims.membership_ended)
