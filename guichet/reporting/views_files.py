"""Files of the follow-up: the files of the workspace's list or of a selection as one streamed ZIP (« Télécharger
les fichiers »; with an export template, its files, its naming and its spreadsheet — ``zip_response``, also used
by the templates' own « Télécharger »), and the dossier PDF as filed.

The ZIPs are for the ARS staff of the call's region (``views.instructed_call``); the PDF for whoever sees the
dossier's summary. Each download is in the audit trail."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from guichet.core import audit
from guichet.core.ids import is_ascii_number
from guichet.dossiers.models import Dossier
from guichet.instruction.views_workspace import list_state

from . import archives, dossier_pdf, export_templates, exports, jobs
from .models import ExportFormat, ExportKind, ExportTemplate
from .views import file_name, instructed_call, start_job


def zip_response(request, call, ids: list[int], what: str, template: ExportTemplate | None = None
                 ) -> StreamingHttpResponse:
    """The streamed ZIP of ``ids`` (already scoped to the call and the user). With an export template: its
    spreadsheet at the root and, for a ZIP template, its files and naming (``export_templates.zip_options``)."""
    options, extra = {}, []
    if template is not None:
        if template.format == ExportFormat.ZIP:
            options = export_templates.zip_options(template)
        extra = [export_templates.spreadsheet(template, request.user, ids)]
    name = file_name(call, "zip", template.name if template else "Fichiers des dossiers")
    # Personal data leaves the platform: who took the files of which dossiers is in the audit trail.
    audit.record(request.user, "export:zip_dossiers", request=request, call=call.slug, what=what,
                 dossiers=len(ids), first_ids=ids[:50], query=request.GET.urlencode()[:500],
                 **({"template": template.name} if template else {}))
    response = StreamingHttpResponse(archives.build_zip(ids, request.user, extra_files=extra, **options),
                                     content_type="application/zip")
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def list_zip(request, call, ids: list[int], tab: str, template: ExportTemplate | None = None):
    """The ZIP of a workspace list: streamed at once, or past ``GUICHET_ZIP_STREAM_MAX`` dossiers written by a
    background job (the list is read again by the job from the querystring, as the author may see it then)."""
    if not jobs.zip_goes_to_job(len(ids)):
        return zip_response(request, call, ids, what=f"liste:{tab}", template=template)
    parameters = jobs.workspace_parameters(request.GET)
    if template is not None:
        parameters["modele"] = [str(template.pk)]
    return start_job(request, ExportKind.WORKSPACE, ExportFormat.ZIP, call=call, parameters=parameters,
                     details={"call": call.slug, "tab": tab, "query": request.GET.urlencode()[:500],
                              **({"template": template.name} if template else {})})


@login_required
def workspace_zip(request, slug):
    """The files of every dossier of the list the workspace shows for this querystring, one folder each."""
    call = instructed_call(request, slug)
    tab, sort, _form, filters, _labels = list_state(request.GET, call)
    return list_zip(request, call, exports.dossier_ids(call, request.user, tab, filters, sort), tab)


@require_POST
@login_required
def selection_zip(request, slug):
    """The files of the dossiers ticked in the workspace (its batch form's « zip » button)."""
    call = instructed_call(request, slug)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=False):
        back = reverse("instruction:workspace", args=[call.slug])
    raw = request.POST.getlist("dossier")
    if not raw:
        messages.error(request, "Sélectionnez au moins un dossier pour télécharger ses fichiers.")
        return redirect(back)
    if not all(is_ascii_number(value) and len(value) < 19 for value in raw):
        messages.error(request, "La sélection de dossiers est invalide : rechargez la page et recommencez.")
        return redirect(back)
    try:
        template = export_templates.chosen(call, request.POST.get("modele"))
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect(back)
    # The posted order is the page's (the checkboxes in the list's order): the archive keeps it.
    ids = exports.selection_ids(call, raw, limit=len(raw))
    if not ids:
        messages.error(request, "Aucun des dossiers sélectionnés n'est dans cet appel à projets.")
        return redirect(back)
    return zip_response(request, call, ids, what="sélection", template=template)


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
