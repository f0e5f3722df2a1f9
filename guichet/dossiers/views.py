"""Applicant pages for dossiers: start, fill part by part (with autosave), file, read.

Views are thin: they fetch through ``Dossier.objects.visible_to`` and call ``services``.
"""

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from guichet.accounts.known import known_user_id
from guichet.calls.models import Call
from guichet.commission.arbitration import sits_on
from guichet.core import audit, downloads
from guichet.core.ids import is_ascii_number
from guichet.formschema.forms import SchemaFileField, build_section_form
from guichet.messaging import unread

from . import archive, display, drafts, notifications, services, unique
from .forms import DuplicateForm, InvitationForm, PartnersForm, StartForm
from .models import Attachment, Dossier, Invitation, State

STASH_KEY = "dossier-stash:{pk}:{section}"
# The query parameter naming a filled row to show open (``?ouvrir=actions:3``): filled rows are summaries.
OPEN_PARAM = "ouvrir"
# The files refused by the last POST without JavaScript, with their reason (which names the file), shown at
# their field on the page the POST redirects to: a refused file is not an answer, so nothing else keeps it.
REFUSED_KEY = "dossier-refused:{pk}:{section}"


def _dossier(request, pk) -> Dossier:
    """The dossier if the user may see it, with what the page asks next read in the same query
    (``services.with_context``: membership, latest form version, infected files)."""
    return get_object_or_404(
        services.with_context(Dossier.objects.visible_to(request.user), request.user)
        .select_related("call__region", "establishment", "form_version"),
        pk=pk)


@login_required
def my_dossiers(request):
    dossiers = list(Dossier.objects.visible_to(request.user).filter(members=request.user)
                    .select_related("call__region", "establishment").order_by("-updated_at"))
    counts = unread.unread_counts(request.user, [d.pk for d in dossiers])
    for dossier in dossiers:
        dossier.unread = counts.get(dossier.pk, 0)
    return render(request, "dossiers/mine.html", {"dossiers": dossiers, "nav": "dossiers",
                                                  "page_title": "Mes dossiers"})


@login_required
def start(request, slug):
    call = get_object_or_404(Call.objects.calls().filter(published=True), slug=slug)
    establishments = request.user.establishments.order_by("name")
    form = StartForm(request.POST or None, establishments=establishments, call=call)
    if not call.is_open():
        messages.error(request, "Cet appel à projets n'est pas ouvert au dépôt.")
        return redirect("calls:detail", slug=call.slug)
    if request.method == "POST" and form.is_valid():
        try:
            dossier = services.start_dossier(call, form.cleaned_data["establishment"], request.user,
                                             partners=form.cleaned_data.get("partners") or (),
                                             region=form.cleaned_data.get("region"))
        except ValidationError as exc:
            form.add_error("partners" if exc.code == "partner" and "partners" in form.fields else "establishment",
                           exc)
        else:
            standing = unique.refusal(call, [dossier.establishment], exclude=dossier)
            if standing:  # a draft is free, but the applicant should know now that it cannot be filed as is
                messages.warning(request, f"{standing} Ce nouveau dossier reste un brouillon : il ne pourra "
                                          "pas être déposé.")
            first = dossier.form_version.parsed().sections[0].key
            return redirect("dossiers:section", pk=dossier.pk, section=first)
    return render(request, "dossiers/start.html", {"call": call, "form": form, "nav": "dossiers",
                                                   "has_establishments": establishments.exists(),
                                                   "page_title": f"Nouveau dossier — {call.title}"})


