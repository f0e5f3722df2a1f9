"""Sends an account that must use MFA (``mfa.mfa_required``) to set it up, or to pass it, before any page.

- no authenticator app yet: to allauth's TOTP set-up page, with a message saying why;
- an authenticator app, but this session has not passed it (a session opened before the app was set up, or
  by a way in that skips allauth's MFA step): to allauth's reauthentication with a code.

Left alone: allauth's MFA, reauthentication, e-mail and logout pages (the way out of this redirect), the
static files, and the API, which authenticates each request with its own bearer token and no session.
An htmx request is told to load the set-up page as a whole (HX-Redirect) instead of swapping it in.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django_htmx.http import HttpResponseClientRedirect

from guichet.accounts import mfa

# allauth's views an account without MFA still needs: set it up (mfa_*), confirm its password before
# (reauthentication), verify its e-mail (allauth refuses MFA on an unverified address), or leave.
ALLOWED_URL_NAMES = {
    "account_logout",
    "account_reauthenticate",
    "account_email",
    "account_confirm_email",
    "account_email_verification_sent",
}
SETUP_MESSAGE = ("La double authentification est obligatoire pour votre compte : installez une application "
                 "d'authentification (par exemple FreeOTP, Aegis ou Google Authenticator) et saisissez le code "
                 "qu'elle affiche pour continuer.")


class RequireMfaMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or mfa.session_verified(request):
            return None
        if self._exempt(request) or not mfa.mfa_required(user):
            return None
        if mfa.has_totp(user):
            target = f"{reverse('mfa_reauthenticate')}?{urlencode({'next': request.get_full_path()})}"
        else:
            target = reverse("mfa_activate_totp")
            if request.method == "GET" and not getattr(request, "htmx", False):
                messages.warning(request, SETUP_MESSAGE, fail_silently=True)
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(target)
        return redirect(target)

    @staticmethod
    def _exempt(request) -> bool:
        path = request.path_info
        if path.startswith(settings.STATIC_URL) or path.startswith("/api/"):
            return True
        match = request.resolver_match
        name = match.url_name if match else None
        return bool(name) and (name.startswith("mfa_") or name in ALLOWED_URL_NAMES)
