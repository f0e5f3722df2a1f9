from django.apps import AppConfig


class EstablishmentsConfig(AppConfig):
    name = "guichet.establishments"
    label = "establishments"
    verbose_name = "Annuaire des établissements"
