"""API tokens: how the ARS' own tools authenticate to the REST API (``/api/v1/``).

A token belongs to one ARS staff member (instructor or ARS administrator with a region) or to a
platform superuser; it reaches exactly what its user may see, through the same queryset scopes
as the web pages (a superuser's token sees every region).

A token reads ``gcl_<prefix>_<secret>``: the 8-character prefix is stored in clear, indexed,
to find the row and to recognise a token in the admin or in logs; of the whole token only a
SHA-256 hash is stored. The secret carries 256 random bits, so a fast hash is enough (nobody
can brute-force it), and hashes are compared in constant time. The token itself is shown once,
when it is issued, and can never be shown again.
"""

import datetime as dt
import hashlib
import hmac
import re
import secrets
import string

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

TOKEN_KIND = "gcl"
PREFIX_LENGTH = 8
PREFIX_ALPHABET = string.ascii_lowercase + string.digits
SECRET_BYTES = 32
TOKEN_RE = re.compile(rf"^{TOKEN_KIND}_(?P<prefix>[a-z0-9]{{{PREFIX_LENGTH}}})_(?P<secret>[A-Za-z0-9_-]{{40,100}})$")
# last_used_at is written at most this often, so that reading does not mean writing each time.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class Scope(models.TextChoices):
    READ = "read", "Lecture seule"
    READ_WRITE = "read_write", "Lecture et écriture"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def parse_prefix(raw: str) -> str | None:
    """The prefix of a well-formed token, None for anything else."""
    match = TOKEN_RE.match(raw or "")
    return match["prefix"] if match else None


def may_hold_token(user) -> bool:
    """Only ARS staff (instructor or administrator of a region) and superusers get API tokens."""
    return bool(user.is_active and user.is_ars_staff)


class ApiTokenQuerySet(models.QuerySet):
    def usable(self, when=None):
        when = when or timezone.now()
        return self.filter(revoked_at__isnull=True, expires_at__gt=when)


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="utilisateur", on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField("libellé", max_length=100, help_text="À quoi sert ce jeton (outil, script…).")
    prefix = models.CharField("préfixe", max_length=PREFIX_LENGTH, unique=True, editable=False)
    secret_hash = models.CharField("empreinte SHA-256", max_length=64, editable=False)
    scope = models.CharField("portée", max_length=20, choices=Scope.choices, default=Scope.READ)
    expires_at = models.DateTimeField("expire le")
    created_at = models.DateTimeField("créé le", auto_now_add=True)
    last_used_at = models.DateTimeField("dernière utilisation", null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField("révoqué le", null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = "jeton d'API"
        verbose_name_plural = "jetons d'API"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{TOKEN_KIND}_{self.prefix}… ({self.name})"

    def clean(self):
        if self.user_id and not may_hold_token(self.user):
            raise ValidationError(
                {"user": "Seuls les gestionnaires instructeurs et administrateurs d'une ARS peuvent avoir un jeton."}
            )

    @property
    def can_write(self) -> bool:
        return self.scope == Scope.READ_WRITE

    def is_usable(self, when=None) -> bool:
        when = when or timezone.now()
        return self.revoked_at is None and self.expires_at > when

    def matches(self, raw: str) -> bool:
        return hmac.compare_digest(self.secret_hash, hash_token(raw))

    def revoke(self):
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            ApiToken.objects.filter(pk=self.pk, revoked_at__isnull=True).update(revoked_at=self.revoked_at)

    def touch(self, when=None):
        """Record a use, at most once per LAST_USED_RESOLUTION."""
        when = when or timezone.now()
        if self.last_used_at is None or when - self.last_used_at >= LAST_USED_RESOLUTION:
            self.last_used_at = when
            ApiToken.objects.filter(pk=self.pk).update(last_used_at=when)


def issue_token(user, name: str, *, write: bool = False, days: int | None = None) -> tuple[ApiToken, str]:
    """Create a token for ``user`` and return it with its clear value, which is never stored.

    Raises ``ValidationError`` (in French) when the user may not hold a token.
    """
    if not may_hold_token(user):
        raise ValidationError(
            f"{user.email} n'est ni gestionnaire instructeur ni administrateur d'une ARS (ou son compte est "
            "désactivé) : aucun jeton d'API ne peut lui être délivré."
        )
    days = settings.API_TOKEN_DEFAULT_DAYS if days is None else days
    if days < 1:
        raise ValidationError("La durée de validité d'un jeton est d'au moins un jour.")
    name = (name or "").strip() or "Jeton d'API"
    for _attempt in range(5):
        prefix = "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
        raw = f"{TOKEN_KIND}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
        try:
            with transaction.atomic():
                token = ApiToken.objects.create(
                    user=user,
                    name=name[:100],
                    prefix=prefix,
                    secret_hash=hash_token(raw),
                    scope=Scope.READ_WRITE if write else Scope.READ,
                    expires_at=timezone.now() + dt.timedelta(days=days),
                )
        except IntegrityError:  # prefix already taken: draw again
            continue
        return token, raw
    raise RuntimeError("Impossible de tirer un préfixe de jeton libre.")
