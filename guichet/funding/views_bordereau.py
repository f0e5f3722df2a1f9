"""The bordereau récapitulatif of a proofs dossier: download it pre-filled, upload it back filled.

Whoever may see the dossier downloads it (its members, the region's ARS staff once it is filed); anyone
else gets 404, as for a dossier that does not exist. Only its members upload it, while it is editable. The
reading, the checks and the import are in ``bordereau``; a file with wrong cells changes nothing and the
page lists every wrong cell with its sheet, row and column.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST

from guichet.core import audit

from . import bordereau, proofs
from .views_proofs import proofs_dossier_or_404

SHOWN_ERRORS = 200  # a badly mangled file may have thousands; the first ones are enough to act on


def _invoices_url(dossier) -> str:
    try:
        return reverse("funding:invoices", args=[dossier.pk])
    except NoReverseMatch:  # pragma: no cover - the invoices page is part of the funding URLs
        return reverse("dossiers:summary", args=[dossier.pk])


@login_required
@require_GET
def download(request, pk):
    dossier = proofs_dossier_or_404(request, pk)
    content = bordereau.workbook(dossier)
    audit.record(request.user, "export:bordereau", dossier=dossier, request=request)
    response = HttpResponse(content, content_type=bordereau.XLSX)
    response["Content-Disposition"] = content_disposition_header(True, bordereau.filename(dossier))
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_POST
def upload(request, pk):
    dossier = proofs_dossier_or_404(request, pk)
    is_member = dossier.members.filter(pk=request.user.pk).exists()
    if not is_member:
        raise Http404
    file = request.FILES.get("file") or request.FILES.get("bordereau")
    errors = []
    result = None
    if file is None:
        errors = ["Choisissez le fichier du bordereau complété (.xlsx)."]
    else:
        try:
            result = bordereau.import_into(dossier, file, request.user)
        except PermissionDenied:
            messages.error(request, "Ce dossier n'est plus modifiable : le bordereau n'a pas été lu.")
            return redirect(_invoices_url(dossier))
        errors = [e.text for e in result.errors]
    if errors:
        return render(request, "funding/bordereau_errors.html", {
            "dossier": dossier, "errors": errors[:SHOWN_ERRORS], "hidden": max(0, len(errors) - SHOWN_ERRORS),
            "count": len(errors), "filename": getattr(file, "name", ""), "back": _invoices_url(dossier),
            "nav": "dossiers", "page_title": f"Bordereau non lu — dossier {dossier}"})
    count = len(result.lines)
    message = f"{count} facture{'s' if count > 1 else ''} lue{'s' if count > 1 else ''} dans le bordereau"
    details = []
    if result.created:
        details.append(f"{result.created} ajoutée{'s' if result.created > 1 else ''}")
    if result.kept:
        details.append(f"{result.kept} déjà enregistrée{'s' if result.kept > 1 else ''}")
    if result.removed:
        details.append(f"{result.removed} retirée{'s' if result.removed > 1 else ''} car absente"
                       f"{'s' if result.removed > 1 else ''} du fichier")
    if details:
        message += f" ({', '.join(details)})"
    message += "."
    if result.ignored_sheets:
        message += " Onglets ignorés : " + ", ".join(f"« {t} »" for t in result.ignored_sheets) + "."
    waiting = len(proofs.lines_without_file(dossier))
    if waiting:
        message += (f" {waiting} facture{'s' if waiting > 1 else ''} attend{'ent' if waiting > 1 else ''} encore "
                    f"{'leur' if waiting > 1 else 'son'} fichier : joignez-le ci-dessous, le dossier ne peut pas être "
                    "déposé sans.")
    messages.success(request, message)
    return redirect(_invoices_url(dossier) + ("#factures-sans-fichier" if waiting else ""))
