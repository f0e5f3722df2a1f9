from django.apps import AppConfig


class FundingConfig(AppConfig):
    name = "guichet.funding"
    verbose_name = "Subventions"

    def ready(self):
        from . import signals  # noqa: F401
