"""An applicant's own drafts: deleting a draft, and starting a new dossier from an existing one.

- ``delete_draft``: only a *brouillon*, only by a member who acts for its porteur (a confirmed membership of
  the establishment, or its creator); it disappears for all its members, its files leave the storage after
  commit, and the audit trail keeps who deleted what. A filed dossier is never deleted: the server refuses.
- ``duplicate``: a new *brouillon* on an open call of the same kind, carried by the same porteur, with the
  answers, parties prenantes and attachments copied wherever the new call's form still has the field (same
  key, same type); what could not be copied is listed for the applicant.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from guichet.core import audit
from guichet.core.files import store_upload
from guichet.core.models import ScanStatus
from guichet.formschema import engine
from guichet.formschema.values import is_empty

from .models import Attachment, Dossier, State


def may_delete(dossier: Dossier, user) -> bool:
    """A member of the draft who acts for its porteur (or created it); never ARS staff, never a filed dossier."""
    if not user.is_authenticated or getattr(user, "is_ars_staff", False) or dossier.state != State.BROUILLON:
        return False
    if not dossier.members.filter(pk=user.pk).exists():
        return False
    return dossier.created_by_id == user.pk or user.establishments.filter(pk=dossier.establishment_id).exists()


@transaction.atomic
def delete_draft(dossier: Dossier, user) -> None:
    dossier = Dossier.objects.select_for_update(of=("self",)).select_related("call__region").get(pk=dossier.pk)
    if dossier.state != State.BROUILLON:
        raise PermissionDenied("Un dossier déposé ne peut pas être supprimé : seul un brouillon peut l'être.")
    if not may_delete(dossier, user):
        raise PermissionDenied("Seul un membre du dossier qui agit pour l'établissement porteur peut le supprimer.")
    files = [a.file.name for a in Attachment.objects.filter(dossier=dossier)]
    audit.record(user, "dossier:draft_deleted", dossier=dossier, call=dossier.call_id,
                 establishment=dossier.establishment.finess, members=sorted(m.email for m in dossier.members.all()),
                 files=len(files))
    storage = Attachment._meta.get_field("file").storage
    dossier.delete()
    # The rows are gone with the transaction; the files only once it has committed (a rollback keeps them).
    transaction.on_commit(lambda: [storage.delete(name) for name in files])


@dataclass
class Duplicate:
    dossier: Dossier
    not_copied: list[str] = field(default_factory=list)  # what the applicant must enter again, in French


def target_calls(dossier: Dossier):
    """The open calls a dossier may be duplicated to: same kind (application or proofs), in the porteur's region
    (the only one where it may file, see ``Call.refusal``)."""
    from guichet.calls.models import Call

    return (Call.objects.open_at().filter(kind=dossier.call.kind, region_id=dossier.establishment.region_id)
            .select_related("region").order_by("title"))


def duplicate(source: Dossier, call, user) -> Duplicate:
    """A new draft on ``call`` from ``source`` (which ``user`` is a member of)."""
    from . import services

    if not source.members.filter(pk=user.pk).exists():
        raise PermissionDenied("Vous n'êtes pas membre de ce dossier.")
    if call.kind != source.call.kind:
        raise ValidationError("Choisissez un appel à projets de même nature que ce dossier.", code="call")
    not_copied = []
    partners = []
    for partner in source.partners.all():
        refusal = call.refusal(partner)
        if refusal or not user.establishments.filter(pk=partner.pk).exists():
            not_copied.append(f"Partie prenante {partner.name} (FINESS {partner.finess})"
                              + (f" : {refusal}" if refusal else " : vous n'êtes pas rattaché à cet établissement."))
        else:
            partners.append(partner)
    with transaction.atomic():
        new = services.start_dossier(call, source.establishment, user, partners=partners)
        old_schema, schema = source.form_version.parsed(), new.form_version.parsed()
        answers = dict(new.answers)
        files = []  # (path in the new dossier, source attachment id)
        for old in old_schema.top_fields():
            if not old.holds_value or is_empty(source.answers.get(old.key)):
                continue
            current = schema.field(old.key)
            if current is None or current.type != old.type or old.type == "computed":
                if old.type != "computed":
                    not_copied.append(f"« {old.label} » : absent du formulaire de cet appel à projets.")
                continue
            value = source.answers[old.key]
            if old.type == "file":
                files.append((old.key, value.get("attachment") if isinstance(value, dict) else None, old.label))
                continue
            if old.type == "repeat":
                value = _copy_rows(old, current, value, files, not_copied)
            answers[old.key] = value
        for path, attachment_id, label in files:
            copied = _copy_file(source, new, path, attachment_id, user)
            if copied is None:
                not_copied.append(f"« {label} » : le fichier n'a pas pu être copié, joignez-le à nouveau.")
                _set(answers, path, None)
            else:
                _set(answers, path, {"attachment": copied.pk, "name": copied.original_name, "size": copied.size})
        new.answers = engine.compute(schema, answers, call.cofinancing_rate)
        new.save(update_fields=["answers", "updated_at"])
        audit.record(user, "dossier:duplicated", dossier=new, source=source.pk, not_copied=len(not_copied))
    return Duplicate(new, not_copied)


def _copy_rows(old, current, rows, files, not_copied) -> list:
    """The rows of a repeated block, each with the columns the new form still has."""
    kept, dropped = [], set()
    for index, row in enumerate(rows if isinstance(rows, list) else []):
        new_row = {}
        for child in old.children:
            if not child.holds_value or child.key not in row or child.type == "computed":
                continue
            target = current.child(child.key)
            if target is None or target.type != child.type:
                dropped.add(child.label)
                continue
            if child.type == "file":
                value = row[child.key]
                files.append((f"{old.key}.{index}.{child.key}",
                              value.get("attachment") if isinstance(value, dict) else None,
                              f"{old.label} n° {index + 1} — {child.label}"))
                continue
            new_row[child.key] = row[child.key]
        kept.append(new_row)
    not_copied.extend(f"« {old.label} — {label} » : absent du formulaire de cet appel à projets."
                      for label in sorted(dropped))
    return kept


def _copy_file(source, new, path, attachment_id, user):
    attachment = Attachment.objects.filter(dossier=source, pk=attachment_id).first() if attachment_id else None
    if attachment is None or attachment.scan_status == ScanStatus.INFECTED:
        return None
    try:
        with attachment.file.open("rb") as fh:
            content = fh.read()
    except OSError:
        return None
    upload = SimpleUploadedFile(attachment.original_name, content, content_type=attachment.content_type)
    return store_upload(Attachment(dossier=new, field_path=path), upload, folder="dossiers", prefix=str(new.pk),
                        user=user)


def _set(answers: dict, path: str, value) -> None:
    parts = path.split(".")
    if len(parts) == 1:
        answers[path] = value
        return
    key, index, child = parts
    answers[key][int(index)][child] = value
