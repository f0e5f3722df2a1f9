"""The dossier domain: starting, saving, filing — one way in for each rule.

Views, the API, the admin and commands call these functions; they never change a dossier's
answers or state themselves. Side effects (e-mails) run after the transaction commits.
"""

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from guichet.calls import deadlines
from guichet.core.files import store_upload
from guichet.core.text import count
from guichet.formschema import engine
from guichet.formschema.forms import FormContext, build_section_form, merge_section

from . import kinds, notifications, unique
from .models import Attachment, Dossier, DossierEvent, EventKind, State
from .workflow import filed


class FilingError(ValidationError):
    """A dossier cannot be filed; the message says why, in French."""


def form_context(dossier: Dossier) -> FormContext:
    from django.urls import reverse

    return FormContext(
        establishments=[(e.finess, f"{e.name} ({e.finess})") for e in dossier.establishments],
        rate=dossier.call.cofinancing_rate,
        attachment_url=lambda value: reverse("dossiers:attachment", args=[dossier.pk, value["attachment"]]),
    )


def with_context(queryset, user):
    """``queryset`` of dossiers annotated, in its own query, with what reading or saving one asks next:
    whether ``user`` is a member (``is_member``), the call's latest form version (``latest_form_id``, for
    ``working_version``) and whether any of its files was found infected (``has_infected``, for
    ``missing_items``) or has parties prenantes (``has_partners``, for ``Dossier.establishments``). Each saves
    a query per request; ``is_member`` and ``ensure_editable`` fall back to a
    query on a dossier read otherwise."""
    from guichet.calls.models import FormVersion
    from guichet.core.models import ScanStatus

    members = Dossier.members.through.objects.filter(dossier_id=OuterRef("pk"), user_id=user.pk)
    latest = (FormVersion.objects.filter(call_id=OuterRef("call_id"), kind="form").order_by("-number")
              .values("pk")[:1])
    infected = Attachment.objects.filter(dossier_id=OuterRef("pk"), scan_status=ScanStatus.INFECTED)
    partners = Dossier.partners.through.objects.filter(dossier_id=OuterRef("pk"))
    return queryset.annotate(is_member_of=Exists(members), latest_form_id=Subquery(latest),
                             has_infected=Exists(infected), has_partners=Exists(partners),
                             member_checked_for=models.Value(user.pk))


def is_member(dossier: Dossier, user) -> bool:
    """Is ``user`` a member of ``dossier``? Read from ``with_context``'s annotation when the dossier has it."""
    if user.is_authenticated and getattr(dossier, "member_checked_for", None) == user.pk:
        return dossier.is_member_of
    return user.is_authenticated and dossier.members.filter(pk=user.pk).exists()


def working_version(dossier: Dossier):
    """The form version a dossier is shown with: a draft follows the call's latest version;
    a filed dossier keeps the version it was filed on."""
    if dossier.state == State.BROUILLON:
        from guichet.calls.models import FormVersion

        if hasattr(dossier, "latest_form_id"):  # read with the dossier (with_context)
            latest_id = dossier.latest_form_id
        else:
            latest_id = (FormVersion.objects.filter(call_id=dossier.call_id, kind="form").order_by("-number")
                         .values_list("pk", flat=True).first())
        if latest_id and latest_id != dossier.form_version_id:
            dossier.form_version = FormVersion.objects.get(pk=latest_id)
    return dossier.form_version


@transaction.atomic
def start_dossier(call, establishment, user, partners=(), region=None) -> Dossier:
    """A new draft on ``call`` carried by ``establishment`` (one of the user's), with its parties prenantes.

    ``region``: where the establishment is implanted, when the directory does not know it (the page asks
    for it); a known region is never changed here. The porteur may already stand in a filed dossier of the
    call (a draft is free until filing); parties prenantes are added now, so they are checked now."""
    if not call.is_open():
        raise ValidationError("Cet appel à projets n'est pas ouvert : il n'est pas possible d'y déposer un dossier.")
    if not user.establishments.filter(pk=establishment.pk).exists():
        raise PermissionDenied("Vous n'êtes pas rattaché à cet établissement.")
    if region is not None and establishment.region_id is None:
        establishment.region = region
        establishment.save(update_fields=["region", "updated_at"])
    refusal = call.refusal(establishment)
    if refusal:
        raise ValidationError(refusal)
    partners = [p for p in partners if p.pk != establishment.pk]
    _check_new_partners(call, partners)
    version = call.current_form
    dossier = Dossier.objects.create(call=call, form_version=version, establishment=establishment,
                                     created_by=user, answers=prefilled_answers(version.parsed(), establishment, user))
    dossier.members.add(user)
    if partners:
        dossier.partners.set(partners)
    DossierEvent.objects.create(dossier=dossier, kind=EventKind.CREATED, actor=user, to_state=State.BROUILLON)
    return dossier


