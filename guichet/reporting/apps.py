"""Django application of the follow-up: exports of the workspace's lists."""

from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "guichet.reporting"
    verbose_name = "Suivi et exports"
