"""Validation of French establishment identifiers: FINESS, SIREN and SIRET.

- FINESS (EJ or ET): 9 characters, the 9th is a Luhn key over the first 8; the Corsican
  department prefixes ``2A`` and ``2B`` count as ``21`` and ``22`` for the key.
- SIREN (9 digits) and SIRET (14 digits): Luhn, with the La Poste exception handled by
  python-stdnum (SIRETs of SIREN 356000000 have a digit sum divisible by 5).

Each ``validate_*`` function returns the normalised value or raises
:class:`django.core.exceptions.ValidationError` with a French message. The form fields
``FinessField``, ``SirenField`` and ``SiretField`` normalise and validate the same way.
"""

import re

from django import forms
from django.core.exceptions import ValidationError
from stdnum.exceptions import InvalidChecksum
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

from guichet.core.text import plural

__all__ = [
    "FinessField",
    "SirenField",
    "SiretField",
    "finess_check_digit",
    "is_valid_finess",
    "normalize",
    "validate_finess",
    "validate_siren",
    "validate_siret",
]

# Spaces (incl. non-breaking and narrow non-breaking), dots, hyphens and their look-alikes.
_SEPARATORS = re.compile(r"[\s.\-\u00a0\u202f\u2007\u2010\u2011\u2012\u2013\u2014]+")
_FINESS_RE = re.compile(r"^(?:\d{2}|2[AB])\d{7}$")
_CORSICA = {"2A": "21", "2B": "22"}


def normalize(value) -> str:
    """Strip separators (spaces, non-breaking spaces, dots, hyphens) and uppercase."""
    if value is None:
        return ""
    return _SEPARATORS.sub("", str(value)).upper()


def _luhn_checksum(digits: str) -> int:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10


def finess_check_digit(first8: str) -> str:
    """The Luhn key of the first 8 characters of a FINESS (Corsica 2A/2B → 21/22)."""
    first8 = normalize(first8)
    digits = _CORSICA.get(first8[:2], first8[:2]) + first8[2:]
    if len(digits) != 8 or not digits.isdigit():
        raise ValueError("a FINESS key is computed over 8 digits")
    return str((10 - _luhn_checksum(digits + "0")) % 10)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n > 1 else ''}"


def _check_characters(value: str, label: str, *, allow_corsica: bool = False) -> None:
    allowed = set("0123456789")
    forbidden = sorted({c for c in value if c not in allowed})
    if allow_corsica and value[:2] in _CORSICA:
        forbidden = sorted({c for c in value[2:] if c not in allowed})
    if forbidden:
        shown = " ".join(f"« {c} »" for c in forbidden)
        extra = " (seuls « 2A » ou « 2B » sont admis en tête pour la Corse)" if allow_corsica else ""
        raise ValidationError(
            f"Le numéro {label} ne doit contenir que des chiffres{extra} ; "
            f"{plural(len(forbidden), 'caractère interdit')} : {shown}.",
            code="invalid_characters",
        )


def _check_length(value: str, label: str, expected: int) -> None:
    if len(value) != expected:
        raise ValidationError(
            f"Le numéro {label} doit comporter {expected} caractères ; "
            f"« {value} » en comporte {len(value)}.",
            code="invalid_length",
        )


def validate_finess(value) -> str:
    """Return the normalised FINESS, or raise ValidationError with a French message."""
    finess = normalize(value)
    if not finess:
        raise ValidationError("Le numéro FINESS est vide.", code="required")
    _check_length(finess, "FINESS", 9)
    _check_characters(finess, "FINESS", allow_corsica=True)
    if not _FINESS_RE.match(finess):  # pragma: no cover - covered by the two checks above
        raise ValidationError("Le numéro FINESS n'a pas un format valide.", code="invalid")
    expected = finess_check_digit(finess[:8])
    if finess[8] != expected:
        raise ValidationError(
            f"La clé de contrôle du numéro FINESS « {finess} » est incorrecte : "
            "vérifiez les chiffres saisis.",
            code="invalid_checksum",
        )
    return finess


def is_valid_finess(value) -> bool:
    try:
        validate_finess(value)
    except ValidationError:
        return False
    return True


def validate_siren(value) -> str:
    """Return the normalised SIREN (9 digits), or raise ValidationError in French."""
    siren = normalize(value)
    if not siren:
        raise ValidationError("Le numéro SIREN est vide.", code="required")
    _check_length(siren, "SIREN", 9)
    _check_characters(siren, "SIREN")
    try:
        return stdnum_siren.validate(siren)
    except InvalidChecksum:
        raise ValidationError(
            f"La clé de contrôle du numéro SIREN « {siren} » est incorrecte : vérifiez les chiffres saisis.",
            code="invalid_checksum",
        ) from None
    except Exception:  # any other stdnum error
        raise ValidationError(f"Le numéro SIREN « {siren} » n'est pas valide.", code="invalid") from None


def validate_siret(value) -> str:
    """Return the normalised SIRET (14 digits), or raise ValidationError in French."""
    siret = normalize(value)
    if not siret:
        raise ValidationError("Le numéro SIRET est vide.", code="required")
    _check_length(siret, "SIRET", 14)
    _check_characters(siret, "SIRET")
    try:
        stdnum_siren.validate(siret[:9])
    except InvalidChecksum:
        raise ValidationError(
            f"Le SIREN « {siret[:9]} » contenu dans le SIRET (9 premiers chiffres) a une clé de contrôle "
            "incorrecte : vérifiez les chiffres saisis.",
            code="invalid_checksum",
        ) from None
    try:
        return stdnum_siret.validate(siret)
    except InvalidChecksum:
        raise ValidationError(
            f"La clé de contrôle du numéro SIRET « {siret} » est incorrecte : vérifiez les chiffres saisis.",
            code="invalid_checksum",
        ) from None
    except Exception:
        raise ValidationError(f"Le numéro SIRET « {siret} » n'est pas valide.", code="invalid") from None


class _IdentifierField(forms.CharField):
    """A CharField that normalises the value and validates it with ``validator``."""

    validator = staticmethod(lambda value: value)
    length = 9

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", None)
        kwargs.setdefault("strip", True)
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("autocomplete", "off")
        self.widget.attrs.setdefault("spellcheck", "false")

    def to_python(self, value):
        value = super().to_python(value)
        return normalize(value) if value not in self.empty_values else value

    def validate(self, value):
        super().validate(value)
        if value not in self.empty_values:
            self.validator(value)

    def clean(self, value):
        value = super().clean(value)
        if value not in self.empty_values:
            value = self.validator(value)
        return value


class FinessField(_IdentifierField):
    """Form field for a FINESS number (EJ or ET)."""

    validator = staticmethod(validate_finess)


class SirenField(_IdentifierField):
    """Form field for a SIREN number."""

    validator = staticmethod(validate_siren)


class SiretField(_IdentifierField):
    """Form field for a SIRET number."""

    validator = staticmethod(validate_siret)
    length = 14
