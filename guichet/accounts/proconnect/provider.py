"""What Guichet CLACT takes from a ProConnect identity: the subject (``sub``), the e-mail, the names and
the organisation's SIRET.

- The e-mail is taken as verified unless the provider says otherwise (``email_verified`` false): ProConnect
  does not send that claim, because the professional address comes from the person's own identity provider
  (their administration's directory or ProConnect Identité, which checks the mailbox). A verified address
  is what allauth matches to an existing account (``SOCIALACCOUNT_PROVIDERS["proconnect"]``), an unverified
  one never is.
- ``extra_data["siret"]`` always exists: the organisation's SIRET as 14 digits (spaces removed, checked with
  python-stdnum), or ``""`` when ProConnect gave none or an invalid one. The rest of ``extra_data`` is
  allauth's: ``{"userinfo": {...}, "id_token": {...}}``.
"""

import secrets

import requests
from allauth.socialaccount.helpers import render_authentication_error
from allauth.socialaccount.providers.openid_connect.provider import (
    OpenIDConnectProvider,
    OpenIDConnectProviderAccount,
)
from django.urls import reverse
from django.utils.http import urlencode
from stdnum.fr import siret as siret_number

from .views import NONCE_SESSION_KEY, PROVIDER_ID, ProConnectOAuth2Adapter

# ProConnect's scopes: the pivot identity (email, given_name, usual_name, uid, siret) and the identity
# provider used (idp_id).
SCOPE = ["openid", "email", "given_name", "usual_name", "siret", "uid", "idp_id"]


def claims(data: dict) -> dict:
    """The person's claims: the userinfo answer (fuller), else the ID token."""
    return data.get("userinfo") or data.get("id_token") or {}


def normalised_siret(value) -> str:
    """The SIRET as 14 digits, or "" when missing or invalid."""
    text = "".join(str(value or "").split())
    return text if len(text) == 14 and siret_number.is_valid(text) else ""


class ProConnectAccount(OpenIDConnectProviderAccount):
    def to_str(self):
        return (self.get_user_data() or {}).get("email") or super().to_str()


class ProConnectProvider(OpenIDConnectProvider):
    id = PROVIDER_ID
    name = "ProConnect"
    account_class = ProConnectAccount
    oauth2_adapter_class = ProConnectOAuth2Adapter

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.name = "ProConnect"

    def get_oauth2_adapter(self, request):
        return self.oauth2_adapter_class(request)

    def get_login_url(self, request, **kwargs):
        url = reverse("proconnect_login")
        return f"{url}?{urlencode(kwargs)}" if kwargs else url

    def get_callback_url(self):
        return reverse("proconnect_callback")

    def get_default_scope(self):
        return list(SCOPE)

    def redirect(self, request, process, next_url=None, data=None, **kwargs):
        # ProConnect requires a nonce; it comes back in the ID token and is checked by the adapter.
        nonce = secrets.token_urlsafe(32)
        request.session[NONCE_SESSION_KEY] = nonce
        kwargs["auth_params"] = {**(kwargs.get("auth_params") or self.get_auth_params()), "nonce": nonce}
        try:
            return super().redirect(request, process, next_url, data, **kwargs)
        except requests.RequestException as exc:  # ProConnect unreachable: allauth's error page, not a 500
            return render_authentication_error(request, self, exception=exc)

    def extract_extra_data(self, data):
        return {**data, "siret": normalised_siret(claims(data).get("siret"))}

    def extract_common_fields(self, data):
        data = claims(data)
        return {"email": data.get("email"), "first_name": data.get("given_name"), "last_name": data.get("usual_name")}

    def extract_email_addresses(self, data):
        from allauth.account.models import EmailAddress

        data = claims(data)
        email = data.get("email")
        if not email:
            return []
        verified = str(data["email_verified"]).lower() in {"true", "1"} if "email_verified" in data else True
        return [EmailAddress(email=email, verified=verified, primary=True)]


provider_classes = [ProConnectProvider]
