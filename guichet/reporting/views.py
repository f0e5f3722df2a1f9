"""Downloads of the workspace's lists (« Télécharger » on the instructor's workspace: the list or a selection)
and of the region's grants, and « Mes exports ».

A list of at most ``GUICHET_EXPORT_STREAM_MAX`` rows is sent at once; a longer one becomes a background job
(``jobs``) whose page shows its progress (refreshed by htmx every 2 s, or by the « Actualiser » link without
JavaScript) and, once ready, its download link. A job's pages and file are its author's only: anyone else
gets 404, colleagues of the same region included. Only the ARS staff of the call's region reach a call's
downloads (``Call.objects.instructed_by``). Every download is in the audit trail.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from guichet.accounts.permissions import is_ars_staff
from guichet.calls.models import Call
from guichet.core import audit, downloads
from guichet.core.spreadsheets import XLSX, file_name_part
from guichet.instruction import workspace
from guichet.instruction.batch import MAX_DOSSIERS
from guichet.instruction.views_workspace import list_state

from . import export_templates, exports, formats, jobs
from . import grants as grant_exports
from .models import ExportJob, ExportKind, ExportState

SPREADSHEETS = ("csv", "xlsx", "ods")


def file_name(call, extension: str, what: str = "Dossiers") -> str:
    day = timezone.localdate().strftime("%Y-%m-%d")
    return f"{file_name_part(what, 80)} - {file_name_part(call.title, 120) or call.slug} - {day}.{extension}"


def instructed_call(request, slug):
    """The call, if the user is ARS staff instructing it (else 404: another region's call does not exist for them;
    ``instructed_by`` is empty for anyone else)."""
    return get_object_or_404(Call.objects.instructed_by(request.user).select_related("region"), slug=slug)


def start_job(request, kind: str, fmt: str, call=None, parameters=None, details=None):
    """A background export for the user, then its page; « Mes exports » with the reason when too many wait.
    The job's creation is in the audit trail with ``details``."""
    try:
        job = jobs.create(request.user, kind, fmt, call=call, parameters=parameters)
    except jobs.TooMany as exc:
        messages.warning(request, str(exc))
        return redirect("reporting:mine")
    audit.record(request.user, "export:job", request=request, obj=job, format=fmt, **(details or {}))
    return redirect("reporting:job", job.pk)


def send(export, extension: str, filename: str):
    if extension == "csv":
        response = StreamingHttpResponse(formats.csv_lines(export), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(True, filename)
        return response
    if extension == "ods":
        response = StreamingHttpResponse(formats.ods_chunks(export), content_type=formats.ODS)
        response["Content-Disposition"] = content_disposition_header(True, filename)
        return response
    return FileResponse(formats.xlsx_file(export), as_attachment=True, filename=filename, content_type=XLSX)


@login_required
def workspace_export(request, slug, extension):
    """The list the workspace shows for this querystring (tab, filters, search, sort), every page of it."""
    if extension not in SPREADSHEETS:
        raise Http404
    call = instructed_call(request, slug)
    tab, sort, _form, filters, _labels = list_state(request.GET, call)
    if jobs.goes_to_job(workspace.queryset(call, request.user, tab, filters, sort).count()):
        return start_job(request, ExportKind.WORKSPACE, extension, call=call,
                         parameters=jobs.workspace_parameters(request.GET),
                         details={"call": call.slug, "tab": tab, "query": request.GET.urlencode()[:500]})
    export = exports.build(call, request.user, tab, filters, sort, private=request.user.is_ars_staff)
    # Personal data leaves the platform: who took which list, in which format, is in the audit trail.
    audit.record(request.user, "export:workspace", request=request, call=call.slug, format=extension, tab=tab,
                 query=request.GET.urlencode()[:500])
    return send(export, extension, file_name(call, extension))


@require_POST
@login_required
def selection_export(request, slug, extension):
    """« Télécharger la sélection »: the dossiers checked in the workspace (the batch form's ``dossier`` ids), those
    of the call only (an id outside it is ignored), in the order posted (the page's); with the columns of the
    export template chosen in the form (``modele``), if any."""
    if extension not in SPREADSHEETS:
        raise Http404
    call = instructed_call(request, slug)
    ids = exports.selection_ids(call, request.POST.getlist("dossier"), MAX_DOSSIERS)
    error = ""
    if not ids:
        posted = len(request.POST.getlist("dossier"))
        error = (f"Sélectionnez {MAX_DOSSIERS} dossiers au plus." if posted > MAX_DOSSIERS
                 else "Sélectionnez au moins un dossier de la liste.")
    try:
        template = export_templates.chosen(call, request.POST.get("modele"))
    except ValidationError as exc:
        error = error or exc.messages[0]
    if error:
        return render(request, "instruction/batch_result.html", {
            "back": reverse("instruction:workspace", args=[call.slug]), "nav": "instruction",
            "page_title": "Télécharger la sélection", "error": error}, status=400)
    # A ZIP template's columns make a spreadsheet too (the sheet its ZIP holds).
    export = exports.build(call, request.user, None, None, None, private=request.user.is_ars_staff, ids=ids,
                           columns=template.columns if template else None)
    audit.record(request.user, "export:workspace", request=request, call=call.slug, format=extension,
                 tab="selection", dossiers=len(ids), **({"template": template.name} if template else {}))
    return send(export, extension, file_name(call, extension, template.name if template else "Dossiers"))


@login_required
def grants_export(request, extension):
    """The grants of the user's region, one row per action: at once, or as a job when there are many."""
    if extension not in SPREADSHEETS:
        raise Http404
    if not is_ars_staff(request.user):
        raise PermissionDenied("Cet export est réservé aux agents de l'ARS.")
    if jobs.goes_to_job(grant_exports.grants(request.user).count()):
        return start_job(request, ExportKind.GRANTS, extension, details={"kind": "grants"})
    audit.record(request.user, "export:grants", request=request, format=extension)
    day = timezone.localdate().strftime("%Y-%m-%d")
    return send(grant_exports.build(request.user), extension, f"Subventions et paiements - {day}.{extension}")


def _own_job(request, pk) -> ExportJob:
    """The job, for its author only (404 for anyone else: its existence is not disclosed)."""
    if not is_ars_staff(request.user):
        raise Http404
    return get_object_or_404(ExportJob.objects.select_related("call"), pk=pk, author=request.user)


@login_required
def mine(request):
    """« Mes exports »: the user's own jobs, latest first."""
    if not is_ars_staff(request.user):
        raise PermissionDenied("Cette page est réservée aux agents de l'ARS.")
    found = ExportJob.objects.filter(author=request.user).select_related("call")[:100]
    return render(request, "reporting/mine.html", {
        "jobs": found, "page_title": "Mes exports", "nav": "exports", "retention": jobs.retention_days(),
    })


@login_required
def job(request, pk):
    found = _own_job(request, pk)
    return render(request, "reporting/job.html", {
        "job": found, "page_title": f"Export — {found.get_kind_display()}", "nav": "exports",
    })


@login_required
def job_status(request, pk):
    """The progress fragment the job's page polls (htmx) while the file is being written."""
    return render(request, "reporting/_job_status.html", {"job": _own_job(request, pk)})


@login_required
def job_file(request, pk):
    found = _own_job(request, pk)
    if found.state != ExportState.READY or not found.file.name:
        raise Http404("Ce fichier n'est plus disponible.")
    audit.record(request.user, "export:download", request=request, obj=found, kind=found.kind, format=found.format,
                 call=found.call.slug if found.call else "")
    return downloads.serve(request, found)
