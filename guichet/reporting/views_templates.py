"""The pages of a call's export templates (« modèles d'export »): list, create, edit (columns chosen, ordered and
renamed — the moves work without JavaScript), delete, and « Télécharger avec ce modèle ».

Only the ARS staff of the call's region reach them (``views.instructed_call``); every download is in the audit
trail (``export:workspace``, or ``export:zip_dossiers`` for a ZIP template's archive, with the template's name)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from guichet.core import audit
from guichet.instruction.views_workspace import list_query, list_state

from . import export_templates, exports, views_files
from .forms import TemplateForm
from .models import ExportFormat, ExportTemplate
from .views import SPREADSHEETS, file_name, instructed_call, send


def _entries(request, call):
    return exports.catalogue(call, private=request.user.is_ars_staff)


@login_required
def templates_list(request, slug):
    call = instructed_call(request, slug)
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
    call = instructed_call(request, slug)
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
    call = instructed_call(request, slug)
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
    """« Télécharger avec ce modèle »: the workspace's list of this querystring, with the template's columns; for a
    ZIP template (``extension`` « zip »), the dossiers' files as it chose them, its spreadsheet at the root."""
    if extension not in SPREADSHEETS and extension != "zip":
        raise Http404
    call = instructed_call(request, slug)
    template = get_object_or_404(ExportTemplate, pk=pk, call=call)
    tab, sort, _form, filters, _labels = list_state(request.GET, call)
    if extension == "zip":
        if template.format != ExportFormat.ZIP:
            raise Http404
        ids = exports.dossier_ids(call, request.user, tab, filters, sort)
        return views_files.list_zip(request, call, ids, tab, template=template)
    export = exports.build(call, request.user, tab, filters, sort, private=request.user.is_ars_staff,
                           columns=template.columns)
    audit.record(request.user, "export:workspace", request=request, call=call.slug, format=extension, tab=tab,
                 query=request.GET.urlencode()[:500], template=template.name)
    return send(export, extension, file_name(call, extension, template.name))
