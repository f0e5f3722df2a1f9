"""All the files of a dossier in one ZIP, streamed from storage as it is sent.

The archive is built by zipstream-ng while the response is sent: each file is read from storage in
chunks (``core.storage.read_chunks``) and written out at once, so neither the archive nor a file is
ever held in memory or copied to disk, whatever their size.

Entries are *stored*, not compressed: what establishments send is almost only PDF, JPEG/PNG, office
documents (DOCX/XLSX/ODT are themselves ZIP files) and ZIP archives, which deflate would not shrink
while costing CPU on gigabytes; stored entries also give the archive's exact size in advance, so the
browser shows a true progress bar (``Content-Length``).

Layout, in the order of the form::

    README.txt                               what is in the archive, and which files were left out and why
    1 - Identification du demandeur/
        Attestation URSSAF/attestation.pdf
    4 - Les actions du projet/
        Devis - Action n° 2/devis signé.pdf

Names keep accents; characters that a file system refuses are removed; a name already used in the
archive (case-insensitively, as on Windows) gets " (2)", " (3)"… before its extension.
"""

import posixpath
import re
import unicodedata
from dataclasses import dataclass

import zipstream
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

from guichet.core import storage as stored
from guichet.core.models import ScanStatus
from guichet.formschema import engine

from . import services
from .models import Attachment, Dossier, State

README_NAME = "README.txt"
_FORBIDDEN = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_OWN_NUMBERING = re.compile(r"^\s*\d+\s*[.)\-–—:]\s*")
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}
MAX_COMPONENT = 120


