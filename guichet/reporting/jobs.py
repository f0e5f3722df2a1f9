"""Exports in the background: when a list goes to a job, creating the job, writing its file, expiring it.

A list of at most ``GUICHET_EXPORT_STREAM_MAX`` rows is sent while the browser waits (``views``); a longer one
becomes an ``ExportJob``, written by the task ``tasks.build_export`` after the request's transaction commits.
The task builds the same ``exports.build`` / ``grants.build`` table as a direct download, writes it to a
temporary file (on disk beyond a few megabytes: memory stays bounded), stores it in private storage under
``exports/`` and e-mails its author. The progress (rows written out of the total) is saved every ``BATCH``
rows by a single UPDATE. The file is its author's only, for ``GUICHET_EXPORT_RETENTION_DAYS`` days.

A ZIP of the dossiers' files (``archives.build_zip``, with an export template's options and spreadsheet when the
job names one) goes the same way past ``GUICHET_ZIP_STREAM_MAX`` dossiers: writing each dossier's PDF makes it
far slower than a spreadsheet. Its progress counts dossiers, saved every ``ZIP_BATCH`` of them.
"""

import datetime as dt
import hashlib
import logging
import secrets
import tempfile

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import QueryDict
from django.utils import timezone

from guichet.core.spreadsheets import XLSX, file_name_part

from . import archives, exports, formats
from . import grants as grant_exports
from .models import ExportFormat, ExportJob, ExportKind, ExportState

logger = logging.getLogger(__name__)

FOLDER = "exports/"
BATCH = 500
ZIP_BATCH = 20
CONTENT_TYPES = {ExportFormat.CSV: "text/csv; charset=utf-8", ExportFormat.XLSX: XLSX,
                 ExportFormat.ODS: formats.ODS, ExportFormat.ZIP: "application/zip"}
FAILED = ("L'export n'a pas pu être produit. Relancez-le depuis la page d'où vous l'avez demandé ; si l'erreur "
          "persiste, signalez-la à l'administrateur de la plateforme.")
NO_LONGER_ALLOWED = "Votre compte ne donne plus accès à ces données : l'export n'a pas été produit."
TEMPLATE_GONE = "Le modèle d'export demandé a été supprimé entre-temps : l'export n'a pas été produit."


MAX_ACTIVE = 3  # jobs of one author waiting or running at once (the workers are shared)
ACTIVE_WINDOW = dt.timedelta(hours=1)  # a job stuck longer (a worker stopped) no longer counts
TOO_MANY = ("Vous avez déjà {n} exports en cours de préparation : attendez que l'un d'eux soit prêt (« Mes exports ») "
            "avant d'en demander un autre.")


class TooMany(Exception):
    """The author already has ``MAX_ACTIVE`` jobs waiting or running."""


class NotAllowed(Exception):
    """The author may no longer read what the job exports."""


def stream_max() -> int:
    return settings.GUICHET_EXPORT_STREAM_MAX


def goes_to_job(rows: int) -> bool:
    """A list longer than the setting is written in the background."""
    return rows > stream_max()


def zip_goes_to_job(dossiers: int) -> bool:
    """A ZIP of more dossiers than the setting is written in the background."""
    return dossiers > settings.GUICHET_ZIP_STREAM_MAX


def workspace_parameters(query: QueryDict) -> dict:
    """The workspace's querystring, kept as lists of values (a filter may be repeated)."""
    return {key: query.getlist(key) for key in query if key != "curseur"}


def _query(parameters: dict) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, values in (parameters or {}).items():
        query.setlist(key, [str(v) for v in (values if isinstance(values, list) else [values])])
    return query


def workspace_list(call, user, parameters: dict):
    """(tab, filters, sort) of a workspace querystring, read as the workspace reads it."""
    from guichet.instruction.views_workspace import list_state

    tab, sort, _form, filters, _labels = list_state(_query(parameters), call)
    return tab, filters, sort


