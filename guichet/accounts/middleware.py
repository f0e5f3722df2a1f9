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
from django.core.exceptions import PermissionDenied
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


# What a national reader may open: the home page, the public calls, the national statistics and their
# downloads, and its own account's pages (allauth: password, e-mail, MFA, logout).
NATIONAL_URL_NAMES = {"home", "calls:list", "calls:detail", "figures:call"}
NATIONAL_NAMESPACE_PREFIXES = {"reporting": "national_"}


class NationalReaderMiddleware:
    """Keeps a national reader (``Role.NATIONAL``) to the aggregated figures: every other page answers 403.

    The scopes already give such an account nothing (no region, no membership: ``Dossier.objects.visible_to``,
    ``Call.objects.instructed_by``, grants, messages, API tokens are all empty for it), but the applicant's
    pages are open to any account that is not ARS staff — claiming an establishment, starting a dossier —:
    an allow-list here closes them all at once, the ones to come included. The API (``/api/``) authenticates
    by token and a national reader may hold none; it is refused here too.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not getattr(user, "is_national_reader", False):
            return None
        if request.path_info.startswith(settings.STATIC_URL) or self._allowed(request.resolver_match):
            return None
        raise PermissionDenied

    @staticmethod
    def _allowed(match) -> bool:
        if match is None:
            return False
        name, namespace = match.url_name or "", match.namespace or ""
        if not namespace and (name.startswith("account_") or name.startswith("mfa_")):
            return True
        if match.view_name in NATIONAL_URL_NAMES:
            return True
        prefix = NATIONAL_NAMESPACE_PREFIXES.get(namespace)
        return prefix is not None and name.startswith(prefix)
