"""Downloads of the follow-up: the workspace's current list (« Télécharger » on the instructor's workspace), the
files of that list or of a selection as one ZIP, and the dossier PDF."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from guichet.calls.models import Call
from guichet.core import audit
from guichet.core.spreadsheets import XLSX, file_name_part
from guichet.dossiers.models import Dossier
from guichet.instruction.views_workspace import list_state

from . import archives, dossier_pdf, exports, formats


def _file_name(call, extension: str) -> str:
    day = timezone.localdate().strftime("%Y-%m-%d")
    return f"Dossiers - {file_name_part(call.title, 120) or call.slug} - {day}.{extension}"


@login_required
def workspace_export(request, slug, extension):
    """The list the workspace shows for this querystring (tab, filters, search, sort), every page of it."""
    if extension not in ("csv", "xlsx", "ods") or not (request.user.is_superuser or request.user.is_ars_staff):
        raise Http404
    call = get_object_or_404(Call.objects.instructed_by(request.user), slug=slug)
    tab, sort, _form, filters, _labels = list_state(request.GET, call)
    export = exports.build(call, request.user, tab, filters, sort, private=request.user.is_ars_staff)
    # Personal data leaves the platform: who took which list, in which format, is in the audit trail.
    audit.record(request.user, "export:workspace", request=request, call=call.slug, format=extension, tab=tab,
                 query=request.GET.urlencode()[:500])
    if extension == "csv":
        response = StreamingHttpResponse(formats.csv_lines(export), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(True, _file_name(call, "csv"))
        return response
    if extension == "ods":
        response = StreamingHttpResponse(formats.ods_chunks(export), content_type=formats.ODS)
        response["Content-Disposition"] = content_disposition_header(True, _file_name(call, "ods"))
        return response
    return FileResponse(formats.xlsx_file(export), as_attachment=True, filename=_file_name(call, "xlsx"),
                        content_type=XLSX)


# --- ZIP of the files ---------------------------------------------------------------------------------------

def _zip_response(request, call, ids: list[int], what: str) -> StreamingHttpResponse:
    name = _file_name(call, "zip").replace("Dossiers - ", "Fichiers des dossiers - ", 1)
    # Personal data leaves the platform: who took the files of which dossiers is in the audit trail.
    audit.record(request.user, "export:zip_dossiers", request=request, call=call.slug, what=what,
                 dossiers=len(ids), first_ids=ids[:50], query=request.GET.urlencode()[:500])
    response = StreamingHttpResponse(archives.build_zip(ids, request.user), content_type="application/zip")
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _ars_call(request, slug) -> Call:
    if not (request.user.is_superuser or request.user.is_ars_staff):
        raise Http404
    return get_object_or_404(Call.objects.instructed_by(request.user), slug=slug)


@login_required
def workspace_zip(request, slug):
    """The files of every dossier of the list the workspace shows for this querystring, one folder each."""
    call = _ars_call(request, slug)
    tab, sort, _form, filters, _labels = list_state(request.GET, call)
    ids = exports.dossier_ids(call, request.user, tab, filters, sort)
    return _zip_response(request, call, ids, what=f"liste:{tab}")


@require_POST
@login_required
def selection_zip(request, slug):
    """The files of the dossiers ticked in the workspace (its batch form's « zip » button)."""
    call = _ars_call(request, slug)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=False):
        back = reverse("instruction:workspace", args=[call.slug])
    raw = request.POST.getlist("dossier")
    if not raw:
        messages.error(request, "Sélectionnez au moins un dossier pour télécharger ses fichiers.")
        return redirect(back)
    if not all(value.isdigit() for value in raw):
        messages.error(request, "La sélection de dossiers est invalide : rechargez la page et recommencez.")
        return redirect(back)
    wanted = [int(value) for value in dict.fromkeys(raw)]
    found = set(Dossier.objects.visible_to(request.user).filter(call=call, pk__in=wanted)
                .values_list("pk", flat=True))
    ids = [pk for pk in wanted if pk in found]
    if not ids:
        messages.error(request, "Aucun des dossiers sélectionnés n'est dans cet appel à projets.")
        return redirect(back)
    return _zip_response(request, call, ids, what="sélection")


# --- The dossier PDF ---------------------------------------------------------------------------------------

@login_required
def dossier_pdf_view(request, pk):
    """The dossier as filed, for whoever sees its summary (its people, the ARS of its region); the private
    annotations only in the ARS' copy."""
    dossier = get_object_or_404(
        Dossier.objects.visible_to(request.user).select_related("call__region", "establishment", "form_version"),
        pk=pk)
    if not dossier_pdf.is_printable(dossier):
        raise Http404
    private = request.user.is_ars_staff
    content = dossier_pdf.render(dossier, private=private)
    audit.record(request.user, "export:dossier_pdf", dossier, request, private=private, size=len(content))
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, dossier_pdf.file_name(dossier))
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
