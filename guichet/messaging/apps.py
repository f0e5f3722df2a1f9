from django.apps import AppConfig


class MessagingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "guichet.messaging"
    verbose_name = "Messagerie"

    def ready(self):
        from . import signals  # noqa: F401  (connects the listeners)
