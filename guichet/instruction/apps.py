from django.apps import AppConfig


class InstructionConfig(AppConfig):
    name = "guichet.instruction"
    label = "instruction"
    verbose_name = "Instruction"

    def ready(self):
        from . import signals  # noqa: F401  (keeps the workspace index up to date)
