from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "guichet.accounts"
    label = "accounts"
    verbose_name = "Comptes"

    def ready(self):
        # allauth.mfa reports each checked code and each activated authenticator app: mark the session.
        from allauth.mfa import signals

        from guichet.accounts import mfa

        signals.authenticator_used.connect(mfa.on_authenticator_used, dispatch_uid="guichet_mfa_used")
        signals.authenticator_added.connect(mfa.on_authenticator_added, dispatch_uid="guichet_mfa_added")