def _check_new_partners(call, partners, dossier=None) -> None:
    """Parties prenantes being added: each implanted in the call's region and eligible (``Call.refusal``),
    and none standing in another dossier of the call (``unique``). The error's code, ``partner``, lets a
    page show it at the parties prenantes' field."""
    for partner in partners:
        refusal = call.refusal(partner)
        if refusal:
            raise ValidationError(refusal, code="partner")
    try:
        unique.check(call, partners, exclude=dossier)
    except unique.DuplicateDossier as exc:
        raise unique.DuplicateDossier(exc.messages[0], code="partner") from None


def prefilled_answers(schema, establishment, user) -> dict:
    """First answers of a new dossier, from what the platform already knows (``prefill`` option)."""
    ej = establishment.legal_entity
    sources = {
        "establishment.name": establishment.name, "establishment.finess": establishment.finess,
        "establishment.siret": establishment.siret, "establishment.city": establishment.city,
        "establishment.legal_status": establishment.get_legal_status_display() if establishment.legal_status else "",
        "establishment.department": establishment.department,
        "legal_entity.finess": ej.finess if ej else "", "legal_entity.siren": ej.siren if ej else "",
        "legal_entity.name": ej.name if ej else "", "user.email": user.email,
    }
    answers = {}
    for f in schema.top_fields():
        value = sources.get(f.prefill) if f.prefill else None
        if not value:
            continue
        if f.type == "choice" and value not in f.opt("options", []):
            continue
        answers[f.key] = value
    return answers


def _locked(dossier: Dossier, user=None) -> Dossier:
    """The dossier re-read under a row lock (its own row only), with what saving needs (and, given the
    user, what ``with_context`` adds: membership, latest form version, infected files — same query)."""
    queryset = (Dossier.objects.select_for_update(of=("self",))
                .select_related("call__region", "form_version", "establishment"))
    if user is not None and user.is_authenticated:
        queryset = with_context(queryset, user)
    return queryset.get(pk=dossier.pk)


def ensure_editable(dossier: Dossier, user) -> None:
    """The server-side guard for every applicant write."""
    if not is_member(dossier, user):
        raise PermissionDenied("Vous n'êtes pas membre de ce dossier.")
    if not dossier.is_editable:
        raise PermissionDenied(
            f"Ce dossier est « {dossier.get_state_display()} » : il ne peut plus être modifié. "
            "Utilisez la messagerie pour échanger avec l'ARS.")


@dataclass
class SaveResult:
    form: object
    changed: dict = field(default_factory=dict)  # path -> (old, new), for the history
    stored_files: list = field(default_factory=list)
    cleared_files: list = field(default_factory=list)
    dossier: Dossier | None = None  # the dossier as saved (read under the lock)


def save_section(dossier: Dossier, section_key: str, data, files, user, upload_errors=None,
                 record=None) -> SaveResult:
    """Save what was typed in one section: valid values into the answers, invalid raw input into
    ``pending`` (never lost), uploaded files into private storage; then recompute.

    ``record(result)``, if given, runs inside the saving transaction (the caller's audit record): the save
    and its record commit together, without a transaction of the caller around this one (and its savepoint).

    Files are written before the transaction commits; if it fails, they are deleted again so
    that no orphan file is left behind."""
    stored: list[Attachment] = []
    try:
        return _save_section(dossier, section_key, data, files, user, stored, upload_errors or {}, record)
    except BaseException:
        for attachment in stored:
            attachment.file.storage.delete(attachment.file.name)
        raise


@transaction.atomic
def _save_section(dossier, section_key, data, files, user, stored, upload_errors, record) -> SaveResult:
    dossier = _locked(dossier, user)
    ensure_editable(dossier, user)
    version = working_version(dossier)
    schema = version.parsed()
    section = schema.section(section_key)
    if section is None:
        raise ValidationError("Cette partie du formulaire n'existe pas.")
    form = build_section_form(schema, section, dossier.answers, dossier.pending, form_context(dossier),
                              data=data, files=files)
    form.is_valid()
    for name, message in upload_errors.items():  # files refused while they streamed in
        if name in form.fields:
            form.add_error(name, message)
    values, new_pending, uploads = form.extract()
    answers, pending = merge_section(section, dossier.answers, dossier.pending, values, new_pending,
                                     form.row_counts)
    result = SaveResult(form=form, dossier=dossier)
    for path, upload in uploads.items():
        attachment = store_attachment(dossier, path, upload, user)
        stored.append(attachment)
        result.stored_files.append(attachment)
        _set_path(answers, path, {"attachment": attachment.pk, "name": attachment.original_name,
                                  "size": attachment.size})
    for path in _cleared_files(section, data):
        _set_path(answers, path, None)
        result.cleared_files.append(path)
    answers = engine.compute(schema, answers, dossier.call.cofinancing_rate)
    result.changed = _diff(dossier.answers, answers)
    dossier.answers, dossier.pending = answers, pending
    dossier.save(update_fields=["answers", "pending", "form_version", "updated_at"])
    if dossier.state != State.BROUILLON and result.changed:
        DossierEvent.objects.create(dossier=dossier, kind=EventKind.EDITED, actor=user,
                                    details={"section": section_key, "changes": result.changed})
    if record is not None:
        record(result)
    return result


