from django.apps import AppConfig


class CommissionConfig(AppConfig):
    name = "guichet.commission"
    label = "commission"
    verbose_name = "Commission"
