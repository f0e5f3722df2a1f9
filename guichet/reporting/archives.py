"""The files of many dossiers in one ZIP (a selection or a whole call, instructor side), streamed in bounded memory.

``build_zip(dossiers, user, include, file_fields, name_pattern)`` returns an iterator of bytes: the archive is
written by zipstream-ng while it is sent. Dossiers are read by batches of ``BATCH`` (a fixed number of queries
per batch); each file is read from storage in chunks as it is written out (``core.storage.read_chunks``); the
dossier PDF (include code ``pdf``) is rendered when the stream reaches it, one dossier at a time. What stays in
memory as the archive grows is the ZIP's central directory (a few dozen bytes per file, which the format needs
at its end) and the README's list of left-out files.

Layout::

    README.txt                                    what is in the archive, what was left out and why
    Tableur - Suivi.xlsx                          files given by the caller (``extra_files``: a template's sheet)
    2024-32-000042 - CH de Lisieux/               one folder per dossier (``name_pattern``)
        Dossier 2024-32-000042.pdf                the dossier as filed (``pdf``)
        1 - Identification/Attestation/att.pdf    the answers' files, as in the one-dossier ZIP (``attachments``)
        Messagerie/courrier.pdf                   files sent in the thread (``messages``)
        Avis d'experts/Avis n° 1.txt (+ files)    expert opinions (``opinions``)
        Décision/convention.pdf                   letters and conventions (``documents``)
        Factures justificatives/facture.pdf       proofs' invoices (``invoices``)

Rules: only the dossiers ``user`` may see (``Dossier.objects.visible_to``) are archived, whatever ids are
given; a file is written only if it may be served (``StoredFile.is_servable``: scanned clean, or no antivirus
on the instance), else the README says why it was left out; a confidential expert opinion goes only to ARS
staff. Names follow ``dossiers.archive`` (accents kept, forbidden characters removed, clashes numbered).

``name_pattern`` names each dossier's folder with the placeholders ``{numero}``, ``{etablissement}``,
``{finess}``; a pattern with ``{champ}`` names the answers' files too (the field's label in place of
``{champ}``, the file's own extension kept), which then sit directly in the dossier's folder.
"""

import posixpath
import string
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import zipstream
from django.utils import timezone

from guichet.commission.models import Document
from guichet.core import storage as stored
from guichet.core.text import count
from guichet.dossiers import archive
from guichet.dossiers.models import Dossier
from guichet.experts.models import ExpertRequest
from guichet.funding.models import InvoiceLine
from guichet.messaging.models import MessageAttachment

from . import dossier_pdf

ALL_CODES = ("attachments", "messages", "opinions", "documents", "invoices", "pdf")
CODE_LABELS = {
    "attachments": "pièces jointes du formulaire", "messages": "pièces jointes de la messagerie",
    "opinions": "avis d'experts", "documents": "lettres et conventions", "invoices": "factures justificatives",
    "pdf": "PDF du dossier",
}
DEFAULT_PATTERN = "{numero} - {etablissement}"
PLACEHOLDERS = ("numero", "etablissement", "finess", "champ")
BATCH = 100
README_NAME = archive.README_NAME
MISSING = "fichier introuvable dans le stockage (à signaler à l'équipe technique)"
CONFIDENTIAL = "avis confidentiel, réservé aux services de l'ARS"


class PatternError(ValueError):
    """A naming pattern with an unknown placeholder or a syntax error (the message is French)."""


def placeholders_text() -> str:
    return ", ".join("{" + p + "}" for p in PLACEHOLDERS)