def create(user, kind: str, fmt: str, call=None, parameters=None) -> ExportJob:
    """A new job for ``user``; its task starts once the current transaction commits. ``TooMany`` when the user
    already waits for ``MAX_ACTIVE`` of them."""
    from .tasks import build_export

    active = ExportJob.objects.filter(author=user, state__in=(ExportState.PENDING, ExportState.RUNNING),
                                      created_at__gte=timezone.now() - ACTIVE_WINDOW)
    if active.count() >= MAX_ACTIVE:
        raise TooMany(TOO_MANY.format(n=MAX_ACTIVE))
    job = ExportJob.objects.create(author=user, kind=kind, call=call, parameters=parameters or {}, format=fmt)
    transaction.on_commit(lambda: build_export.enqueue(job.pk))
    return job


def file_name(job: ExportJob) -> str:
    day = timezone.localdate(job.created_at).strftime("%Y-%m-%d")
    if job.kind == ExportKind.GRANTS:
        return f"Subventions et paiements - {day}.{job.format}"
    title = file_name_part(job.call.title, 120) or job.call.slug
    what = "Fichiers des dossiers" if job.format == ExportFormat.ZIP else "Dossiers"
    return f"{what} - {title} - {day}.{job.format}"


def _export_of(job: ExportJob):
    """(the export, its number of main rows) as the author may see it now."""
    user = job.author
    if not (user.is_active and (user.is_superuser or user.is_ars_staff)):
        raise NotAllowed(NO_LONGER_ALLOWED)
    if job.kind == ExportKind.GRANTS:
        return grant_exports.build(user), None
    from guichet.calls.models import Call
    from guichet.instruction import workspace

    if not Call.objects.instructed_by(user).filter(pk=job.call_id).exists():
        raise NotAllowed(NO_LONGER_ALLOWED)
    tab, filters, sort = workspace_list(job.call, user, job.parameters)
    if job.format == ExportFormat.ZIP:
        return _zip_of(job, exports.dossier_ids(job.call, user, tab, filters, sort))
    total = workspace.queryset(job.call, user, tab, filters, sort).count()
    return exports.build(job.call, user, tab, filters, sort, private=user.is_ars_staff), total


def _zip_of(job: ExportJob, ids: list[int]):
    """(the ZIP's chunks, its number of dossiers): with the export template the job names (``modele``), its
    files, naming and spreadsheet, as a direct download would."""
    from .export_templates import spreadsheet, zip_options
    from .models import ExportTemplate

    options, extra = {}, []
    template_pk = (job.parameters.get("modele") or [None])[0]
    if template_pk is not None:
        template = ExportTemplate.objects.filter(pk=template_pk, call=job.call).first()
        if template is None:
            raise NotAllowed(TEMPLATE_GONE)
        if template.format == ExportFormat.ZIP:
            options = zip_options(template)
        extra = [spreadsheet(template, job.author, ids)]

    def progress(done):
        if done % ZIP_BATCH == 0 or done == len(ids):
            ExportJob.objects.filter(pk=job.pk).update(done=done)

    return archives.build_zip(ids, job.author, extra_files=extra, progress=progress, **options), len(ids)


def _counted(rows, job_pk: int):
    """The rows, saving how many were written every ``BATCH`` rows (one UPDATE, no read)."""
    done = 0
    for row in rows:
        yield row
        done += 1
        if done % BATCH == 0:
            ExportJob.objects.filter(pk=job_pk).update(done=done)
    ExportJob.objects.filter(pk=job_pk).update(done=done)


def _write(export, fmt: str, out) -> None:
    if fmt == ExportFormat.ZIP:  # the archive's chunks
        for chunk in export:
            out.write(chunk)
    elif fmt == ExportFormat.CSV:
        for line in formats.csv_lines(export):
            out.write(line.encode("utf-8"))
    elif fmt == ExportFormat.ODS:
        for chunk in formats.ods_chunks(export):
            out.write(chunk)
    else:
        source = formats.xlsx_file(export)
        try:
            while chunk := source.read(1024 * 1024):
                out.write(chunk)
        finally:
            source.close()