def _cleared_files(section, data) -> list[str]:
    if data is None or not hasattr(data, "getlist"):
        return []
    return [name.removesuffix("__clear").replace("__", ".") for name in data
            if name.endswith("__clear") and data.get(name)]


def _set_path(answers: dict, path: str, value) -> None:
    parts = path.split(".")
    if len(parts) == 1:
        answers[path] = value
        return
    block, index, key = parts[0], int(parts[1]), parts[2]
    rows = answers.setdefault(block, [])
    while len(rows) <= index:
        rows.append({})
    rows[index] = {**rows[index], key: value}


def _flatten(answers: dict) -> dict:
    flat = {}
    for key, value in answers.items():
        if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
            for index, row in enumerate(value):
                for child, child_value in row.items():
                    flat[f"{key}.{index}.{child}"] = child_value
            flat[f"{key}.#"] = len(value)
        else:
            flat[key] = value
    return flat


def _diff(old: dict, new: dict) -> dict:
    a, b = _flatten(old), _flatten(new)
    return {path: [a.get(path), b.get(path)] for path in sorted(set(a) | set(b)) if a.get(path) != b.get(path)}


def store_attachment(dossier: Dossier, path: str, upload, user) -> Attachment:
    """Stream an uploaded file of a dossier field into private storage."""
    return store_upload(Attachment(dossier=dossier, field_path=path), upload, folder="dossiers",
                        prefix=str(dossier.pk), user=user)


def missing_items(dossier: Dossier, schema=None):
    """What stops the dossier from being filed: the form's missing or invalid answers, and every
    visible file the antivirus refused (it must be replaced), with the field's part and anchor."""
    from guichet.core.models import ScanStatus

    schema = schema or working_version(dossier).parsed()
    items = engine.missing_items(schema, dossier.answers, dossier.pending)
    files = []  # (section, path, label, attachment id) of every visible file answer
    for section in schema.sections:
        for f in section.fields:
            if not f.holds_value or not engine.is_visible(schema, f, dossier.answers):
                continue
            if f.type == "file" and isinstance(dossier.answers.get(f.key), dict):
                files.append((section, f.key, f.label, dossier.answers[f.key].get("attachment")))
            elif f.type == "repeat":
                for index, row in enumerate(dossier.answers.get(f.key) or []):
                    for child in f.children:
                        if (child.type == "file" and isinstance(row.get(child.key), dict)
                                and engine.is_visible(schema, child, dossier.answers, row)):
                            files.append((section, f"{f.key}.{index}.{child.key}",
                                          f"{f.label} n° {index + 1} — {child.label}",
                                          row[child.key].get("attachment")))
    if files and getattr(dossier, "has_infected", True):  # with_context tells when none is infected
        infected = set(Attachment.objects.filter(dossier=dossier, pk__in=[a for *_, a in files],
                                                 scan_status=ScanStatus.INFECTED).values_list("pk", flat=True))
        items += [engine.Missing(section.key, section.title, path, label,
                                 "fichier refusé par l'antivirus : à remplacer")
                  for section, path, label, pk in files if pk in infected]
    items += kinds.missing(dossier)
    return items


@transaction.atomic
def file_dossier(dossier: Dossier, user, now=None, record=None) -> Dossier:
    """« Déposer le dossier »: brouillon → en construction, if complete and before the deadline.

    ``record(dossier)``, if given, runs inside the filing's transaction (the caller's audit record)."""
    now = now or timezone.now()
    dossier = _locked(dossier, user)
    ensure_editable(dossier, user)
    if dossier.state != State.BROUILLON:
        raise FilingError("Ce dossier a déjà été déposé.")
    call = dossier.call
    if deadlines.has_closed(call.closes_at, now):
        raise FilingError(call.deadline.closed_message())
    if now < call.opens_at:
        raise FilingError("L'appel à projets n'est pas encore ouvert.")
    version = working_version(dossier)
    schema = version.parsed()
    missing = missing_items(dossier, schema)
    if missing:
        items = count(len(missing), "élément à compléter", "éléments à compléter")
        raise FilingError(f"Le dossier est incomplet : {items}.")
    _check_may_file(dossier)
    answers = engine.compute(schema, engine.strip_hidden(schema, dossier.answers), call.cofinancing_rate)
    dossier.answers = answers
    dossier.form_version = version
    dossier.state = State.EN_CONSTRUCTION
    dossier.first_filed_at = dossier.first_filed_at or now
    dossier.last_filed_at = now
    dossier.number = f"{call.year}-{call.region.code}-{dossier.pk:06d}"
    dossier.save()
    DossierEvent.objects.create(dossier=dossier, kind=EventKind.FILED, actor=user,
                                from_state=State.BROUILLON, to_state=State.EN_CONSTRUCTION)
    filed.send(sender=Dossier, dossier=dossier, at=now)
    if record is not None:
        record(dossier)
    transaction.on_commit(lambda: notifications.dossier_filed.enqueue(dossier.pk))
    return dossier


