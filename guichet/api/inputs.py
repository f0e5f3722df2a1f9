"""What the API accepts, before any route sees it: bounded numbers, documented path formats, no NUL character.

- Ids and integer filters are bounded to what a database integer holds (``core.ids.MAX_ID``): beyond it SQLite raises
  OverflowError, so a larger value is a 422 at the parameter, not a server error.
- A call's slug and a dossier's number have a documented format (``slug_param``, ``number_param``).
- No text may hold the NUL character (U+0000): PostgreSQL refuses it in a query or a column (a server error),
  and the web forms refuse it already (Django's ``ProhibitNullCharactersValidator``). ``Parser`` refuses it in
  the query string; ``InputSchema``, the base of every request body and query schema, at its field.
"""

from ninja import Path, Schema
from ninja.errors import ValidationError
from ninja.parser import Parser as NinjaParser
from pydantic import field_validator

from guichet.api.errors import NUL_MESSAGE
from guichet.core.ids import MAX_ID

NUL = "\x00"
SLUG_PATTERN = r"^[-a-zA-Z0-9_]{1,120}$"
NUMBER_PATTERN = r"^[-A-Za-z0-9]{1,40}$"


def id_param(what: str):
    """A path parameter holding a database id: a positive integer within ``MAX_ID``."""
    return Path(..., ge=1, le=MAX_ID, description=f"Identifiant {what}.")


def slug_param():
    """A call's address identifier (slug) in the path."""
    return Path(..., pattern=SLUG_PATTERN, description="Identifiant d'adresse (slug) de l'appel.",
                examples=["clact-hdf-2024"])


def number_param():
    """A dossier's number in the path."""
    return Path(..., pattern=NUMBER_PATTERN, description="Numéro du dossier.", examples=["2024-32-000123"])


def nul_error(location: list) -> dict:
    return {"loc": location, "type": "string_no_nul", "msg": NUL_MESSAGE}


class Parser(NinjaParser):
    """ninja's JSON parser, refusing a NUL character in the query string (422 at the parameter)."""

    def parse_querydict(self, data, list_fields, request):
        if data is not request.FILES:  # the query string (or a form), not uploaded files
            refused = [key for key in data for value in [key, *data.getlist(key)] if NUL in value]
            if refused:
                raise ValidationError([nul_error(["query", key]) for key in dict.fromkeys(refused)])
        return super().parse_querydict(data, list_fields, request)


class InputSchema(Schema):
    """The base of the request schemas: no text field holds a NUL character."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value):
        if isinstance(value, str) and NUL in value:
            raise ValueError(NUL_MESSAGE)
        return value
