from django.apps import AppConfig


class FundingConfig(AppConfig):
    name = "guichet.funding"
    verbose_name = "Subventions"

    def ready(self):
        from guichet.calls.models import CallKind
        from guichet.dossiers import kinds

        from . import proofs, signals  # noqa: F401

        kinds.register(CallKind.PROOFS, kinds.KindRules(missing=proofs.completeness_items,
                                                        corrections_refusal=proofs.corrections_refusal))
