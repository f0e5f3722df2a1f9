"""The REST API app: API tokens and the django-ninja endpoints under ``/api/v1/``."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "guichet.api"
    label = "api"
    verbose_name = "API"
