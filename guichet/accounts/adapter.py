"""allauth's account adapter for Guichet CLACT: a login just made counts as a recent reauthentication.

allauth asks for the password again before MFA can be changed, counting only an explicit reauthentication.
An ARS agent sent to set up the mandatory authenticator app right after logging in would then type the
password twice in a row; here any way in this session proved in the last ACCOUNT_REAUTHENTICATION_TIMEOUT
seconds (password, code, or an identity provider such as ProConnect, whose users may have no password to
retype) is enough, as for an explicit reauthentication.
"""

import time

from allauth.account import app_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.authentication import get_authentication_records
from allauth.core import context


class AccountAdapter(DefaultAccountAdapter):
    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        required = super().is_reauthentication_required(app=app, **kwargs)
        request = getattr(context, "request", None) or getattr(self, "request", None)
        if not required or request is None or not request.user.is_authenticated:
            return required
        records = get_authentication_records(request, request.user)
        newest = max((record.get("at", 0) for record in records), default=0)
        return time.time() - newest >= app_settings.REAUTHENTICATION_TIMEOUT
