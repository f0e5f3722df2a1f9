"""API endpoints of exports: the workspace list of a call (with the workspace's filters) or the region's grants
and payments, written in the background as on the web pages (``guichet.reporting.jobs``), then polled and
downloaded.

Creating a job reads data only, so a read-only token may do it (it is never refused with 403); an author
waiting for ``jobs.MAX_ACTIVE`` jobs already gets 409. A job is its token's owner's only: another
user's job, a colleague's of the same region included, answers 404 like one that does not exist. Every
download is in the audit trail, as on « Mes exports ».
"""

import datetime as dt

from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.errors import HttpError, ValidationError
from pydantic import Field

from guichet.api.errors import responses
from guichet.api.inputs import SLUG_PATTERN, InputSchema, id_param
from guichet.api.schemas import paris_time
from guichet.core import audit, downloads
from guichet.reporting import jobs
from guichet.reporting.models import ExportFormat, ExportJob, ExportKind, ExportState

router = Router(tags=["exports"])

NOT_READY = "Le fichier de cet export n'est pas prêt : interrogez son état jusqu'à « pret »."
EXPIRED = "Le fichier de cet export n'est plus disponible (export expiré ou échoué)."
CALL_REQUIRED = "Indiquez l'appel à projets (son identifiant d'adresse) dont exporter les dossiers."
NO_CALL = "Un export des subventions porte sur toute la région : n'indiquez pas d'appel à projets."
NO_GRANTS_ZIP = "Les subventions s'exportent en csv, xlsx ou ods : le format zip rassemble les fichiers des dossiers."
MAX_FILTERS = 50


class ExportIn(InputSchema):
    kind: ExportKind = Field(description="workspace : les dossiers d'un appel, comme la liste de l'espace "
                                         "instructeur ; grants : les subventions de la région, une ligne par action.")
    format: ExportFormat = Field(description="csv, xlsx ou ods ; zip (workspace seulement) : les fichiers et le PDF "
                                             "de chaque dossier, ou ceux qu'un modèle d'export ZIP choisit "
                                             "(filtre « modele » : son identifiant).")
    call: str | None = Field(None, pattern=SLUG_PATTERN, max_length=100,
                             description="Identifiant d'adresse (slug) de l'appel, pour workspace.")
    filters: dict[str, list[str]] = Field(
        default_factory=dict, max_length=MAX_FILTERS,
        description="Paramètres de la liste, comme dans l'adresse de l'espace instructeur : onglet, tri, q, etat, "
                    "departement… (chaque valeur est une liste). Un paramètre inconnu est ignoré.",
        examples=[{"onglet": ["tous"], "departement": ["59"]}])


class ExportJobOut(Schema):
    id: int
    kind: ExportKind
    format: ExportFormat
    call: str | None = Field(description="Identifiant d'adresse de l'appel (workspace) ; null pour grants.")
    state: ExportState = Field(description="en_attente, en_cours, pret, echoue ou expire.")
    state_label: str
    done: int = Field(description="Lignes écrites (dossiers pour un zip).")
    total: int = Field(description="Lignes à écrire, dossiers pour un zip (connu une fois l'export commencé).")
    percent: int = Field(description="Avancement, de 0 à 100.")
    size: int | None = Field(description="Taille du fichier en octets, une fois prêt.")
    error: str = Field(description="Pourquoi l'export a échoué ; vide sinon.")
    created_at: dt.datetime
    finished_at: dt.datetime | None
    expires_at: dt.datetime | None = Field(description="Le fichier est supprimé après cette date.")
    download_url: str | None = Field(description="Adresse du fichier (même jeton), une fois prêt ; null sinon.")


def _out(job: ExportJob) -> dict:
    from django.urls import reverse

    ready = job.state == ExportState.READY
    return {"id": job.pk, "kind": job.kind, "format": job.format, "call": job.call.slug if job.call else None,
            "state": job.state, "state_label": job.get_state_display(), "done": job.done, "total": job.total,
            "percent": job.percent, "size": job.size if ready else None, "error": job.error,
            "created_at": paris_time(job.created_at), "finished_at": paris_time(job.finished_at),
            "expires_at": paris_time(job.expires_at) if ready else None,
            "download_url": reverse("api:get_export_file", args=[job.pk]) if ready else None}


def _job(request, job_id: int) -> ExportJob:
    return get_object_or_404(ExportJob.objects.select_related("call"), pk=job_id, author=request.auth)


@router.post("/exports", response={201: ExportJobOut, **responses(400, 401, 404, 409, 422)},
             summary="Lancer un export en arrière-plan : dossiers d'un appel (avec les filtres de la liste) ou "
                     "subventions et paiements de la région")
def create_export(request, payload: ExportIn):
    from guichet.api.api import scoped_calls

    call = None
    if payload.kind == ExportKind.WORKSPACE:
        if not payload.call:
            raise ValidationError([{"loc": ["body", "payload", "call"], "msg": CALL_REQUIRED, "type": "value_error"}])
        call = get_object_or_404(scoped_calls(request.auth), slug=payload.call)
        parameters = {key[:100]: [v[:200] for v in values[:MAX_FILTERS]] for key, values in payload.filters.items()}
    else:
        if payload.call:
            raise ValidationError([{"loc": ["body", "payload", "call"], "msg": NO_CALL, "type": "value_error"}])
        if payload.format == ExportFormat.ZIP:
            raise ValidationError([{"loc": ["body", "payload", "format"], "msg": NO_GRANTS_ZIP,
                                    "type": "value_error"}])
        parameters = {}
    try:
        job = jobs.create(request.auth, payload.kind, payload.format, call=call, parameters=parameters)
    except jobs.TooMany as exc:
        raise HttpError(409, str(exc)) from None
    audit.record(request.auth, "export:job", request=request, obj=job, kind=payload.kind, format=payload.format,
                 call=call.slug if call else "", via="api")
    job.refresh_from_db()
    return Status(201, _out(job))


@router.get("/exports/{job_id}", response={200: ExportJobOut, **responses(401, 404, 422)},
            summary="État et avancement d'un export (le titulaire du jeton seulement)")
def get_export(request, job_id: int = id_param("de l'export")):
    return _out(_job(request, job_id))


FILE_TYPES = {t: {"schema": {"type": "string", "format": "binary"}} for t in jobs.CONTENT_TYPES.values()}


@router.get("/exports/{job_id}/file", response={200: None, **responses(401, 404, 409, 422)},
            url_name="get_export_file", openapi_extra={"responses": {200: {
                "description": "Le fichier de l'export (CSV, XLSX ou ODS).", "content": FILE_TYPES}}},
            summary="Télécharger le fichier d'un export prêt (le titulaire du jeton seulement)")
def get_export_file(request, job_id: int = id_param("de l'export")):
    job = _job(request, job_id)
    if job.state in (ExportState.PENDING, ExportState.RUNNING):
        raise HttpError(409, NOT_READY)
    if job.state != ExportState.READY or not job.file.name:
        raise HttpError(409, EXPIRED)
    audit.record(request.auth, "export:download", request=request, obj=job, kind=job.kind, format=job.format,
                 call=job.call.slug if job.call else "", via="api")
    return downloads.serve(request, job)
