"""Downloads of the workspace's lists (« Télécharger » on the instructor's workspace: the list, a selection, or
the list through an export template) and the pages of the call's export templates.

Only the ARS staff of the call's region reach them (``Call.objects.instructed_by``); every download is in the
audit trail (``export:workspace``)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import FileResponse, Http404, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from guichet.calls.models import Call
from guichet.core import audit
from guichet.core.spreadsheets import XLSX, file_name_part
from guichet.instruction.batch import MAX_DOSSIERS
from guichet.instruction.views_workspace import list_query, list_state

from . import export_templates, exports, formats
from .forms import TemplateForm
from .models import ExportFormat, ExportTemplate

SPREADSHEETS = ("csv", "xlsx", "ods")


def _file_name(call, extension: str, what: str = "Dossiers") -> str:
    day = timezone.localdate().strftime("%Y-%m-%d")
    return f"{file_name_part(what, 80)} - {file_name_part(call.title, 120) or call.slug} - {day}.{extension}"


def _call(request, slug):
    """The call, if the user is ARS staff instructing it (else 404: another region's call does not exist for them)."""
    if not (request.user.is_superuser or request.user.is_ars_staff):
        raise Http404
    return get_object_or_404(Call.objects.instructed_by(request.user).select_related("region"), slug=slug)


def _respond(export, call, extension, what="Dossiers"):
    if extension == "csv":
        response = StreamingHttpResponse(formats.csv_lines(export), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(True, _file_name(call, "csv", what))
        return response
    if extension == "ods":
        response = StreamingHttpResponse(formats.ods_chunks(export), content_type=formats.ODS)
        response["Content-Disposition"] = content_disposition_header(True, _file_name(call, "ods", what))
        return response
    return FileResponse(formats.xlsx_file(export), as_attachment=True, filename=_file_name(call, "xlsx", what),
                        content_type=XLSX)


@login_required
def workspace_export(request, slug, extension):
    """The list the workspace shows for this querystring (tab, filters, search, sort), every page of it."""
    if extension not in SPREADSHEETS:
        raise Http404
    call = _call(request, slug)
    tab, sort, _form, filters, _labels = list_state(request.GET, call)
    export = exports.build(call, request.user, tab, filters, sort, private=request.user.is_ars_staff)
    # Personal data leaves the platform: who took which list, in which format, is in the audit trail.
    audit.record(request.user, "export:workspace", request=request, call=call.slug, format=extension, tab=tab,
                 query=request.GET.urlencode()[:500])
    return _respond(export, call, extension)


@require_POST
@login_required
def selection_export(request, slug, extension):
    """« Télécharger la sélection »: the dossiers checked in the workspace (the batch form's ``dossier`` ids), those
    of the call only; an id outside it is ignored."""
    if extension not in SPREADSHEETS:
        raise Http404
    call = _call(request, slug)
    ids = exports.selection_ids(call, request.POST.getlist("dossier"), MAX_DOSSIERS)
    if not ids:
        posted = len(request.POST.getlist("dossier"))
        error = (f"Sélectionnez {MAX_DOSSIERS} dossiers au plus." if posted > MAX_DOSSIERS
                 else "Sélectionnez au moins un dossier de la liste.")
        return render(request, "instruction/batch_result.html", {
            "back": reverse("instruction:workspace", args=[call.slug]), "nav": "instruction",
            "page_title": "Télécharger la sélection", "error": error}, status=400)
    export = exports.build(call, request.user, None, None, None, private=request.user.is_ars_staff, ids=ids)
    audit.record(request.user, "export:workspace", request=request, call=call.slug, format=extension,
                 tab="selection", dossiers=len(ids))
    return _respond(export, call, extension)


# --- export templates -----------------------------------------------------------------------------------------

def _entries(request, call):
    return exports.catalogue(call, private=request.user.is_ars_staff)


@login_required
def templates_list(request, slug):
    call = _call(request, slug)
    entries = _entries(request, call)
    query = list_query(request.GET)
    templates = [{"template": t, "missing": export_templates.missing_columns(t, entries),
                  "count": len(t.columns)} for t in call.export_templates.select_related("created_by")]
    return render(request, "reporting/templates.html", {
        "call": call, "templates": templates, "list_query": query, "nav": "instruction",
        "workspace_url": reverse("instruction:workspace", args=[call.slug]) + (f"?{query}" if query else ""),
    })


@login_required
def template_edit(request, slug, pk=None):
    """Create (``pk`` None) or edit a template. The columns' « Monter / Descendre » buttons post the whole form,
    which comes back with the row moved and nothing saved; « Enregistrer » saves."""
    call = _call(request, slug)
    template = get_object_or_404(ExportTemplate, pk=pk, call=call) if pk is not None else None
    entries = _entries(request, call)
    file_fields = export_templates.file_fields(entries)
    missing = export_templates.missing_columns(template, entries) if template else []
    columns_error = ""
    if request.method == "POST":
        form = TemplateForm(request.POST, call=call, file_fields=file_fields, instance=template)
        rows = export_templates.read_choices(entries, request.POST)
        if request.POST.get("deplacer"):
            rows = export_templates.move(rows, request.POST["deplacer"])
            # A move is not a save: the form comes back as typed, with nothing to complain about yet.
            typed = {"name": request.POST.get("name", ""), "format": request.POST.get("format", ""),
                     "zip_include": request.POST.getlist("zip_include"),
                     "zip_file_fields": request.POST.getlist("zip_file_fields"),
                     "zip_name_pattern": request.POST.get("zip_name_pattern", "")}
            form = TemplateForm(initial=typed, call=call, file_fields=file_fields, instance=template)
        else:
            try:
                columns = export_templates.columns_of(rows)
            except ValidationError as exc:
                columns_error = exc.messages[0]
            if form.is_valid() and not columns_error:
                saved = _save(request, call, template, form.cleaned_data, columns)
                if saved is None:
                    form.add_error("name", "Un modèle de cet appel porte déjà ce nom : choisissez-en un autre.")
                else:
                    messages.success(request, f"Le modèle « {saved.name} » est enregistré.")
                    back = list_query(QueryDict(request.POST.get("liste", "")))  # the workspace's keys only
                    return redirect(reverse("reporting:templates", args=[call.slug]) + (f"?{back}" if back else ""))
    else:
        initial = ({"name": template.name, "format": template.format, "zip_include": template.zip_include,
                    "zip_file_fields": template.zip_file_fields,
                    "zip_name_pattern": template.zip_name_pattern} if template
                   else {"format": ExportFormat.XLSX, "zip_name_pattern": export_templates.DEFAULT_NAME_PATTERN})
        form = TemplateForm(initial=initial, call=call, file_fields=file_fields, instance=template)
        stored = template.columns if template else [{"key": e.key, "header": e.header} for e in entries]
        rows = export_templates.choices_of(entries, stored)
    return render(request, "reporting/template_form.html", {
        "call": call, "template": template, "form": form, "rows": rows, "columns_error": columns_error,
        "missing": missing, "nav": "instruction", "last": len(rows) - 1,
        "liste": list_query(QueryDict(request.POST.get("liste", "")) if request.method == "POST" else request.GET),
    })


def _save(request, call, template, data, columns):
    fields = {"name": data["name"], "format": data["format"], "columns": columns,
              "zip_include": list(data["zip_include"]), "zip_file_fields": list(data["zip_file_fields"]),
              "zip_name_pattern": data["zip_name_pattern"]}
    try:
        with transaction.atomic():
            if template is None:
                template = ExportTemplate.objects.create(call=call, created_by=request.user, **fields)
            else:
                for name, value in fields.items():
                    setattr(template, name, value)
                template.save()
    except IntegrityError:  # the same name saved meanwhile by a colleague
        return None
    return template


@login_required
def template_delete(request, slug, pk):
    call = _call(request, slug)
    template = get_object_or_404(ExportTemplate, pk=pk, call=call)
    if request.method == "POST":
        name = template.name
        template.delete()
        messages.success(request, f"Le modèle « {name} » est supprimé.")
        return redirect("reporting:templates", slug=call.slug)
    return render(request, "reporting/template_delete.html", {"call": call, "template": template,
                                                               "nav": "instruction"})


@login_required
def template_export(request, slug, pk, extension):
    """« Télécharger avec ce modèle »: the workspace's list of this querystring, with the template's columns."""
    if extension not in SPREADSHEETS:
        raise Http404
    call = _call(request, slug)
    template = get_object_or_404(ExportTemplate, pk=pk, call=call)
    tab, sort, _form, filters, _labels = list_state(request.GET, call)
    export = exports.build(call, request.user, tab, filters, sort, private=request.user.is_ars_staff,
                           columns=template.columns)
    audit.record(request.user, "export:workspace", request=request, call=call.slug, format=extension, tab=tab,
                 query=request.GET.urlencode()[:500], template=template.name)
    return _respond(export, call, extension, what=template.name)

