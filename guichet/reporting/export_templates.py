"""Export templates (« modèles d'export ») of a call: which columns, in which order, under which headers; the format;
for a ZIP, which files and how they are named. Shared by the instructors of the call's region (the call's scope
``Call.objects.instructed_by``).

Columns are stored as [{key, header}] with the catalogue's stable keys (``exports.catalogue``): a template survives
a new form version, and a column whose field no longer exists is skipped (the pages say so). The ZIP itself is
built elsewhere (``archives.build_zip``, whose naming-pattern check is the one the form uses): ``zip_options`` is
what that builder reads, ``spreadsheet`` the template's XLSX it puts at the archive's root. ``chosen`` reads the
template picked for a selection's download (« Télécharger la sélection »).
"""

from collections.abc import Iterator
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from guichet.core.ids import is_ascii_number

from . import archives, exports, formats
from .models import ExportTemplate

ZIP_CONTENTS = [
    ("attachments", "Pièces jointes du formulaire (champs choisis ci-dessous)"),
    ("messages", "Pièces jointes de la messagerie"),
    ("opinions", "Avis des experts (les avis confidentiels pour l'ARS seulement)"),
    ("documents", "Lettres de notification et conventions"),
    ("invoices", "Factures des justificatifs"),
    ("pdf", "Dossier en PDF"),
]
DEFAULT_NAME_PATTERN = "{numero} - {champ}"
MAX_HEADER = 200
MAX_COLUMNS = 1000
CHUNK = 64 * 1024
# The naming pattern's placeholders and its check are the ZIP builder's (one rule for both): see ``archives``.
placeholders_text = archives.placeholders_text


def check_name_pattern(pattern: str) -> str:
    """The pattern, stripped, or ValidationError in French (``archives.validate_pattern``'s message)."""
    try:
        return archives.validate_pattern(pattern)
    except archives.PatternError as exc:
        raise ValidationError(str(exc)) from None


def _holds_files(field) -> bool:
    return field.type == "file" or (field.type == "repeat" and any(c.type == "file" for c in field.children))


def file_fields(entries) -> list[exports.Entry]:
    """The form's file fields (attachments a ZIP may hold), top level of the catalogue; a repeatable block holding
    a file field is one choice (its rows' files: ``archives`` matches an answer's file on the block's key too)."""
    return [e for e in entries if e.field is not None and e.source == "answers" and _holds_files(e.field)]


def file_field_label(entry: exports.Entry) -> str:
    return f"{entry.header} (pièces jointes de chaque ligne)" if entry.repeat else entry.header


def zip_options(template: ExportTemplate) -> dict:
    """What a ZIP built with ``template`` holds: {"include": set of ``ZIP_CONTENTS`` codes, "file_fields": [keys of
    the form's file fields], "name_pattern": str}."""
    known = set(archives.ALL_CODES)
    include = {c for c in template.zip_include or [] if c in known}
    return {"include": include,
            "file_fields": list(template.zip_file_fields or []) if "attachments" in include else [],
            "name_pattern": template.zip_name_pattern or DEFAULT_NAME_PATTERN}


UNKNOWN_TEMPLATE = ("Le modèle d'export choisi n'existe pas ou plus pour cet appel : rechargez la page et "
                    "choisissez-en un autre.")


def chosen(call, raw: str | None) -> ExportTemplate | None:
    """The template a selection's download names (the batch form's ``modele``: its id; empty: none, every column),
    among ``call``'s own. Any other value (another call's template, one a colleague just deleted, garbage) is
    ValidationError in French: the download does not silently fall back to another set of columns."""
    raw = (raw or "").strip()
    if not raw:
        return None
    found = None
    if is_ascii_number(raw) and len(raw) < 19:
        found = ExportTemplate.objects.filter(call=call, pk=int(raw)).select_related("call").first()
    if found is None:
        raise ValidationError(UNKNOWN_TEMPLATE)
    return found


def spreadsheet(template: ExportTemplate, user, ids: list[int]) -> tuple[str, Iterator[bytes]]:
    """The template's spreadsheet for its ZIP (``archives.build_zip``'s ``extra_files``): its name and its bytes,
    an XLSX of the template's columns for ``ids`` (already scoped to what ``user`` sees), written only when the
    stream reaches it (openpyxl's write-only mode into a temporary file: bounded memory)."""

    def chunks():
        export = exports.build(template.call, user, None, None, None, private=user.is_ars_staff, ids=ids,
                               columns=template.columns)
        with formats.xlsx_file(export) as out:
            yield from iter(lambda: out.read(CHUNK), b"")

    return f"Tableur - {template.name}.xlsx", chunks()


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
