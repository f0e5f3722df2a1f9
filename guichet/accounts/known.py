"""« This browser was logged in as this account »: a signed, HTTP-only cookie the login leaves behind.

A session that expires takes its data with it, and the browser stops sending its cookie: nothing in the
session can say afterwards that the visitor had been logged in. The dossier pages keep what was typed when a
session expired (the « stash »), and must keep it only for someone who had been logged in — never for an
anonymous visitor, who could otherwise fill the session table. This cookie holds the account's id, signed
with the project's secret key, for ``GUICHET_KNOWN_BROWSER_DAYS`` days after the last logged-in request.
"""

from django.conf import settings
from django.core import signing

COOKIE = "guichet_connu"
SALT = "guichet.accounts.known"


def _max_age() -> int:
    return int(getattr(settings, "GUICHET_KNOWN_BROWSER_DAYS", 7)) * 24 * 3600


def known_user_id(request) -> int | None:
    """The id of the account last logged in on this browser, when its cookie is valid; else None."""
    try:
        value = request.get_signed_cookie(COOKIE, salt=SALT, max_age=_max_age())
    except (KeyError, signing.BadSignature):
        return None
    return int(value) if value.isascii() and value.isdigit() else None


class KnownBrowserMiddleware:
    """Leaves (or renews, once it has aged a day) the signed cookie on every logged-in response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not self._fresh(request, user.pk):
            response.set_signed_cookie(COOKIE, str(user.pk), salt=SALT, max_age=_max_age(), httponly=True,
                                       secure=settings.SESSION_COOKIE_SECURE, samesite="Lax")
        return response

    @staticmethod
    def _fresh(request, pk) -> bool:
        try:
            value = request.get_signed_cookie(COOKIE, salt=SALT, max_age=_max_age() - 24 * 3600)
        except (KeyError, signing.BadSignature):
            return False
        return value == str(pk)
