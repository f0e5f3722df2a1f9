"""The establishment's side of proofs: its grants (ceiling, paid, remaining per action), and in a proofs
dossier the invoices per action, typed online (or read from the bordereau), the degree of completion,
and what will be paid, when, and why a line was not accepted.

A file sent with an invoice whose other fields are wrong is kept (stored at once, offered again in the
form) so that nothing uploaded is lost."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from guichet.calls.models import CallKind
from guichet.core.ids import parse_id
from guichet.dossiers.models import Attachment, Dossier
from guichet.formschema.forms import SchemaFileField
from guichet.formschema.values import parse_decimal

from . import balances, proofs
from .models import Completion, Grant, GrantAction, InvoiceLine
from .payments import ProofsError, receipt_day, why_out_of_windows, window_for

FIELDS = ("supplier", "number", "invoice_date", "amount_ht", "amount_ttc")
PENDING_FILE_PATH = "factures.en_attente"


def proofs_dossier_or_404(request, pk) -> Dossier:
    dossier = get_object_or_404(Dossier.objects.visible_to(request.user).select_related(
        "call__region", "establishment__legal_entity", "form_version"), pk=pk)
    if not proofs.is_proofs(dossier):
        raise Http404
    return dossier


def _parse(post, action) -> tuple[proofs.LineInput, dict]:
    """What was typed for one invoice, and the French messages of what could not even be read."""
    errors = {}
    amounts = {}
    for key in ("amount_ht", "amount_ttc"):
        try:
            amounts[key] = parse_decimal(post.get(key))
        except ValidationError as exc:
            errors[key] = exc.messages[0]
            amounts[key] = None
    raw_date = (post.get("invoice_date") or "").strip()
    invoice_date = None
    if raw_date:
        for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                invoice_date = dt.datetime.strptime(raw_date, fmt).date()
                break
            except ValueError:
                continue
        else:
            errors["invoice_date"] = "Saisissez une date valide, par exemple 15/03/2024."
    return proofs.LineInput(action=action, supplier=post.get("supplier", ""), number=post.get("number", ""),
                            invoice_date=invoice_date, **amounts), errors


def _page(request, dossier, *, form_action=None, errors=None, typed=None, kept_file=None, file_errors=None,
          status=200):
    actions = proofs.covered_actions(dossier)
    summaries = proofs.summary(dossier, actions)
    progress = {p.action_id: p for p in dossier.action_progress.all()}
    grants = []
    for item in summaries:
        item.progress = progress.get(item.action.pk)
        item.explained = [(line, proofs.explain(line)) for line in item.lines]
        if not grants or grants[-1]["grant"].pk != item.action.grant_id:
            grants.append({"grant": item.action.grant, "actions": []})
        grants[-1]["actions"].append(item)
    day = receipt_day(dossier)
    window = window_for(dossier.call, day) if day else None
    return render(request, "funding/invoices.html", {
        "dossier": dossier, "grants": grants, "editable": Dossier.objects.editable_by(request.user).filter(
            pk=dossier.pk).exists(), "completions": Completion.choices, "form_action": form_action,
        "errors": errors or {}, "general_error": (errors or {}).get("__all__") or (errors or {}).get("action"),
        "typed": typed or {}, "kept_file": kept_file, "window": window,
        "without_file": [(line, proofs.file_anchor(line), (file_errors or {}).get(line.pk))
                         for line in proofs.lines_without_file(dossier)],
        "out_of_windows": why_out_of_windows(dossier.call, day) if day and window is None else "",
        "schema": dossier.form_version.parsed(), "nav_invoices": True, "nav": "dossiers",
        "page_title": f"Pièces justificatives — dossier {dossier}"}, status=status)


@login_required
def invoices(request, pk):
    return _page(request, proofs_dossier_or_404(request, pk))


@login_required
@require_POST
def line_add(request, pk):
    dossier = proofs_dossier_or_404(request, pk)
    action = GrantAction.objects.filter(pk=parse_id(request.POST.get("action")) or 0).select_related("grant").first()
    data, errors = _parse(request.POST, action)
    upload, kept = request.FILES.get("file"), None
    if upload is not None:
        try:
            upload = _checked_upload(upload)
        except ValidationError as exc:
            errors["file"] = exc.messages[0]
            upload = None
    if request.POST.get("kept_file"):
        kept = Attachment.objects.filter(dossier=dossier, pk=request.POST["kept_file"],
                                         field_path=PENDING_FILE_PATH).first()
    try:
        if errors:
            raise ProofsError(errors)
        line = proofs.add_line(dossier, request.user, data, upload=upload, attachment=kept)
    except PermissionDenied:
        raise Http404 from None
    except ProofsError as exc:
        found = {**exc.message_dict} if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        found = {k: (v[0] if isinstance(v, list) else v) for k, v in found.items()}
        found.update(errors)
        if upload is not None and kept is None and Dossier.objects.editable_by(request.user).filter(
                pk=dossier.pk).exists():
            from guichet.dossiers.services import store_attachment

            kept = store_attachment(dossier, PENDING_FILE_PATH, upload, request.user)
        typed = {key: request.POST.get(key, "") for key in FIELDS}
        return _page(request, dossier, form_action=action.pk if action else None, errors=found, typed=typed,
                     kept_file=kept, status=400)
    messages.success(request, f"Facture {line.number} de {line.supplier} ajoutée à l'action « {line.action.title} ».")
    return redirect(f"{reverse('funding:invoices', args=[pk])}#action-{line.action_id}")


def _checked_upload(upload):
    """The uploaded invoice, checked as every dossier file is (type, size, content); ValidationError else."""
    return SchemaFileField(allowed_types=["pdf", "jpg", "jpeg", "png"], required=False).clean(upload)


@login_required
@require_POST
def line_file(request, pk, line_pk):
    """Attach its file to an invoice (one read from the bordereau has none); errors at the line."""
    dossier = proofs_dossier_or_404(request, pk)
    line = get_object_or_404(InvoiceLine.objects.select_related("attachment", "action"), dossier=dossier, pk=line_pk)
    try:
        upload = _checked_upload(request.FILES.get("file"))
        proofs.attach_file(line, request.user, upload)
    except PermissionDenied:
        raise Http404 from None
    except ValidationError as exc:
        found = exc.message_dict.get("file", exc.messages) if hasattr(exc, "error_dict") else exc.messages
        return _page(request, dossier, file_errors={line.pk: found[0]}, status=400)
    messages.success(request, f"Fichier « {line.attachment.original_name} » joint à la facture {line.number} de "
                              f"{line.supplier}.")
    return redirect(f"{reverse('funding:invoices', args=[pk])}#action-{line.action_id}")


@login_required
@require_POST
def line_delete(request, pk, line_pk):
    dossier = proofs_dossier_or_404(request, pk)
    line = get_object_or_404(InvoiceLine, dossier=dossier, pk=line_pk)
    try:
        proofs.delete_line(line, request.user)
    except PermissionDenied:
        raise Http404 from None
    except ProofsError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, f"Facture {line.number} supprimée.")
    return redirect("funding:invoices", pk=pk)


@login_required
@require_POST
def progress(request, pk):
    dossier = proofs_dossier_or_404(request, pk)
    action = get_object_or_404(GrantAction, pk=parse_id(request.POST.get("action")) or 0)
    try:
        proofs.set_progress(dossier, request.user, action, request.POST.get("completion", ""),
                            request.POST.get("comment", ""))
    except PermissionDenied:
        raise Http404 from None
    except ProofsError as exc:
        messages.error(request, f"{action.title} : {exc.messages[0]}")
    else:
        messages.success(request, f"Degré de réalisation enregistré pour « {action.title} ».")
    return redirect(f"{reverse('funding:invoices', args=[pk])}#action-{action.pk}")


@login_required
def my_grants(request):
    """The grants of the establishments the user files for: per action, ceiling, paid, remaining."""
    grants = list(Grant.objects.visible_to(request.user).select_related("beneficiary", "legal_entity")
                  .prefetch_related("actions__establishments").order_by("-call_year", "convention_reference"))
    grant_balances, action_balances = balances.compute(grants)
    rows = [{"grant": g, "summary": grant_balances[g.pk], "actions": [(a, action_balances[a.pk])
                                                                      for a in g.actions.all()]} for g in grants]
    from guichet.calls.models import Call

    proofs_calls = (Call.objects.open_at().filter(kind=CallKind.PROOFS, region__in={g.region_id for g in grants})
                    .order_by("closes_at") if grants else [])
    return render(request, "funding/my_grants.html", {"rows": rows, "proofs_calls": proofs_calls, "nav": "funding",
                                                      "page_title": "Mes subventions"})
