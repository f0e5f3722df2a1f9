"""Multi-factor authentication policy: who must use it, and whether this session passed it.

ARS staff handle personal data and money, commission members see every dossier of a session, and a
superuser sees everything: their accounts must have an authenticator app (TOTP, through allauth.mfa)
and each of their sessions must have passed it. Applicants may turn it on (« Double authentification »
in their account menu). ``middleware.RequireMfaMiddleware`` enforces this on every page.

A session counts as MFA-verified once allauth reports a code checked for its user (at login, at
reauthentication) or the user has just activated TOTP with a valid code: both arrive through
allauth.mfa's public signals and set ``SESSION_KEY``. Django flushes the session when another user
logs in, and the key holds the user's id, so the flag never carries over to someone else.
"""

from __future__ import annotations

from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator

SESSION_KEY = "guichet_mfa_verified_user"


def mfa_required(user) -> bool:
    """Must this account use MFA? ARS staff, users with access to the admin site, superusers and
    commission members (one query for the last; the others are attributes)."""
    if not user.is_authenticated:
        return False
    if user.is_superuser or user.is_staff or user.is_ars_staff:
        return True
    from guichet.accounts.permissions import sits_on_a_commission

    return sits_on_a_commission(user)


def has_totp(user) -> bool:
    return Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.TOTP).exists()


def mark_session_verified(session, user) -> None:
    session[SESSION_KEY] = str(user.pk)


def session_verified(request) -> bool:
    return request.session.get(SESSION_KEY) == str(request.user.pk)


def on_authenticator_used(sender, request, user, authenticator, **kwargs) -> None:
    """allauth checked a TOTP or recovery code of ``user`` in this request (login or reauthentication)."""
    if request is not None:
        mark_session_verified(request.session, user)


def on_authenticator_added(sender, request, user, authenticator, **kwargs) -> None:
    """Activating TOTP requires a valid code from the new authenticator: the session has just proved it."""
    if request is not None and authenticator.type == Authenticator.Type.TOTP:
        mark_session_verified(request.session, user)


class GuichetMfaAdapter(DefaultMFAAdapter):
    """allauth.mfa's adapter: an account that must use MFA cannot turn its authenticator app off."""

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        return not mfa_required(authenticator.user)


def activate_totp(user, secret: str) -> None:
    """Give ``user`` an authenticator app with a known ``secret`` (base32) and recovery codes, replacing any.

    For the demo accounts and the tests only: a real user activates TOTP on the set-up page, where the
    secret is drawn at random and confirmed by a code.
    """
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP

    Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.TOTP).delete()
    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)


def totp_code(secret: str, at: float | None = None) -> str:
    """The code an authenticator app shows now (or at the Unix time ``at``) for ``secret``, computed the way
    allauth checks it: for the tests and the demo."""
    import time

    from allauth.mfa import app_settings
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    counter = int(time.time() if at is None else at) // app_settings.TOTP_PERIOD
    return format_hotp_value(hotp_value(secret, counter))
