"""The REST API for the ARS' own tools: ``/api/v1/`` (OpenAPI at ``openapi.json``, docs at ``docs``).

Reads for every token; writes (transitions, messages, invoice validation, payments marked paid) for
read-write tokens only (``auth.require_write``), through the same domain functions as the pages.
Every endpoint authenticates with a bearer token (see ``guichet.api.auth``)
and reaches calls and dossiers only through the same scopes as the web pages:
``Call.objects.instructed_by(user)`` and ``Dossier.objects.visible_to(user)``. Anything outside
the token's region answers 404, exactly like something that does not exist.
"""

from django.http import Http404
from django.shortcuts import get_object_or_404
from ninja import NinjaAPI, Query
from ninja.errors import AuthenticationError, HttpError, ValidationError

from guichet.api.auth import TokenAuth
from guichet.api.errors import INVALID, MALFORMED_BODY, describe_responses, french_errors, responses
from guichet.api.inputs import Parser, number_param, slug_param
from guichet.api.pagination import cursor_param, page
from guichet.api.schemas import CallOut, DossierOut, DossierPage
from guichet.calls.models import Call
from guichet.core import audit
from guichet.dossiers.models import Dossier, State

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
NOT_FOUND = "Ressource introuvable."

class GuichetAPI(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        return describe_responses(super().get_openapi_schema(*args, **kwargs))


api = GuichetAPI(
    title="API Guichet CLACT",
    version="1",
    description=(
        "API de lecture des appels à projets CLACT-QVCT et des dossiers déposés, pour les outils des ARS. "
        "Authentification : `Authorization: Bearer <jeton>` (jeton délivré par `manage.py create_api_token`). "
        "Un jeton ne voit que la région de son titulaire. Les montants sont des chaînes décimales, "
        "les dates-heures sont au format ISO 8601 avec décalage (heure de Paris)."
    ),
    auth=TokenAuth(),
    parser=Parser(),
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    response = api.create_response(request, {"detail": exc.message}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


@api.exception_handler(Http404)
def _not_found(request, exc):
    return api.create_response(request, {"detail": NOT_FOUND}, status=404)


@api.exception_handler(HttpError)
def _http_error(request, exc):
    message = exc.message
    if exc.status_code == 400 and message.startswith("Cannot parse request body"):  # ninja's own, in English
        message = MALFORMED_BODY
    return api.create_response(request, {"detail": message}, status=exc.status_code)


@api.exception_handler(ValidationError)
def _invalid(request, exc):
    return api.create_response(request, {"detail": INVALID, "errors": french_errors(exc.errors)}, status=422)


def scoped_calls(user):
    return Call.objects.instructed_by(user).select_related("region")


def scoped_dossiers(user):
    """Dossiers through the one permission scope; drafts never leave the applicant's hands."""
    return (
        Dossier.objects.visible_to(user)
        .exclude(state=State.BROUILLON)
        .select_related("call", "establishment", "form_version")
        .prefetch_related("partners")
        .defer("pending")
    )


@api.get("/calls", response={200: list[CallOut], **responses(401, 422)}, tags=["appels"],
         summary="Appels à projets de la région du jeton")
def list_calls(request, year: int | None = Query(None, ge=1, le=9999, description="Année de l'appel.")):
    calls = scoped_calls(request.auth).order_by("-year", "title", "id")
    if year is not None:
        calls = calls.filter(year=year)
    return list(calls)


@api.get("/calls/{slug}/dossiers", response={200: DossierPage, **responses(400, 401, 404, 422)}, tags=["dossiers"],
         summary="Dossiers déposés sur un appel (pagination par curseur)")
def list_call_dossiers(
    request,
    slug: str = slug_param(),
    state: State | None = None,
    cursor: str | None = cursor_param(),
    limit: int = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
):
    call = get_object_or_404(scoped_calls(request.auth), slug=slug)
    dossiers = scoped_dossiers(request.auth).filter(call=call).defer("answers")
    if state is not None:
        dossiers = dossiers.filter(state=state)
    items, next_cursor = page(dossiers, cursor, limit)
    return {"items": items, "next_cursor": next_cursor}


@api.get("/dossiers/{number}", response={200: DossierOut, **responses(401, 404, 422)}, tags=["dossiers"],
         summary="Un dossier, par son numéro")
def get_dossier(request, number: str = number_param()):
    dossier = get_object_or_404(scoped_dossiers(request.auth), number=number)
    audit.record(request.auth, "api:read", dossier, request)
    return dossier


from guichet.api.commission import router as commission_router  # noqa: E402
from guichet.api.exports import router as exports_router  # noqa: E402
from guichet.api.funding import router as funding_router  # noqa: E402
from guichet.api.instruction import router as instruction_router  # noqa: E402  (uses scoped_dossiers above)
from guichet.api.messages import router as messages_router  # noqa: E402
from guichet.api.statistics import router as statistics_router  # noqa: E402

api.add_router("", instruction_router)
api.add_router("", messages_router)
api.add_router("", commission_router)
api.add_router("", funding_router)
api.add_router("", exports_router)
api.add_router("", statistics_router)