def section(request, pk, section):
    if not request.user.is_authenticated:
        return _stash_and_login(request, pk, section)
    dossier = _dossier(request, pk)
    if not services.is_member(dossier, request.user):
        raise PermissionDenied
    schema = services.working_version(dossier).parsed()
    current = schema.section(section)
    if current is None:
        raise Http404
    editable = dossier.is_editable
    stash = request.session.pop(STASH_KEY.format(pk=pk, section=section), None)
    if stash and editable and request.method == "GET":
        from django.utils.datastructures import MultiValueDict

        with transaction.atomic():
            result = services.save_section(dossier, section, MultiValueDict(stash), None, request.user)
            _record_edit(request, dossier, section, result, restored=True)
        messages.success(request, "Votre session avait expiré : ce que vous aviez saisi a été enregistré.")
        return redirect(request.path)
    if request.method == "POST":
        if not editable:
            raise PermissionDenied("Ce dossier ne peut plus être modifié.")
        data = request.POST.copy()
        action = data.get("_action", "")
        if action.startswith("add:"):
            block = action.split(":", 1)[1]
            try:
                data[f"{block}__rows"] = str(int(data.get(f"{block}__rows", "0")) + 1)
            except ValueError:
                pass
        pending_before = set(dossier.pending)
        # The edit's audit record is written inside the saving transaction (no transaction around it here).
        result = services.save_section(dossier, section, data, request.FILES, request.user,
                                       upload_errors=getattr(request, "upload_errors", None),
                                       record=lambda saved: _record_edit(request, dossier, section, saved))
        refused = ""
        if action.startswith("remove:"):
            refused = _remove_row(request, dossier, section, action)
            dossier.refresh_from_db()
        else:
            dossier = result.dossier  # as saved, read under the lock: no need to read it again
        if request.htmx:
            return _autosave_response(request, dossier, result, pending_before)
        _keep_refused_files(request, pk, section, result.form)
        if refused:
            messages.error(request, refused)
        elif result.form.errors:
            messages.warning(request, "Certaines valeurs sont à corriger : elles sont conservées et signalées "
                                      "ci-dessous.")
        else:
            messages.success(request, "Vos réponses ont été enregistrées.")
        if action == "next":
            following = _next_section(schema, current)
            if following:
                return redirect("dossiers:section", pk=pk, section=following.key)
            return redirect("dossiers:file", pk=pk)
        anchor = ""
        if action.startswith("add:"):
            anchor = "#champ-" + action.split(":", 1)[1]
        opened = _requested_row(action.removeprefix("open:")) if action.startswith("open:") else None
        if opened and _holds_row(current, dossier.answers, opened):
            # without JavaScript, « Modifier » saves the part and shows it again with that row open
            block, index = opened
            anchor = f"?{OPEN_PARAM}={block}:{index}#bloc-{block}-{index}"
        return redirect(reverse("dossiers:section", args=[pk, section]) + anchor)
    form = build_section_form(schema, current, dossier.answers, dossier.pending, services.form_context(dossier))
    form.is_valid()
    for name, errors in request.session.pop(REFUSED_KEY.format(pk=pk, section=section), {}).items():
        if name in form.fields:
            for error in errors:
                form.add_error(name, error)
    missing = services.missing_items(dossier, schema)
    opened = _requested_row(request.GET.get(OPEN_PARAM, ""))
    collapse = form.complete_rows(m.path for m in missing) - {opened} if editable else frozenset()
    entries = form.layout(collapse)
    if request.htmx and opened:
        return _open_row(request, dossier, entries, opened, editable)
    return render(request, "dossiers/section.html", {
        "dossier": dossier, "schema": schema, "section": current, "form": form, "entries": entries,
        "editable": editable, "missing_by_section": _count_by_section(missing),
        "next_section": _next_section(schema, current), "nav": "dossiers",
        "page_title": f"{current.title} — {dossier.call.title}",
    })


def _requested_row(value: str):
    """« <block>:<row> » (a collapsed row to show open) as (block key, index), or None."""
    block, _, index = value.partition(":")
    if not block or not is_ascii_number(index) or len(index) > 6:
        return None
    return block, int(index)


def _holds_row(section, answers, row) -> bool:
    block, index = row
    return any(f.type == "repeat" and f.key == block for f in section.fields) and index < len(answers.get(block) or [])


def _open_row(request, dossier, entries, opened, editable):
    """The fields of one row, which htmx puts in place of its summary line."""
    block, index = opened
    entry = next((e for e in entries if e.rows is not None and e.field.key == block), None)
    if entry is None or index >= len(entry.rows):
        raise Http404
    return render(request, "formschema/_row.html", {"dossier": dossier, "f": entry.field, "row": entry.rows[index],
                                                    "editable": editable})


