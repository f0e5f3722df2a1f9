"""The ProConnect provider's app: it records in the audit trail each ProConnect identity linked to an account."""

from django.apps import AppConfig


class ProConnectConfig(AppConfig):
    name = "guichet.accounts.proconnect"
    label = "proconnect"
    verbose_name = "ProConnect"

    def ready(self):
        from allauth.account.signals import user_signed_up
        from allauth.socialaccount.signals import social_account_added

        from . import signals

        social_account_added.connect(signals.linked_to_existing_account, dispatch_uid="proconnect-linked")
        user_signed_up.connect(signals.signed_up, dispatch_uid="proconnect-signed-up")
