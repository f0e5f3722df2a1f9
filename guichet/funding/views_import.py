"""The ARS page that imports the grants decided before the platform: upload, preview, confirm.

Step 1 — the file is uploaded, kept in private storage under a random token remembered in the user's
session, and checked without writing anything (a dry run): the page lists the errors by row and column, or
what the import will create. Step 2 — « Importer » runs the import on the same stored file (checked again,
all or nothing). « Vérifier à nouveau » re-checks the stored file, e.g. after the directory was completed:
the uploaded file is never lost on an error. The stored file is deleted once imported, replaced or stale.
"""

import datetime as dt
import re
import secrets
from io import BytesIO

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from guichet.accounts.permissions import is_ars_staff
from guichet.core import spreadsheets
from guichet.core.spreadsheets import XLSX

from .imports import LIMITS, TEMPLATE_FILENAME, import_grants, template_workbook

MAX_IMPORT_MB = LIMITS.max_bytes // (1024 * 1024)
FOLDER = "imports/subventions/"
SESSION_KEY = "funding_grant_import"
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
STALE_AFTER = dt.timedelta(days=1)


class GrantImportForm(forms.Form):
    file = forms.FileField(label="Fichier des subventions (.xlsx)")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".xlsx", ".xlsm")):
            raise forms.ValidationError("Déposez un classeur Excel au format .xlsx (voir le modèle à télécharger).")
        if upload.size > MAX_IMPORT_MB * 1024 * 1024:
            raise forms.ValidationError(f"Le fichier dépasse {MAX_IMPORT_MB} Mo : découpez-le en plusieurs fichiers.")
        upload.seek(0)
        try:  # a spreadsheet bomb is refused here, at the field, from its zip directory, before it is stored
            spreadsheets.check_xlsx(upload.read(), LIMITS)
        except spreadsheets.SpreadsheetRefused as exc:
            raise forms.ValidationError(str(exc)) from None
        upload.seek(0)
        return upload


def staff_or_403(request):
    if not is_ars_staff(request.user):
        raise PermissionDenied("Cette page est réservée aux agents de l'ARS.")


def _region(user):
    """The region the user imports into: theirs (a superuser without one: the file's)."""
    return user.region if user.region_id else None


def _pending(request) -> dict | None:
    pending = request.session.get(SESSION_KEY)
    if not pending or not TOKEN_RE.match(pending.get("token", "")):
        return None
    return pending


def _forget(request) -> None:
    pending = request.session.pop(SESSION_KEY, None)
    if pending and pending.get("name", "").startswith(FOLDER):
        default_storage.delete(pending["name"])


def _purge_stale() -> None:
    """Files of imports left unfinished (session expired) more than a day ago."""
    try:
        _, names = default_storage.listdir(FOLDER)
    except (FileNotFoundError, NotImplementedError):
        return
    limit = timezone.now() - STALE_AFTER
    for name in names:
        path = FOLDER + name
        try:
            if default_storage.get_modified_time(path) < limit:
                default_storage.delete(path)
        except (FileNotFoundError, NotImplementedError):
            continue


def _stored_bytes(pending) -> bytes | None:
    try:
        with default_storage.open(pending["name"], "rb") as handle:
            return handle.read()
    except (FileNotFoundError, OSError):
        return None


def _page(request, *, form=None, report=None, pending=None, status=200):
    return render(request, "funding/import.html", {
        "form": form or GrantImportForm(), "report": report, "pending": pending,
        "max_mb": MAX_IMPORT_MB, "page_title": "Importer des subventions antérieures", "nav": "funding",
    }, status=status)


@login_required
def upload(request):
    """GET: the upload form. POST: keep the file, check it (dry run), show the errors or the preview."""
    staff_or_403(request)
    if request.method != "POST":
        return _page(request, pending=_pending(request))
    form = GrantImportForm(request.POST, request.FILES)
    valid = form.is_valid()
    too_large = getattr(request, "upload_errors", {}).get("file")
    if too_large:  # dropped by the upload handler while it streamed in
        form.errors["file"] = form.error_class([too_large])
        valid = False
    if not valid:
        return _page(request, form=form, pending=_pending(request), status=400)
    upload_file = form.cleaned_data["file"]
    data = upload_file.read()
    _forget(request)
    _purge_stale()
    token = secrets.token_urlsafe(32)
    name = default_storage.save(f"{FOLDER}{token}.xlsx", BytesIO(data))
    pending = {"token": token, "name": name, "original": upload_file.name[:200],
               "uploaded_at": timezone.now().isoformat()}
    request.session[SESSION_KEY] = pending
    report = import_grants(BytesIO(data), _region(request.user), request.user, dry_run=True,
                           file_name=upload_file.name)
    return _page(request, report=report, pending=pending, status=200 if report.ok else 400)


@login_required
@require_POST
def confirm(request):
    """« Importer » (action=importer) or « Vérifier à nouveau » (action=verifier) the stored file."""
    staff_or_403(request)
    pending = _pending(request)
    if pending is None or not secrets.compare_digest(pending["token"], request.POST.get("token", "")):
        messages.error(request, "Le fichier déposé n'est plus disponible (session expirée ou import déjà fait) : "
                                "déposez-le à nouveau.")
        return redirect("funding:import")
    data = _stored_bytes(pending)
    if data is None:
        request.session.pop(SESSION_KEY, None)
        messages.error(request, "Le fichier déposé n'est plus disponible : déposez-le à nouveau.")
        return redirect("funding:import")
    region = _region(request.user)
    dry_run = request.POST.get("action") != "importer"
    report = import_grants(BytesIO(data), region, request.user, dry_run=dry_run, file_name=pending["original"])
    if dry_run or not report.ok:
        return _page(request, report=report, pending=pending, status=200 if report.ok else 400)
    _forget(request)
    messages.success(request, report.summary)
    return redirect("funding:list")


@login_required
def template(request):
    """The workbook to fill in."""
    staff_or_403(request)
    response = HttpResponse(template_workbook(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{TEMPLATE_FILENAME}"'
    response["Cache-Control"] = "private, no-store"
    return response
