"""``/comptes/proconnect/login/`` and ``/comptes/proconnect/login/callback/`` (the redirect URI to declare
to ProConnect), mounted by allauth for every installed provider."""

from allauth.socialaccount.providers.oauth2.urls import default_urlpatterns

from .provider import ProConnectProvider

urlpatterns = default_urlpatterns(ProConnectProvider)