def _keep_refused_files(request, pk, section, form) -> None:
    refused = {name: [str(m) for m in errors][:3] for name, errors in form.errors.items()
               if isinstance(form.fields.get(name), SchemaFileField)}
    if refused:
        request.session[REFUSED_KEY.format(pk=pk, section=section)] = refused


def _remove_row(request, dossier, section, action) -> str:
    """« remove:<block>:<row> »: remove the row; the French reason when it cannot be (else "")."""
    _, block, index = (action.split(":") + ["", ""])[:3]
    if action.count(":") != 2 or not is_ascii_number(index) or len(index) > 6:
        return services.ROW_NOT_FOUND
    try:
        with transaction.atomic():
            services.remove_row(dossier, block, int(index), request.user)
            audit.record(request.user, "dossier:edit", dossier, request, section=section,
                         removed_row=f"{block}.{index}")
    except ValidationError as exc:
        return exc.messages[0]
    return ""


def _record_edit(request, dossier, section, result, restored=False):
    """An edit that changed something: which paths (not their values) and which files were stored."""
    if not (result.changed or result.stored_files or result.cleared_files):
        return
    details = {"section": section, "changed": sorted(result.changed)}
    if result.stored_files:
        details["files"] = [{"id": a.pk, "path": a.field_path, "name": a.original_name, "sha256": a.sha256}
                            for a in result.stored_files]
    if result.cleared_files:
        details["cleared"] = list(result.cleared_files)
    if restored:
        details["restored_after_login"] = True
    audit.record(request.user, "dossier:edit", dossier, request, **details)


def _stash_and_login(request, pk, section):
    """The session expired while typing: keep what was sent, ask to log in, restore it after.

    Kept only for a browser that was logged in as a member of the dossier (``accounts.known``), at most
    ``GUICHET_STASH_MAX_BYTES`` of text (files are never kept), one stash per dossier (the last one): an
    anonymous POST must not be a way to fill the session table."""
    kept = request.method == "POST" and _stash(request, pk, section)
    if request.method == "POST" and request.htmx:
        message = ("Votre session a expiré : reconnectez-vous, votre saisie est conservée." if kept else
                   "Votre session a expiré : reconnectez-vous. Votre dernière saisie n'a pas pu être conservée.")
        response = HttpResponse(f'<p class="fr-error-text">{message}</p>', status=401)
        response["HX-Redirect"] = f"{reverse('account_login')}?next={request.path}"
        return response
    return redirect_to_login(reverse("dossiers:section", args=[pk, section]))


def _stash(request, pk, section) -> bool:
    user_id = known_user_id(request)
    if user_id is None or not Dossier.objects.filter(pk=pk, members__pk=user_id).exists():
        return False
    stash = {k: v for k, v in request.POST.lists() if k != "csrfmiddlewaretoken"}
    if len(json.dumps(stash)) > settings.GUICHET_STASH_MAX_BYTES:
        return False
    prefix = STASH_KEY.format(pk=pk, section="")
    for key in [k for k in request.session.keys() if k.startswith(prefix)]:
        del request.session[key]  # one stash per dossier: the last form sent replaces the others
    request.session[STASH_KEY.format(pk=pk, section=section)] = stash
    return True


def _next_section(schema, current):
    keys = [s.key for s in schema.sections]
    index = keys.index(current.key)
    return schema.sections[index + 1] if index + 1 < len(keys) else None


def _count_by_section(missing):
    counts = {}
    for item in missing:
        counts[item.section_key] = counts.get(item.section_key, 0) + 1
    return counts


def _autosave_response(request, dossier, result, pending_before):
    """Out-of-band updates only where something changed: messages of fields that are or were in
    error, computed values, files just stored. A 50-row section answers in a few kilobytes."""
    form = result.form
    form.answers = dossier.answers  # the layout shows stored values (computed fields, files) after saving
    error_paths = {form.paths[name][1] for name in form.errors if name in form.paths}
    return render(request, "dossiers/_autosave.html", {
        "dossier": dossier, "entries": form.layout(), "form": form, "saved_at": timezone.localtime(),
        "errors": bool(form.errors), "message_paths": error_paths | pending_before, "editable": True,
        "file_paths": {a.field_path for a in result.stored_files} | set(result.cleared_files),
    })


