"""The ProConnect protocol on top of allauth's OpenID Connect adapter: the signed userinfo JWT, checked
against the provider's published keys (JWKS), and the ``nonce`` of the ID token. Without ProConnect's
configuration its two addresses answer 404 (allauth's views would fail on the missing app: a server error)."""

from functools import wraps

from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from allauth.utils import build_absolute_uri
from django.http import Http404
from django.urls import reverse

PROVIDER_ID = "proconnect"
NONCE_SESSION_KEY = "proconnect_nonce"


class ProConnectOAuth2Adapter(OpenIDConnectOAuth2Adapter):
    def __init__(self, request):
        super().__init__(request, PROVIDER_ID)

    def get_callback_url(self, request, app):
        return build_absolute_uri(request, reverse("proconnect_callback"), self.redirect_uri_protocol)

    def _fetch_user_info(self, access_token: str) -> dict:
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/jwt, application/json"}
        with get_adapter().get_requests_session() as session:
            response = session.get(self.profile_url, headers=headers)
            response.raise_for_status()
        if response.headers.get("Content-Type", "").split(";")[0].strip().lower() != "application/jwt":
            return response.json()
        # Signed by ProConnect: the signature, issuer and audience are verified, never only decoded.
        return jwtkit.verify_and_decode(
            credential=response.text.strip(), keys_url=self.openid_config["jwks_uri"],
            issuer=self.openid_config["issuer"], audience=self.get_provider().app.client_id,
            lookup_kid=jwtkit.lookup_kid_jwk)

    def complete_login(self, request, app, token, **kwargs):
        login = super().complete_login(request, app, token, **kwargs)
        data = login.account.extra_data
        expected = request.session.pop(NONCE_SESSION_KEY, None)
        id_token = data.get("id_token") or {}
        if not expected or id_token.get("nonce") != expected:
            raise OAuth2Error("ProConnect: the ID token's nonce is not the one sent")
        if data.get("userinfo", {}).get("sub") != id_token.get("sub"):
            raise OAuth2Error("ProConnect: the userinfo and the ID token name different people")
        return login


def configured_only(view):
    """``view`` when ProConnect is configured (PROCONNECT_* variables), else 404 like any unknown address."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            get_adapter(request).get_app(request, PROVIDER_ID)
        except SocialApp.DoesNotExist:
            raise Http404("ProConnect n'est pas configuré.") from None
        return view(request, *args, **kwargs)

    return wrapped


oauth2_login = configured_only(OAuth2LoginView.adapter_view(ProConnectOAuth2Adapter))
oauth2_callback = configured_only(OAuth2CallbackView.adapter_view(ProConnectOAuth2Adapter))
