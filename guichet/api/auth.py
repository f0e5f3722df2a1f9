"""Bearer-token authentication of the API, and the scope check for write endpoints.

``Authorization: Bearer gcl_<prefix>_<secret>``. The token is found by its prefix, its hash
compared in constant time, then its expiry, its revocation and its user (still active, still
ARS staff) are checked on every request. Success returns the user, so that endpoints scope
everything with the same querysets as the web pages; the token is on ``request.api_token``.
"""

from django.http import HttpRequest
from ninja.errors import AuthenticationError, HttpError
from ninja.security import HttpBearer

from guichet.api.models import ApiToken, hash_token, may_hold_token, parse_prefix

MISSING = "Authentification requise : fournissez un jeton d'API dans l'en-tête « Authorization: Bearer <jeton> »."
INVALID = "Jeton d'API invalide."
EXPIRED = "Ce jeton d'API a expiré."
REVOKED = "Ce jeton d'API a été révoqué."
USER_DISABLED = "Le compte associé à ce jeton d'API n'y donne plus accès."
READ_ONLY = "Ce jeton d'API ne permet que la lecture."


class TokenAuth(HttpBearer):
    def __call__(self, request: HttpRequest):
        if not request.headers.get(self.header):
            raise AuthenticationError(message=MISSING)
        user = super().__call__(request)
        if user is None:  # a header that is not "Bearer …"
            raise AuthenticationError(message=INVALID)
        return user

    def authenticate(self, request: HttpRequest, token: str):
        token = token.strip()
        prefix = parse_prefix(token)
        api_token = (
            ApiToken.objects.select_related("user").filter(prefix=prefix).first() if prefix is not None else None
        )
        if api_token is None or not api_token.matches(token):
            if api_token is None:
                hash_token(token)  # same work whether or not the prefix exists
            raise AuthenticationError(message=INVALID)
        if api_token.revoked_at is not None:
            raise AuthenticationError(message=REVOKED)
        if not api_token.is_usable():
            raise AuthenticationError(message=EXPIRED)
        if not may_hold_token(api_token.user):
            raise AuthenticationError(message=USER_DISABLED)
        api_token.touch()
        request.api_token = api_token
        return api_token.user


def require_write(request: HttpRequest) -> None:
    """Call first in every endpoint that changes data: a read-only token gets 403."""
    api_token = getattr(request, "api_token", None)
    if api_token is None or not api_token.can_write:
        raise HttpError(403, READ_ONLY)