def validate_pattern(pattern: str) -> str:
    """``pattern``, stripped, if it names files safely, else PatternError in French: only the known placeholders,
    written plainly (no format spec or conversion), at least one of them (or every file would have the same name),
    no folder separator. The one check of a naming pattern: the export templates' form uses it too."""
    pattern = (pattern or "").strip()
    if not pattern:
        raise PatternError("Indiquez le nom des fichiers, par exemple « {numero} - {champ} ».")
    if "/" in pattern or "\\" in pattern or ".." in pattern:
        raise PatternError("Le nom des fichiers ne peut contenir ni « / », ni « \\ », ni « .. ».")
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError:
        raise PatternError(
            "Accolade mal fermée dans le nom des fichiers : chaque variable s'écrit entre { et }, "
            f"parmi {placeholders_text()}.") from None
    unknown = sorted({name for _, name, spec, conv in parsed if name is not None and name not in PLACEHOLDERS}
                     | {f"{name}:{spec}" for _, name, spec, conv in parsed if name in PLACEHOLDERS and (spec or conv)})
    if unknown:
        raise PatternError(f"Variable inconnue : {', '.join('{' + u + '}' for u in unknown)}. "
                           f"Variables possibles : {placeholders_text()}.")
    if not any(name for _, name, _, _ in parsed):
        raise PatternError(f"Le nom des fichiers doit contenir au moins une variable parmi {placeholders_text()}, "
                           "sinon tous les fichiers porteraient le même nom.")
    return pattern


@dataclass
class LeftOut:
    where: str  # dossier folder / kind / file name
    reason: str


@dataclass
class Report:
    """What the stream wrote and left out, filled as it goes (for the README at the end)."""

    dossiers: int = 0
    files: int = 0
    left_out: list[LeftOut] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)  # the root's own files (``build_zip``'s ``extra_files``)


def _values(dossier: Dossier, champ: str = "") -> dict:
    return {"numero": dossier.number or f"brouillon {dossier.pk}", "etablissement": dossier.establishment.name,
            "finess": dossier.establishment.finess, "champ": champ}


def folder_name(dossier: Dossier, pattern: str) -> str:
    # {champ} has no meaning for the folder: it is dropped there (and used for the answers' files).
    name = pattern.format(**_values(dossier)).replace(" -  - ", " - ").strip(" -")
    return archive.safe_component(name, fallback=f"dossier {dossier.pk}")


def _size(storage, name: str) -> int | None:
    try:
        return storage.size(name)
    except (FileNotFoundError, OSError):
        return None


class _Writer:
    """Adds one dossier's entries to the stream, each file only if it may be served."""

    def __init__(self, stream: zipstream.ZipStream, report: Report):
        self.stream, self.report, self.names = stream, report, archive.UniqueNames()
        self.names.taken.add(README_NAME.casefold())

    def add_file(self, item, folder: str, name: str, where: str) -> None:
        if not item.is_servable:
            reason = archive.REASONS.get(item.scan_status, item.get_scan_status_display())
            self.report.left_out.append(LeftOut(f"{where} / {item.original_name}", reason))
            return
        storage = item.file.storage
        size = _size(storage, item.file.name)
        if size is None:
            self.report.left_out.append(LeftOut(f"{where} / {item.original_name}", MISSING))
            return
        path = self.names.claim(folder, archive.safe_component(name, fallback="fichier"))
        self.stream.add(stored.read_chunks(storage, item.file.name), path, size=size)
        self.report.files += 1

    def add_bytes(self, data, folder: str, name: str) -> None:
        self.stream.add(data, self.names.claim(folder, archive.safe_component(name)))
        self.report.files += 1


def _pdf(dossier: Dossier, private: bool) -> Iterator[bytes]:
    # A generator: the PDF is rendered when the stream reaches it, not when it is queued.
    yield dossier_pdf.render(dossier, private=private)


def _opinion_text(request: ExpertRequest) -> bytes:
    lines = [f"Avis demandé à {request.email} le {timezone.localtime(request.created_at):%d/%m/%Y}"
             + (" (confidentiel)" if request.confidential else ""), "", "Question :", request.question, "",
             f"Avis rendu le {timezone.localtime(request.answered_at):%d/%m/%Y à %H:%M} :", request.answer, ""]
    return "\r\n".join(lines).encode("utf-8")