@login_required
def summary(request, pk):
    dossier = _dossier(request, pk)
    schema = dossier.form_version.parsed() if dossier.state != State.BROUILLON else services.working_version(
        dossier).parsed()
    sections = display.answer_sections(schema, dossier.answers)
    is_member = services.is_member(dossier, request.user)
    return render(request, "dossiers/summary.html", {
        "dossier": dossier, "sections": sections, "is_member": is_member,
        "may_delete": drafts.may_delete(dossier, request.user),
        "events": dossier.events.select_related("actor"), "nav": "dossiers",
        "invitation_form": InvitationForm(), "members": dossier.members.all(),
        "page_title": f"Dossier {dossier}",
    })


@login_required
def file(request, pk):
    refused = None
    if request.method == "POST":
        # Straight to the filing, which reads the dossier under its lock and checks membership there (one read
        # instead of two); who is refused is then sent through the page's checks below (404 or 403 first).
        try:
            filed = services.file_dossier(Dossier(pk=pk), request.user, record=lambda filed: audit.record(
                request.user, "dossier:file", filed, request, state=filed.state))
        except Dossier.DoesNotExist:
            raise Http404 from None
        except services.FilingError as exc:
            refused = exc.messages[0]
        except PermissionDenied as exc:
            refused = str(exc)
        else:
            # The acknowledgement is a task enqueued at commit: sent by the worker, after this answer.
            messages.success(request, f"Votre dossier n° {filed.number} a été déposé. Un accusé de réception "
                                      "vous a été envoyé par courriel.")
            return redirect("dossiers:summary", pk=pk)
    dossier = _dossier(request, pk)
    if not services.is_member(dossier, request.user):
        raise PermissionDenied
    if refused:
        messages.error(request, refused)
    missing = services.missing_items(dossier)  # only for the page: the filing checks again under the lock
    return render(request, "dossiers/file.html", {
        "dossier": dossier, "missing": missing, "now": timezone.now(), "nav": "dossiers",
        "refusal": services.filing_refusal(dossier) if dossier.state == State.BROUILLON else None,
        "is_open": dossier.call.is_open(), "page_title": f"Déposer le dossier — {dossier.call.title}",
    })


@login_required
def partners(request, pk):
    dossier = _dossier(request, pk)
    if not services.is_member(dossier, request.user):
        raise PermissionDenied
    form = PartnersForm(request.POST or None, dossier=dossier, user=request.user)
    if request.method == "POST":
        services.ensure_editable(dossier, request.user)
        if form.is_valid():
            try:
                services.set_partners(dossier, form.cleaned_data["partners"], request.user)
            except ValidationError as exc:
                form.add_error("partners", exc)
            else:
                messages.success(request, "Les établissements parties prenantes ont été enregistrés.")
                return redirect("dossiers:summary", pk=pk)
    return render(request, "dossiers/partners.html", {"dossier": dossier, "form": form, "nav": "dossiers",
                                                      "page_title": "Établissements parties prenantes"},
                  status=400 if form.errors else 200)


@login_required
@require_POST
def invite(request, pk):
    dossier = _dossier(request, pk)
    services.ensure_editable(dossier, request.user)
    form = InvitationForm(request.POST)
    if form.is_valid():
        email = form.cleaned_data["email"].lower()
        if dossier.members.filter(email=email).exists():
            messages.info(request, f"{email} travaille déjà sur ce dossier.")
        else:
            with transaction.atomic():
                invitation, created = Invitation.objects.get_or_create(
                    dossier=dossier, email=email, accepted_at=None, defaults={"invited_by": request.user})
                audit.record(request.user, "dossier:invite", dossier, request, obj=invitation, email=email,
                             again=not created)
            transaction.on_commit(lambda: notifications.invitation.enqueue(invitation.pk))
            messages.success(request, f"Une invitation a été envoyée à {email}.")
    else:
        messages.error(request, "Adresse électronique invalide : " + " ".join(form.errors.get("email", [])))
    return redirect("dossiers:summary", pk=pk)


