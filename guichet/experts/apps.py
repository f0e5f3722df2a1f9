from django.apps import AppConfig


class ExpertsConfig(AppConfig):
    name = "guichet.experts"
    label = "experts"
    verbose_name = "Avis d'experts"
