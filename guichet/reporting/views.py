"""Downloads of the workspace's current list (« Télécharger » on the instructor's workspace)."""

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.http import content_disposition_header

from guichet.calls.models import Call
from guichet.core import audit
from guichet.core.spreadsheets import XLSX, file_name_part
from guichet.instruction.views_workspace import list_state

from . import exports, formats


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
