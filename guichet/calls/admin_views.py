"""Extra admin pages of calls, wired by ``CallAdmin.get_urls``.

- ``preview``: a call's form rendered section by section with the real form engine
  (``build_section_form`` and ``formschema/entry.html``), read-only: nothing is submitted.
  GET shows the latest version (or ``?version=N``); POST shows the schema typed in the change
  form and not yet saved (field ``form_schema``).
- ``copy``: copy a template (or any call) into a new call with ``copy_call``.

Both check permissions like the change view, through the ``CallAdmin`` they are given.
"""

from decimal import Decimal

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from guichet.accounts.permissions import can_manage_region
from guichet.core.ids import is_ascii_number
from guichet.establishments.models import Region
from guichet.formschema.forms import FormContext, build_section_form
from guichet.formschema.schema import SchemaError, parse_schema

from .forms import CopyCallForm, load_structured_text
from .models import Call
from .templates_loader import copy_call, demo_slug

# Establishments offered by « establishment » fields in a preview (real FINESS numbers, fictitious names).
SAMPLE_ESTABLISHMENTS = [
    ("590780193", "Centre hospitalier (exemple) — FINESS 590780193"),
    ("2A0000154", "EHPAD (exemple) — FINESS 2A0000154"),
]


def _get_call(modeladmin, request, object_id) -> Call:
    if not modeladmin.has_view_permission(request):
        raise PermissionDenied
    call = modeladmin.get_object(request, unquote(object_id))
    if call is None:
        raise Http404("Cet appel à projets n'existe pas ou ne relève pas de votre région.")
    return call


def preview_sections(schema, call: Call) -> list[dict]:
    """Every section of a parsed schema as entries of ``formschema/entry.html``, with empty answers."""
    ctx = FormContext(establishments=list(SAMPLE_ESTABLISHMENTS),
                      rate=call.cofinancing_rate if call.cofinancing_rate is not None else Decimal("50"))
    sections = []
    for section in schema.sections:
        form = build_section_form(schema, section, {}, ctx=ctx)
        sections.append({"section": section, "entries": form.layout()})
    return sections


def preview(modeladmin, request, object_id):
    call = _get_call(modeladmin, request, object_id)
    if not modeladmin.has_view_permission(request, call):
        raise PermissionDenied
    schema, errors, version, unsaved = None, [], None, False
    if request.method == "POST":
        # The text typed in the change form, not saved yet.
        if not modeladmin.has_change_permission(request, call):
            raise PermissionDenied
        unsaved = True
        try:
            schema = parse_schema(load_structured_text(request.POST.get("form_schema", "")))
        except ValidationError as exc:
            errors = list(exc.messages)
        except SchemaError as exc:
            errors = list(exc.messages)
    else:
        number = request.GET.get("version", "")
        chosen = is_ascii_number(number) and len(number) < 10
        version = call.form_versions.filter(kind="form", number=number).first() if chosen else call.current_form
        if version is None:
            raise Http404("Ce formulaire n'existe pas.")
        try:
            schema = version.parsed()
        except SchemaError as exc:
            errors = list(exc.messages)
    context = {
        "call": call,
        "version": version,
        "unsaved": unsaved,
        "errors": errors,
        "sections": preview_sections(schema, call) if schema is not None else [],
        "editable": True,
        "change_url": reverse("admin:calls_call_change", args=[call.pk]),
        "page_title": f"Aperçu du formulaire — {call.title}",
    }
    return TemplateResponse(request, "admin/calls/call/preview.html", context)


def _suggested_slug(source: Call) -> str:
    slug = demo_slug(source) if source.is_template else f"{source.slug}-copie"
    return "" if Call.objects.filter(slug=slug).exists() else slug


def copy(modeladmin, request, object_id):
    source = _get_call(modeladmin, request, object_id)
    if not (modeladmin.has_view_permission(request, source) and modeladmin.has_add_permission(request)):
        raise PermissionDenied
    user = request.user
    regions = Region.objects.all() if user.is_superuser else Region.objects.filter(pk=user.region_id)
    initial = {
        "region": source.region_id if user.is_superuser else user.region_id,
        "title": source.title,
        "slug": _suggested_slug(source),
        "year": timezone.localdate().year,
    }
    form = CopyCallForm(request.POST if request.method == "POST" else None, regions=regions, initial=initial)
    if form.is_valid():
        data = form.cleaned_data
        if not can_manage_region(user, data["region"]):
            raise PermissionDenied("Vous ne pouvez créer d'appel que dans votre région.")
        try:
            with transaction.atomic():
                call = copy_call(source, region=data["region"], title=data["title"], slug=data["slug"],
                                 opens_at=data["opens_at"], closes_at=data["closes_at"], year=data["year"],
                                 user=user)
                call.published = data["published"]
                call.save(update_fields=["published"])
        except ValueError as exc:
            form.add_error(None, str(exc))
        else:
            modeladmin.log_addition(request, call, f"Copié depuis « {source} » (n° {source.pk}).")
            state = "publié" if call.published else "non publié : publiez-le une fois ses réglages relus"
            messages.success(request, f"L'appel « {call.title} » a été créé à partir de « {source.title} » ({state}).")
            return redirect("admin:calls_call_change", call.pk)
    context = {
        **modeladmin.admin_site.each_context(request),
        "opts": modeladmin.opts,
        "source": source,
        "form": form,
        "title": "Copier dans un nouvel appel",
        "subtitle": str(source),
    }
    return TemplateResponse(request, "admin/calls/call/copy.html", context)
