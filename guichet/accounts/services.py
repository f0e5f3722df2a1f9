"""Account operations shared by the management commands and the admin."""

from __future__ import annotations

from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.db import transaction

from guichet.accounts.models import Role, User


@dataclass
class ArsUserResult:
    user: User
    created: bool
    password_set: bool


@transaction.atomic
def create_or_update_ars_user(email: str, role: str, region, password: str | None = None) -> ArsUserResult:
    """Create (or update) an ARS staff account of ``region`` with ``role`` (instructor or admin).

    The e-mail address is recorded as verified: the account is vouched for by whoever creates it.
    Without a password the account gets an unusable one and its owner chooses it through
    "mot de passe oublié".
    """
    if role not in (Role.INSTRUCTOR, Role.ADMIN):
        raise ValueError(f"Rôle ARS inconnu : {role!r}.")
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email__iexact=email).first()
    created = user is None
    if created:
        user = User(email=email)
    if user.is_superuser:
        raise ValueError(f"{email} est un superutilisateur : son rôle ne se modifie pas ici.")
    user.role = role
    user.region = region
    if password:
        user.set_password(password)
    elif created:
        user.set_unusable_password()
    user.save()
    address, _ = EmailAddress.objects.get_or_create(user=user, email=email, defaults={"primary": True})
    if not address.verified:
        address.verified = True
        address.save(update_fields=["verified"])
    return ArsUserResult(user=user, created=created, password_set=bool(password))
