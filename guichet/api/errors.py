"""The API's error answers: what each status means, how a route documents the ones it returns, and the validation
errors in French.

Every error body is ``{"detail": "…"}`` in French; a 422 adds ``errors``, one per refused parameter, with its
place (``loc``: ``["query", "limit"]``, ``["body", "payload", "reason"]``…), its kind (``type``: pydantic's code,
stable) and a French message (``msg``). A route lists its statuses with ``responses(…)`` so that the OpenAPI
schema says exactly what the server answers (``tests/test_api_contract.py`` checks it with schemathesis).
"""

from ninja import Schema
from pydantic import Field

MALFORMED_BODY = "Le corps de la requête n'est pas un document JSON lisible."
INVALID = "Paramètres de la requête invalides."
NUL_MESSAGE = "Le caractère nul (U+0000) n'est pas permis."


class ErrorOut(Schema):
    detail: str = Field(description="Message d'erreur, en français.")


class ValidationErrorItem(Schema):
    loc: list[str | int] = Field(description="Emplacement du paramètre refusé : source (path, query, body), nom.",
                                 examples=[["query", "limit"]])
    type: str = Field(description="Nature de l'erreur (code stable, en anglais).", examples=["less_than_equal"])
    msg: str = Field(description="Message d'erreur, en français.", examples=["La valeur est au plus 200."])


class ValidationErrorOut(Schema):
    detail: str = Field(description="Message d'erreur, en français.", examples=[INVALID])
    errors: list[ValidationErrorItem] = Field(description="Paramètres refusés, chacun avec son message.")


MEANINGS = {
    400: (ErrorOut, "Requête illisible : curseur de pagination invalide ou corps qui n'est pas du JSON."),
    401: (ErrorOut, "Jeton d'API absent, invalide, expiré ou révoqué."),
    403: (ErrorOut, "Le jeton ne permet que la lecture, ou son titulaire ne peut pas faire cette action."),
    404: (ErrorOut, "Introuvable, ou hors de la région du jeton."),
    409: (ErrorOut, "L'état de la ressource ne permet pas cette action (le message dit pourquoi)."),
    422: (ValidationErrorOut, "Paramètre invalide : un message en français par paramètre refusé."),
}


def responses(*codes: int) -> dict[int, type]:
    """The error statuses a route returns, with their schemas: ``response={200: Out, **responses(401, 404)}``."""
    return {code: MEANINGS[code][0] for code in codes}


def describe_responses(openapi: dict) -> dict:
    """Give each documented error status of the OpenAPI schema its French description."""
    for path in openapi.get("paths", {}).values():
        for operation in path.values():
            for code, response in operation.get("responses", {}).items():
                if str(code).isdigit() and int(code) in MEANINGS:
                    response["description"] = MEANINGS[int(code)][1]
    return openapi


def _expected(ctx: dict) -> str:
    return str(ctx.get("expected", "")).replace(" or ", " ou ")


# pydantic's error type → the French message (``ctx``: the error's context, e.g. the bound that was crossed).
MESSAGES = {
    "missing": lambda ctx: "Ce paramètre est obligatoire.",
    "string_too_short": lambda ctx: ("Ce paramètre ne peut pas être vide." if ctx.get("min_length") == 1
                                     else f"Au moins {ctx.get('min_length')} caractères."),
    "string_too_long": lambda ctx: f"{ctx.get('max_length')} caractères au plus.",
    "string_type": lambda ctx: "Une chaîne de caractères est attendue.",
    "string_pattern_mismatch": lambda ctx: f"Format invalide (attendu : {ctx.get('pattern')}).",
    "int_parsing": lambda ctx: "Un nombre entier est attendu.",
    "int_type": lambda ctx: "Un nombre entier est attendu.",
    "int_from_float": lambda ctx: "Un nombre entier est attendu.",
    "greater_than_equal": lambda ctx: f"La valeur est au moins {ctx.get('ge')}.",
    "greater_than": lambda ctx: f"La valeur est supérieure à {ctx.get('gt')}.",
    "less_than_equal": lambda ctx: f"La valeur est au plus {ctx.get('le')}.",
    "less_than": lambda ctx: f"La valeur est inférieure à {ctx.get('lt')}.",
    "decimal_parsing": lambda ctx: "Un nombre décimal est attendu (par exemple 1234.56).",
    "decimal_type": lambda ctx: "Un nombre décimal est attendu (par exemple 1234.56).",
    "float_parsing": lambda ctx: "Un nombre décimal est attendu (par exemple 1234.56).",
    "finite_number": lambda ctx: "Un nombre fini est attendu.",
    "decimal_max_digits": lambda ctx: f"{ctx.get('max_digits')} chiffres au plus.",
    "decimal_max_places": lambda ctx: f"{ctx.get('decimal_places')} décimales au plus.",
    "decimal_whole_digits": lambda ctx: f"{ctx.get('whole_digits')} chiffres au plus avant la virgule.",
    "bool_parsing": lambda ctx: "true ou false est attendu.",
    "bool_type": lambda ctx: "true ou false est attendu.",
    "date_parsing": lambda ctx: "Une date au format AAAA-MM-JJ est attendue.",
    "date_type": lambda ctx: "Une date au format AAAA-MM-JJ est attendue.",
    "date_from_datetime_parsing": lambda ctx: "Une date au format AAAA-MM-JJ est attendue.",
    "date_from_datetime_inexact": lambda ctx: "Une date au format AAAA-MM-JJ est attendue.",
    "datetime_parsing": lambda ctx: "Une date-heure ISO 8601 est attendue (par exemple 2024-07-31T23:59:59+02:00).",
    "datetime_type": lambda ctx: "Une date-heure ISO 8601 est attendue (par exemple 2024-07-31T23:59:59+02:00).",
    "datetime_from_date_parsing": lambda ctx: "Une date-heure ISO 8601 est attendue (par exemple "
                                              "2024-07-31T23:59:59+02:00).",
    "datetime_object_invalid": lambda ctx: "Cette date-heure n'existe pas.",
    "enum": lambda ctx: f"Valeur inconnue ; valeurs permises : {_expected(ctx)}.",
    "literal_error": lambda ctx: f"Valeur inconnue ; valeurs permises : {_expected(ctx)}.",
    "model_attributes_type": lambda ctx: "Un objet JSON est attendu.",
    "model_type": lambda ctx: "Un objet JSON est attendu.",
    "dict_type": lambda ctx: "Un objet JSON est attendu.",
    "list_type": lambda ctx: "Une liste est attendue.",
    "json_invalid": lambda ctx: MALFORMED_BODY,
    "string_no_nul": lambda ctx: NUL_MESSAGE,
}
VALUE_ERROR_PREFIX = "Value error, "


def french_message(error: dict) -> str:
    """The French message of one validation error: ours as written for a ``value_error``, else by its type."""
    kind = error.get("type", "")
    if kind == "value_error":
        message = str(error.get("msg", ""))
        return message[len(VALUE_ERROR_PREFIX):] if message.startswith(VALUE_ERROR_PREFIX) else message
    translate = MESSAGES.get(kind)
    return translate(error.get("ctx") or {}) if translate else "Valeur invalide."


def french_errors(errors: list[dict]) -> list[dict]:
    """ninja's validation errors as the API answers them: place, type and French message of each."""
    return [{"loc": list(e.get("loc", [])), "type": e.get("type", "value_error"), "msg": french_message(e)}
            for e in errors]