def run(job_pk: int) -> str:
    """Write the file of one job; returns the state it ends in. Safe to call again on a finished job."""
    job = ExportJob.objects.select_related("author", "call").filter(pk=job_pk).first()
    if job is None or job.state not in (ExportState.PENDING, ExportState.RUNNING):
        return job.state if job else "missing"
    try:
        export, total = _export_of(job)
        if total is None:  # grants: one row per action
            from guichet.funding.models import GrantAction

            total = GrantAction.objects.filter(grant__in=grant_exports.grants(job.author)).count()
        ExportJob.objects.filter(pk=job.pk).update(state=ExportState.RUNNING, total=total, done=0)
        if job.format != ExportFormat.ZIP:
            export.main.rows = _counted(export.main.rows, job.pk)
        with tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR) as out:
            _write(export, job.format, out)
            size = out.tell()
            out.seek(0)
            hasher = hashlib.sha256()
            while chunk := out.read(1024 * 1024):
                hasher.update(chunk)
            out.seek(0)
            name = default_storage.save(f"{FOLDER}{timezone.now():%Y/%m}/{secrets.token_hex(16)}.{job.format}",
                                        File(out, name=f"export.{job.format}"))
    except NotAllowed as exc:
        return _fail(job, str(exc))
    except Exception:  # noqa: BLE001 - whatever went wrong, the author reads a French message, the log the cause
        logger.exception("Export job %s failed", job.pk)
        return _fail(job, FAILED)
    now = timezone.now()
    with transaction.atomic():
        updated = ExportJob.objects.filter(pk=job.pk, state__in=(ExportState.PENDING, ExportState.RUNNING)).update(
            state=ExportState.READY, file=name, size=size, sha256=hasher.hexdigest(), original_name=file_name(job),
            content_type=CONTENT_TYPES[job.format], finished_at=now,
            expires_at=now + dt.timedelta(days=settings.GUICHET_EXPORT_RETENTION_DAYS))
        if not updated:  # purged or finished meanwhile: the file is nobody's
            transaction.on_commit(lambda: default_storage.delete(name))
            return ExportJob.objects.get(pk=job.pk).state
        from .tasks import export_ready

        transaction.on_commit(lambda: export_ready.enqueue(job.pk))
    return ExportState.READY


def _fail(job: ExportJob, message: str) -> str:
    ExportJob.objects.filter(pk=job.pk).update(state=ExportState.FAILED, error=message[:500],
                                               finished_at=timezone.now())
    return ExportState.FAILED


def purge(now=None) -> tuple[int, int]:
    """Delete the files of the jobs past their expiry and mark them expired; (files deleted, jobs expired).
    Jobs stuck waiting or failed past the retention are expired too. Running it twice changes nothing more."""
    now = now or timezone.now()
    retention = dt.timedelta(days=settings.GUICHET_EXPORT_RETENTION_DAYS)
    expired = ExportJob.objects.filter(state=ExportState.READY, expires_at__lte=now)
    deleted = jobs = 0
    for job in expired.only("pk", "file").iterator():
        if job.file.name:
            default_storage.delete(job.file.name)
            deleted += 1
        jobs += ExportJob.objects.filter(pk=job.pk, state=ExportState.READY).update(
            state=ExportState.EXPIRED, file="")
    jobs += ExportJob.objects.filter(state__in=(ExportState.FAILED, ExportState.PENDING, ExportState.RUNNING),
                                     created_at__lte=now - retention).update(state=ExportState.EXPIRED)
    return deleted, jobs


def retention_days() -> int:
    return settings.GUICHET_EXPORT_RETENTION_DAYS