@login_required
def accept_invitation(request, token):
    invitation = get_object_or_404(Invitation, token=token, accepted_at__isnull=True)
    if invitation.email.lower() != request.user.email.lower():
        messages.error(request, f"Cette invitation est adressée à {invitation.email} : connectez-vous avec cette "
                                "adresse pour l'accepter.")
        return redirect("dossiers:mine")
    with transaction.atomic():
        services.accept_invitation(invitation, request.user)
        audit.record(request.user, "dossier:join", invitation.dossier_id, request, obj=invitation)
    messages.success(request, "Vous pouvez maintenant compléter ce dossier.")
    return redirect("dossiers:summary", pk=invitation.dossier_id)


def _dossier_for_download(request, pk) -> Dossier:
    """Who may download a dossier's attachments: whoever sees the dossier, and the members of a commission
    session whose agenda holds it (they read it on « Dossier en commission »); 404 for anyone else."""
    try:
        return _dossier(request, pk)
    except Http404:
        dossier = get_object_or_404(Dossier.objects.exclude(state=State.BROUILLON), pk=pk)
        if not sits_on(request.user, dossier):
            raise
        return dossier


@login_required
def attachment(request, pk, attachment_id):
    dossier = _dossier_for_download(request, pk)
    item = get_object_or_404(Attachment, pk=attachment_id, dossier=dossier)
    return downloads.serve_checked(request, item, dossier, obj=item, path=item.field_path,
                                   name=item.original_name, sha256=item.sha256)


@login_required
def zip_files(request, pk):
    """All the dossier's files in one ZIP, streamed; for whoever may see the dossier's summary."""
    dossier = _dossier(request, pk)
    response = archive.zip_response(dossier)
    audit.record(request.user, "export:zip", dossier, request, name=archive.archive_name(dossier),
                 size=int(response["Content-Length"]))
    return response



@login_required
def delete_draft(request, pk):
    """Confirmation page, then deletion of a draft (``drafts.delete_draft`` refuses anything else)."""
    dossier = _dossier(request, pk)
    if not drafts.may_delete(dossier, request.user):
        raise PermissionDenied
    if request.method == "POST":
        drafts.delete_draft(dossier, request.user)
        messages.success(request, f"Le brouillon « {dossier.call.title} » de {dossier.establishment.name} est "
                                  "supprimé, pour vous et pour les autres personnes qui y travaillaient.")
        return redirect("dossiers:mine")
    return render(request, "dossiers/delete.html", {
        "dossier": dossier, "files": dossier.attachments.count(),
        "others": list(dossier.members.exclude(pk=request.user.pk).order_by("email").values_list("email", flat=True)),
        "nav": "dossiers", "page_title": "Supprimer le brouillon"})


@login_required
def duplicate(request, pk):
    """Start a new draft on an open call from this dossier."""
    dossier = _dossier(request, pk)
    if not services.is_member(dossier, request.user) or getattr(request.user, "is_ars_staff", False):
        raise PermissionDenied
    form = DuplicateForm(request.POST or None, calls=drafts.target_calls(dossier))
    if request.method == "POST" and form.is_valid():
        try:
            result = drafts.duplicate(dossier, form.cleaned_data["call"], request.user)
        except ValidationError as exc:
            form.add_error("call", exc)
        except PermissionDenied as exc:
            form.add_error("call", str(exc) or "Vous ne pouvez pas démarrer de dossier pour cet établissement.")
        else:
            messages.success(request, "Un nouveau brouillon est créé à partir du dossier"
                                      f"{' n° ' + dossier.number if dossier.number else ''}.")
            if result.not_copied:
                messages.warning(request, "Non repris : " + " ; ".join(result.not_copied))
            return redirect("dossiers:summary", pk=result.dossier.pk)
    return render(request, "dossiers/duplicate.html", {"dossier": dossier, "form": form, "nav": "dossiers",
                                                       "page_title": "Dupliquer le dossier"},
                  status=400 if form.errors else 200)
