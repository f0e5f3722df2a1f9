"""Export templates (« modèles d'export ») of a call: which columns, in which order, under which headers; the format;
for a ZIP, which files and how they are named. Shared by the instructors of the call's region (the call's scope
``Call.objects.instructed_by``).

Columns are stored as [{key, header}] with the catalogue's stable keys (``exports.catalogue``): a template survives
a new form version, and a column whose field no longer exists is skipped (the pages say so). The ZIP itself is
built elsewhere: ``zip_options`` is what that builder reads.
"""

import string
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from . import exports
from .models import ExportTemplate

ZIP_CONTENTS = [
    ("attachments", "Pièces jointes du formulaire (champs choisis ci-dessous)"),
    ("messages", "Pièces jointes de la messagerie"),
    ("opinions", "Avis des experts (les avis confidentiels pour l'ARS seulement)"),
    ("documents", "Lettres de notification et conventions"),
    ("invoices", "Factures des justificatifs"),
    ("pdf", "Dossier en PDF"),
]
PLACEHOLDERS = ("numero", "etablissement", "finess", "champ")
DEFAULT_NAME_PATTERN = "{numero} - {champ}"
MAX_HEADER = 200
MAX_COLUMNS = 1000


def placeholders_text() -> str:
    return ", ".join("{" + p + "}" for p in PLACEHOLDERS)


def check_name_pattern(pattern: str) -> str:
    """The pattern, stripped, or ValidationError in French: only the known placeholders, no folder separator."""
    pattern = (pattern or "").strip()
    if not pattern:
        raise ValidationError("Indiquez le nom des fichiers, par exemple « {numero} - {champ} ».")
    if "/" in pattern or "\\" in pattern or ".." in pattern:
        raise ValidationError("Le nom des fichiers ne peut contenir ni « / », ni « \\ », ni « .. ».")
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError:
        raise ValidationError(
            "Accolade mal fermée dans le nom des fichiers : chaque variable s'écrit entre { et }, "
            f"parmi {placeholders_text()}.") from None
    unknown = sorted({name for _, name, spec, conv in parsed if name is not None and name not in PLACEHOLDERS}
                     | {f"{name}:{spec}" for _, name, spec, conv in parsed if name in PLACEHOLDERS and (spec or conv)})
    if unknown:
        raise ValidationError(f"Variable inconnue : {', '.join('{' + u + '}' for u in unknown)}. "
                              f"Variables possibles : {placeholders_text()}.")
    if not any(name for _, name, _, _ in parsed):
        raise ValidationError(f"Le nom des fichiers doit contenir au moins une variable parmi {placeholders_text()}, "
                              "sinon tous les fichiers porteraient le même nom.")
    return pattern


def file_fields(entries) -> list[exports.Entry]:
    """The form's file fields (attachments a ZIP may hold), top level of the catalogue."""
    return [e for e in entries if e.field is not None and e.source == "answers" and e.field.type == "file"]


def zip_options(template: ExportTemplate) -> dict:
    """What a ZIP built with ``template`` holds: {"include": set of ``ZIP_CONTENTS`` codes, "file_fields": [keys of
    the form's file fields], "name_pattern": str}."""
    known = {code for code, _ in ZIP_CONTENTS}
    include = {c for c in template.zip_include or [] if c in known}
    return {"include": include,
            "file_fields": list(template.zip_file_fields or []) if "attachments" in include else [],
            "name_pattern": template.zip_name_pattern or DEFAULT_NAME_PATTERN}


def missing_columns(template: ExportTemplate, entries) -> list[str]:
    """The headers of the template's columns the catalogue no longer has (a field removed from the form)."""
    keys = {e.key for e in entries}
    return [c.get("header") or c.get("key") for c in template.columns if c.get("key") not in keys]


# --- the columns' editor (no JavaScript: checkboxes, headers, « monter / descendre » submit buttons) ---------------

@dataclass
class Choice:
    key: str
    default: str  # the catalogue's header
    header: str
    chosen: bool
    part: str = ""
    repeat: bool = False


def choices_of(entries, columns) -> list[Choice]:
    """The editor's rows for stored ``columns`` ([{key, header}]): the chosen columns in their order, then the
    catalogue's others in its order. Columns the catalogue no longer has are left out."""
    by_key = {e.key: e for e in entries}
    rows, seen = [], set()
    for column in columns:
        entry = by_key.get(column.get("key"))
        if entry is not None and entry.key not in seen:
            seen.add(entry.key)
            rows.append(Choice(entry.key, entry.header, column.get("header") or entry.header, True, entry.part,
                               entry.repeat))
    rows += [Choice(e.key, e.header, e.header, False, e.part, e.repeat) for e in entries if e.key not in seen]
    return rows


def read_choices(entries, data) -> list[Choice]:
    """The editor's rows as posted: ``ordre`` (the keys in the displayed order), ``colonne`` (the checked keys),
    ``entete:<key>`` (the headers). Unknown keys are ignored, the catalogue's unlisted ones come last."""
    by_key = {e.key: e for e in entries}
    checked = set(data.getlist("colonne"))
    order = []
    for key in data.getlist("ordre")[:MAX_COLUMNS]:
        if key in by_key and key not in order:
            order.append(key)
    order += [e.key for e in entries if e.key not in order]
    rows = []
    for key in order:
        e = by_key[key]
        header = " ".join((data.get(f"entete:{key}") or "").split())[:MAX_HEADER] or e.header
        rows.append(Choice(key, e.header, header, key in checked, e.part, e.repeat))
    return rows


def move(rows: list[Choice], command: str) -> list[Choice]:
    """``command`` « haut:<key> » or « bas:<key> »: the row one place up or down (nothing if it cannot move)."""
    direction, _, key = (command or "").partition(":")
    index = next((i for i, r in enumerate(rows) if r.key == key), None)
    if index is None or direction not in ("haut", "bas"):
        return rows
    other = index - 1 if direction == "haut" else index + 1
    if 0 <= other < len(rows):
        rows[index], rows[other] = rows[other], rows[index]
    return rows


def columns_of(rows: list[Choice]) -> list[dict]:
    """The stored form of the chosen rows; ValidationError in French when none is chosen."""
    chosen = [{"key": r.key, "header": r.header} for r in rows if r.chosen]
    if not chosen:
        raise ValidationError("Cochez au moins une colonne.")
    return chosen