def safe_component(text: str, fallback: str = "sans titre") -> str:
    """One folder or file name: accents kept, no separator, control or reserved character."""
    text = unicodedata.normalize("NFC", str(text))
    text = _FORBIDDEN.sub(" ", text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    if len(text) > MAX_COMPONENT:
        stem, ext = posixpath.splitext(text)
        text = stem[: MAX_COMPONENT - len(ext)].rstrip(" .") + ext if len(ext) <= 10 else text[:MAX_COMPONENT]
    if not text or posixpath.splitext(text)[0].lower() in _WINDOWS_RESERVED:
        text = f"{fallback} {text}".strip() if text else fallback
    return text


class UniqueNames:
    """Paths inside the archive, made unique case-insensitively with " (2)", " (3)"…"""

    def __init__(self):
        self.taken: set[str] = set()

    def claim(self, folder: str, name: str) -> str:
        stem, ext = posixpath.splitext(name)
        candidate, n = name, 1
        while posixpath.join(folder, candidate).casefold() in self.taken:
            n += 1
            candidate = f"{stem} ({n}){ext}"
        path = posixpath.join(folder, candidate)
        self.taken.add(path.casefold())
        return path


@dataclass
class Entry:
    attachment: Attachment
    section: str  # folder of the part
    field: str  # "Devis - Action n° 2"
    path: str = ""  # inside the archive, set when included
    left_out: str = ""  # why it is not in the archive (French), empty when included
    size: int = 0


REASONS = {
    ScanStatus.PENDING: "l'analyse antivirus n'est pas terminée",
    ScanStatus.INFECTED: "un virus a été détecté : le fichier est refusé",
    ScanStatus.ERROR: "l'analyse antivirus n'a pas pu être faite",
}


def _schema(dossier: Dossier):
    # The same form version as the summary page shows.
    if dossier.state == State.BROUILLON:
        return services.working_version(dossier).parsed()
    return dossier.form_version.parsed()


def section_folder(position: int, title: str) -> str:
    """"<n° of the part> - <title>", the title's own numbering ("4. Actions") not repeated."""
    return safe_component(f"{position} - {_OWN_NUMBERING.sub('', title) or title}")


def collect(dossier: Dossier) -> list[Entry]:
    """The files the dossier's answers refer to, in the order of the form, visible fields only
    (as on the summary page)."""
    schema = _schema(dossier)
    answers = dossier.answers or {}
    found: list[tuple[int, str, str]] = []  # (attachment id, section folder, field label)
    for position, section in enumerate(schema.sections, start=1):
        folder = section_folder(position, section.title)
        for field in section.fields:
            if not engine.is_visible(schema, field, answers):
                continue
            if field.type == "file":
                value = answers.get(field.key)
                if isinstance(value, dict) and value.get("attachment"):
                    found.append((value["attachment"], folder, field.label))
            elif field.type == "repeat":
                row_label = field.opt("row_label") or field.label
                for index, row in enumerate(answers.get(field.key) or [], start=1):
                    if not isinstance(row, dict):
                        continue
                    for child in field.children:
                        value = row.get(child.key)
                        if (child.type == "file" and isinstance(value, dict) and value.get("attachment")
                                and engine.is_visible(schema, child, answers, row)):
                            found.append((value["attachment"], folder, f"{child.label} - {row_label} n° {index}"))
    by_id = Attachment.objects.filter(dossier=dossier).in_bulk([pk for pk, _, _ in found])
    return [Entry(by_id[pk], folder, label) for pk, folder, label in found if pk in by_id]


def build(dossier: Dossier) -> tuple[zipstream.ZipStream, list[Entry]]:
    """The (lazy) archive of a dossier's files: nothing is read from storage until it is iterated."""
    entries = collect(dossier)
    names = UniqueNames()
    names.taken.add(README_NAME.casefold())
    storage = Attachment._meta.get_field("file").storage
    for entry in entries:
        item = entry.attachment
        if not item.is_servable:
            entry.left_out = REASONS.get(item.scan_status, item.get_scan_status_display())
            continue
        try:
            entry.size = storage.size(item.file.name)  # what will really be read, for the exact archive size
        except (FileNotFoundError, OSError):
            entry.left_out = "fichier introuvable dans le stockage (à signaler à l'équipe technique)"
        else:
            folder = posixpath.join(entry.section, safe_component(entry.field))
            entry.path = names.claim(folder, safe_component(item.original_name, fallback="fichier"))
    archive = zipstream.ZipStream(compress_type=zipstream.ZIP_STORED, sized=True)
    archive.add(readme(dossier, entries).encode("utf-8"), README_NAME)
    for entry in entries:
        if entry.path:
            archive.add(stored.read_chunks(storage, entry.attachment.file.name), entry.path,
                        size=entry.size)
    return archive, entries


def readme(dossier: Dossier, entries: list[Entry]) -> str:
    included = [e for e in entries if e.path]
    left_out = [e for e in entries if e.left_out]
    lines = [
        f"Dossier {'n° ' + dossier.number if dossier.number else 'en brouillon n° ' + str(dossier.pk)}",
        f"Appel à projets : {dossier.call.title}",
        f"Établissement porteur : {dossier.establishment.name} (FINESS {dossier.establishment.finess})",
        f"Archive créée le {timezone.localtime():%d/%m/%Y à %H:%M}.",
        "",
        f"Fichiers inclus : {len(included)}",
    ]
    for e in included:
        note = " — non analysé par un antivirus" if e.attachment.scan_status == ScanStatus.NOT_SCANNED else ""
        lines.append(f"  {e.path} ({e.attachment.size} octets, SHA-256 {e.attachment.sha256 or 'inconnu'}){note}")
    if left_out:
        lines += ["", f"Fichiers non inclus : {len(left_out)}"]
        for e in left_out:
            lines.append(f"  {e.section} / {e.field} / {e.attachment.original_name} : {e.left_out}")
    lines.append("")
    return "\r\n".join(lines)


def archive_name(dossier: Dossier) -> str:
    return f"dossier-{dossier.number}.zip" if dossier.number else f"dossier-brouillon-{dossier.pk}.zip"


def zip_response(dossier: Dossier) -> StreamingHttpResponse:
    archive, _ = build(dossier)
    response = StreamingHttpResponse(archive, content_type="application/zip")
    response["Content-Length"] = str(len(archive))
    response["Content-Disposition"] = content_disposition_header(True, archive_name(dossier))
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
