from django.apps import AppConfig


class FormschemaConfig(AppConfig):
    name = "guichet.formschema"
    label = "formschema"
    verbose_name = "Moteur de formulaires"
