"""Django application of the follow-up: exports of the workspace's lists, statistics."""

from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "guichet.reporting"
    verbose_name = "Suivi et exports"

    def ready(self):
        from . import signals  # noqa: F401  (precomputed statistics made stale)