def filing_refusal(dossier: Dossier, establishments=None) -> str | None:
    """Why the dossier may not be filed on its call whatever its answers — an establishment the call does not
    accept (``Call.refusal``) or one that already stands in another filed dossier of it (``unique``) — or None.
    Read-only, for the page that files; ``file_dossier`` asks it again under the lock (``establishments``:
    the dossier's, already read)."""
    establishments = dossier.establishments if establishments is None else establishments
    for establishment in establishments:
        refusal = dossier.call.refusal(establishment)
        if refusal:
            return refusal
    return unique.refusal(dossier.call, establishments, exclude=dossier)


def _check_may_file(dossier: Dossier) -> None:
    """At filing: the establishments' rows locked first, so that two filings at once cannot both pass."""
    if unique.concerned(dossier.call):
        establishments = unique.lock_establishments_of(dossier)  # read and locked in one query
    else:
        establishments = dossier.establishments
    refusal = filing_refusal(dossier, establishments)
    if refusal:
        raise FilingError(f"{refusal} Le dossier n'a pas été déposé.")


ROW_NOT_FOUND = ("La ligne à supprimer est introuvable (la page était peut-être ancienne) : vos saisies sont "
                 "enregistrées, vérifiez le tableau et recommencez.")


@transaction.atomic
def remove_row(dossier: Dossier, block: str, index: int, user) -> None:
    """Delete one row of a repeatable block (and the pending input of that row).

    A row that is not there (a stale page, a hand-made request) is a ValidationError in French, as is a
    removal below the block's minimum number of rows."""
    dossier = Dossier.objects.select_for_update().get(pk=dossier.pk)
    ensure_editable(dossier, user)
    schema = working_version(dossier).parsed()
    f = schema.field(block)
    rows = list(dossier.answers.get(block) or [])
    if f is None or f.type != "repeat" or not 0 <= index < len(rows):
        raise ValidationError(ROW_NOT_FOUND, code="row_not_found")
    if len(rows) <= f.opt("min_rows", 0):
        raise ValidationError(f"« {f.label} » doit garder au moins {count(f.opt('min_rows'), 'ligne')}.")
    old = dossier.answers
    del rows[index]
    pending = {}
    for path, raw in dossier.pending.items():
        parts = path.split(".")
        if parts[0] == block and len(parts) == 3:
            row = int(parts[1])
            if row == index:
                continue
            if row > index:
                path = f"{block}.{row - 1}.{parts[2]}"
        pending[path] = raw
    answers = engine.compute(schema, {**dossier.answers, block: rows}, dossier.call.cofinancing_rate)
    dossier.answers, dossier.pending = answers, pending
    dossier.save(update_fields=["answers", "pending", "updated_at"])
    if dossier.state != State.BROUILLON:
        DossierEvent.objects.create(dossier=dossier, kind=EventKind.EDITED, actor=user,
                                    details={"removed_row": f"{block}.{index}", "changes": _diff(old, answers)})


@transaction.atomic
def set_partners(dossier: Dossier, establishments, user) -> None:
    """The parties prenantes of a multi-establishment dossier (among the user's establishments)."""
    dossier = _locked(dossier)
    ensure_editable(dossier, user)
    allowed = set(user.establishments.values_list("pk", flat=True))
    chosen = [e for e in establishments if e.pk in allowed and e.pk != dossier.establishment_id]
    already = set(dossier.partners.values_list("pk", flat=True))
    _check_new_partners(dossier.call, [e for e in chosen if e.pk not in already], dossier)
    dossier.partners.set(chosen)
    if dossier.state != State.BROUILLON:
        DossierEvent.objects.create(dossier=dossier, kind=EventKind.EDITED, actor=user,
                                    details={"partners": [e.finess for e in chosen]})


@transaction.atomic
def accept_invitation(invitation, user) -> None:
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    invitation.dossier.members.add(user)
    DossierEvent.objects.create(dossier=invitation.dossier, kind=EventKind.MEMBER_ADDED, actor=user,
                                details={"email": user.email, "invited_by": invitation.invited_by.email})
