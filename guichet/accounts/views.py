"""The admin site's login, routed through the site's own (allauth) login.

Django's admin login checks passwords with no limit and no second factor. Here it never checks one: a
visitor is sent to allauth's login (failed attempts limited per address and per account in the shared
cache, then the MFA step) with ``next`` pointing back into the admin; a staff member already logged in
goes straight on; anyone else logged in is refused (403), never offered a second login form.
"""

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


def admin_login(request, extra_context=None):
    next_url = request.GET.get(REDIRECT_FIELD_NAME) or request.POST.get(REDIRECT_FIELD_NAME) or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        next_url = reverse("admin:index")
    if request.user.is_authenticated:
        if request.user.is_active and request.user.is_staff:
            return redirect(next_url)
        raise PermissionDenied("Votre compte n'a pas accès à l'administration.")
    return redirect_to_login(next_url, login_url=settings.LOGIN_URL)
