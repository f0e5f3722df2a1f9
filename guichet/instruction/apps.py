from django.apps import AppConfig


class InstructionConfig(AppConfig):
    name = "guichet.instruction"
    label = "instruction"
    verbose_name = "Instruction"

    def ready(self):
        from . import groups, signals  # noqa: F401  (routing to instructor groups; the workspace index)
