from django.apps import AppConfig


class FundingConfig(AppConfig):
    name = "guichet.funding"
    verbose_name = "Subventions"