@dataclass
class _Related:
    """The batch's messagerie files, opinions, decision documents and invoices, grouped by dossier id."""

    messages: dict = field(default_factory=lambda: defaultdict(list))
    opinions: dict = field(default_factory=lambda: defaultdict(list))
    documents: dict = field(default_factory=lambda: defaultdict(list))
    invoices: dict = field(default_factory=lambda: defaultdict(list))


def _related(ids: list[int], include: set[str]) -> _Related:
    found = _Related()
    if "messages" in include:
        for item in (MessageAttachment.objects.filter(message__dossier_id__in=ids, message__deleted_at__isnull=True)
                     .select_related("message").order_by("message__created_at", "pk")):
            found.messages[item.message.dossier_id].append(item)
    if "opinions" in include:
        for item in (ExpertRequest.objects.filter(dossier_id__in=ids, answered_at__isnull=False,
                                                  revoked_at__isnull=True).prefetch_related("files")):
            found.opinions[item.dossier_id].append(item)
    if "documents" in include:
        for item in Document.objects.filter(dossier_id__in=ids).order_by("created_at", "pk"):
            found.documents[item.dossier_id].append(item)
    if "invoices" in include:
        for line in (InvoiceLine.objects.filter(dossier_id__in=ids, attachment__isnull=False)
                     .select_related("attachment").order_by("invoice_date", "pk")):
            found.invoices[line.dossier_id].append(line)
    return found


def _field_key(entry) -> set[str]:
    """The keys a ``file_fields`` choice may name for an answer's file: the field, or the block and the child."""
    parts = [p for p in entry.attachment.field_path.split(".") if not p.isdigit()]
    return set(parts)


def _add_dossier(writer: _Writer, dossier: Dossier, user, include: set[str], file_fields, pattern: str,
                 related: _Related) -> None:
    folder = writer.names.claim("", folder_name(dossier, pattern))
    private = user.is_ars_staff
    if "pdf" in include and dossier_pdf.is_printable(dossier):
        writer.add_bytes(_pdf(dossier, private), folder, dossier_pdf.file_name(dossier))
    if "attachments" in include:
        for entry in archive.collect(dossier):
            if file_fields is not None and not (_field_key(entry) & set(file_fields)):
                continue
            where = f"{folder} / {entry.section} / {entry.field}"
            if "{champ}" in pattern:
                ext = posixpath.splitext(entry.attachment.original_name)[1]
                name = archive.safe_component(pattern.format(**_values(dossier, entry.field))) + ext
                writer.add_file(entry.attachment, folder, name, where)
            else:
                sub = posixpath.join(folder, entry.section, archive.safe_component(entry.field))
                writer.add_file(entry.attachment, sub, entry.attachment.original_name, where)
    for item in related.messages.get(dossier.pk, []):
        writer.add_file(item, posixpath.join(folder, "Messagerie"), item.original_name, f"{folder} / Messagerie")
    for position, opinion in enumerate(related.opinions.get(dossier.pk, []), start=1):
        sub = posixpath.join(folder, "Avis d'experts")
        if opinion.confidential and not private:
            writer.report.left_out.append(LeftOut(f"{folder} / Avis d'experts / avis n° {position}", CONFIDENTIAL))
            continue
        writer.add_bytes(_opinion_text(opinion), sub, f"Avis n° {position}.txt")
        for item in opinion.files.all():
            writer.add_file(item, sub, f"Avis n° {position} - {item.original_name}", f"{folder} / Avis d'experts")
    for item in related.documents.get(dossier.pk, []):
        writer.add_file(item, posixpath.join(folder, "Décision"), item.original_name, f"{folder} / Décision")
    for line in related.invoices.get(dossier.pk, []):
        writer.add_file(line.attachment, posixpath.join(folder, "Factures justificatives"),
                        line.attachment.original_name, f"{folder} / Factures justificatives")
    writer.report.dossiers += 1


def _batches(ids: list[int], user) -> Iterator[list[Dossier]]:
    scope = Dossier.objects.visible_to(user).select_related("establishment__legal_entity", "call__region",
                                                             "form_version")
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        by_id = scope.in_bulk(chunk)
        yield [by_id[pk] for pk in chunk if pk in by_id]


def _ids(dossiers) -> list[int]:
    if hasattr(dossiers, "values_list"):
        return list(dossiers.values_list("pk", flat=True))
    return list(dict.fromkeys(int(pk) for pk in dossiers))


def readme(report: Report, include: Iterable[str], user) -> str:
    lines = [
        "Archive des dossiers — Guichet CLACT",
        f"Créée le {timezone.localtime():%d/%m/%Y à %H:%M} par {user.email}.",
        f"Contenu : {', '.join(CODE_LABELS[c] for c in ALL_CODES if c in include)}.",
        "",
        f"{count(report.dossiers, 'dossier')}, {count(report.files, 'fichier')}.",
        "Chaque dossier a son répertoire" + (" ; le fichier « Dossier <numéro>.pdf » y est le dossier tel que déposé."
                                             if "pdf" in include else "."),
        *([f"À la racine de l'archive : {', '.join(f'« {name} »' for name in report.extra)}."] if report.extra else []),
        "Un fichier qui n'a pas encore été analysé par l'antivirus, ou dans lequel un virus a été trouvé, n'est "
        "jamais inclus.",
        "",
    ]
    if report.left_out:
        lines.append(f"Non inclus : {count(len(report.left_out), 'élément')}")
        lines += [f"  {item.where} : {item.reason}" for item in report.left_out]
    else:
        lines.append("Aucun fichier n'a été laissé de côté.")
    lines.append("")
    return "\r\n".join(lines)


def build_zip(dossiers, user, include: Iterable[str] = ALL_CODES, file_fields: Iterable[str] | None = None,
              name_pattern: str = DEFAULT_PATTERN,
              extra_files: Iterable[tuple[str, Iterable[bytes]]] = (),
              progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """The archive of ``dossiers`` (a queryset or ids, in the order given) as ``user`` may see them, as an
    iterator of bytes; nothing is read before it is iterated. ``include``: codes of ``ALL_CODES``;
    ``file_fields``: the answers' file fields to keep (keys; None for all); ``extra_files``: (name, iterable of
    bytes) written at the archive's root after the dossiers (an export template's spreadsheet), iterated only
    when the stream reaches them; the README names them. ``progress``: called with the number of dossiers written
    so far after each one (a background job's progress bar)."""
    include = set(include)
    unknown = include - set(ALL_CODES)
    if unknown:
        raise ValueError(f"Unknown include codes: {sorted(unknown)}")
    name_pattern = validate_pattern(name_pattern)
    file_fields = None if file_fields is None else list(file_fields)
    extra_files = list(extra_files)
    ids = _ids(dossiers)

    def chunks():
        stream = zipstream.ZipStream(compress_type=zipstream.ZIP_STORED, sized=False)
        report = Report()
        writer = _Writer(stream, report)
        # The root's own files take their names first: a dossier's folder never pushes them aside.
        extras = [(writer.names.claim("", archive.safe_component(name, fallback="fichier")), data)
                  for name, data in extra_files]
        report.extra = [path for path, _ in extras]
        done = 0
        for batch in _batches(ids, user):
            related = _related([d.pk for d in batch], include)
            for dossier in batch:
                _add_dossier(writer, dossier, user, include, file_fields, name_pattern, related)
                # Written out dossier by dossier: the queue never holds more than one dossier's entries.
                yield from stream.all_files()
                done += 1
                if progress is not None:
                    progress(done)
        for path, data in extras:
            stream.add(data, path)
            yield from stream.all_files()
        # Last (its place in the ZIP does not matter, its content does): what was left out, and why.
        stream.add(readme(report, include, user).encode("utf-8"), README_NAME)
        yield from stream.finalize()

    return chunks()
