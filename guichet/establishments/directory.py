"""Import of the establishment directory from the DREES SAE identification table, and search.

The SAE (Statistique annuelle des établissements de santé) identification table has one row
per health establishment (ET) with its legal entity (EJ). Semicolon-separated, ISO-8859-1
(UTF-8 accepted too). Columns used:

``fi`` FINESS ET · ``fi_ej`` FINESS EJ · ``rs`` ET name · ``cat`` FINESS category code ·
``catr`` grouped category (``PUB*`` public, ``PNL*`` private non-profit, ``PLU*`` private
for-profit) · ``stjr`` grouped legal status (1 public, 2 private for-profit, 3 private
non-profit) · ``espic`` (in the 2023 file: 1 public, 0 for-profit, 6 ESPIC, 7 non-profit
but not ESPIC) · ``sir`` SIRET (sometimes only a 9-digit SIREN) · ``DADS_C1`` SIREN of the
employer (fallback) · ``dep`` · ``reg`` (INSEE region code) · ``NOMCOM``/``LIBCOM`` city.

There is no EJ name column (``RSTET`` is the name of the *group head*, e.g. "ELSAN", not of
the EJ): an EJ is named after its own row when its FINESS also appears as an ET, after the
group head when the group head's SIREN is the EJ's SIREN, else after its first site.

Rules: every valid row is imported in one transaction with bulk operations; a second run
updates and never duplicates; records keep their primary key (so accesses and dossiers
stay attached); a directory value never blanks a non-empty field; records entered by hand
(``source=manual``) are upgraded to ``source=directory``; an existing EJ name is kept
(the directory only gives a guess for it).
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from guichet.core.text import count, plural

from .identifiers import normalize, validate_finess, validate_siren, validate_siret
from .models import Establishment, LegalEntity, LegalStatus, Region, Sector, Source

# FINESS category labels of the sanitaire categories (the codes found in the SAE extract and
# their neighbours); an unknown code is shown as is.
CATEGORY_LABELS = {
    "101": "Centre hospitalier régional (CHR)",
    "106": "Centre hospitalier, ex-hôpital local",
    "109": "Établissement de santé privé autorisé en SSR",
    "114": "Hôpital des armées",
    "119": "Maison de régime",
    "122": "Établissement de soins obstétriques chirurgico-gynécologiques",
    "127": "Hospitalisation à domicile",
    "128": "Établissement de soins chirurgicaux",
    "129": "Établissement de soins médicaux",
    "131": "Centre de lutte contre le cancer",
    "135": "Établissement de réadaptation fonctionnelle",
    "141": "Centre de dialyse",
    "146": "Structure d'alternative à la dialyse en centre",
    "156": "Centre médico-psychologique (CMP)",
    "161": "Maison de santé pour maladies mentales",
    "292": "Centre hospitalier spécialisé lutte maladies mentales",
    "355": "Centre hospitalier (CH)",
    "362": "Établissement de soins longue durée",
    "365": "Établissement de soins pluridisciplinaire",
    "366": "Atelier thérapeutique",
    "412": "Appartement thérapeutique",
    "415": "Service médico-psychologique régional (SMPR)",
    "425": "Centre d'accueil thérapeutique à temps partiel (CATTP)",
    "430": "Centre de postcure malades mentaux",
    "433": "Établissement sanitaire des prisons",
    "444": "Centre de crise accueil permanent",
    "695": "Groupement de coopération sanitaire de moyens – exploitant",
    "696": "Groupement de coopération sanitaire de moyens",
    "697": "Groupement de coopération sanitaire – établissement de santé",
    "698": "Autre établissement loi hospitalière",
    "699": "Entité ayant autorisation",
}

REQUIRED_COLUMNS = ("fi", "rs")


class ImportFileError(Exception):
    """The file cannot be read at all (missing, not a SAE table...). Message in French."""


@dataclass
class RejectedRow:
    line: int
    reason: str

    def __str__(self):
        return f"ligne {self.line} : {self.reason}"


@dataclass
class ImportReport:
    imported: int = 0
    updated: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    legal_entities_created: int = 0
    legal_entities_updated: int = 0
    encoding: str = ""

    @property
    def summary(self) -> str:
        return (
            f"{count(self.imported, 'établissement importé')}, {self.updated} mis à jour, "
            f"{count(len(self.rejected), 'ligne rejetée')} ; entités juridiques : "
            f"{count(self.legal_entities_created, 'créée')}, "
            f"{count(self.legal_entities_updated, 'mise à jour', 'mises à jour')}."
        )


def category_label(code: str) -> str:
    return CATEGORY_LABELS.get(code, code)


def legal_status_from_row(row: dict) -> str:
    """public / prive / espic from the SAE grouped status, ESPIC flag and grouped category."""
    stjr, espic, catr = row.get("stjr", ""), row.get("espic", ""), row.get("catr", "").upper()
    if stjr == "1" or catr.startswith("PUB"):
        return LegalStatus.PUBLIC
    if stjr == "3" or catr.startswith("PNL"):
        return LegalStatus.ESPIC if espic == "6" else LegalStatus.PRIVE
    if stjr == "2" or catr.startswith("PLU"):
        return LegalStatus.PRIVE
    return ""


# --- reading -----------------------------------------------------------------------------

MAX_LINE = 128 * 1024  # the longest SAE line is under 2 000 characters
BINARY_SAMPLE = 64 * 1024  # bytes looked at to tell a text file from a binary one
NOT_TEXT = ("Le fichier n'est pas un fichier texte CSV (il contient des caractères binaires) : exportez la table "
            "d'identification SAE au format CSV (séparateur « ; ») et recommencez.")


def _read_text(source) -> tuple[str, str]:
    """Return (text, encoding) from a path or a binary/text stream; UTF-8 if it decodes, else ISO-8859-1.
    A binary file (an archive, a spreadsheet…) is refused: NUL bytes, which no CSV export writes, in its first
    line or as more than 1 % of its beginning."""
    if isinstance(source, str | Path):
        try:
            data = Path(source).read_bytes()
        except FileNotFoundError as exc:
            raise ImportFileError(f"Impossible de lire le fichier « {source} » : fichier introuvable.") from exc
        except PermissionError as exc:
            raise ImportFileError(f"Impossible de lire le fichier « {source} » : accès refusé.") from exc
        except IsADirectoryError as exc:
            raise ImportFileError(f"Impossible de lire « {source} » : c'est un dossier, pas un fichier.") from exc
        except OSError as exc:
            raise ImportFileError(f"Impossible de lire le fichier « {source} » : erreur de lecture ({exc}).") from exc
    else:
        data = source.read()
    if isinstance(data, str):
        return data, "texte"
    sample = data[:BINARY_SAMPLE]
    if b"\x00" in sample.split(b"\n", 1)[0] or sample.count(b"\x00") * 100 > len(sample):
        raise ImportFileError(NOT_TEXT)  # a stray NUL further on is that line's rejection
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        return data.decode("iso-8859-1"), "ISO-8859-1"


class _BadLine(Exception):
    """One physical line that cannot be read as CSV; the message is in French."""


def _fields(line: str) -> list[str]:
    """One physical line as its fields. The SAE table never spans a record over several lines, so a line is
    read on its own: an unclosed quote, a NUL or an endless line is that line's rejection and never swallows
    the following ones (a csv.reader over the whole text would read on to the next quote)."""
    if len(line) > MAX_LINE:
        raise _BadLine(f"ligne trop longue ({len(line)} caractères ; {MAX_LINE} au plus), ligne ignorée")
    if "\x00" in line:
        raise _BadLine("caractère nul (fichier binaire ou abîmé), ligne ignorée")
    try:
        return next(csv.reader([line], delimiter=";", strict=True), [])
    except csv.Error:
        raise _BadLine("guillemet ouvrant sans guillemet fermant (ou guillemet mal placé), ligne ignorée") from None


def _rows(text: str, rejected: list | None = None):
    """Yield (line number, row dict with lower-cased keys) for each data row; a line that cannot be read is
    appended to ``rejected`` with its number."""
    rejected = [] if rejected is None else rejected
    lines = iter(enumerate(text.splitlines(), start=1))
    header = None
    for number, line in lines:
        if not line.strip():
            continue
        try:
            header = _fields(line)
        except _BadLine as exc:
            raise ImportFileError(f"La ligne d'en-tête (ligne {number}) est illisible : {exc}.") from None
        break
    if header is None:
        raise ImportFileError("Le fichier est vide.")
    header = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ImportFileError(
            "Le fichier n'est pas une table d'identification SAE (séparateur « ; ») : "
            f"{plural(len(missing), 'colonne manquante')} : {', '.join(missing)}."
        )
    for number, line in lines:
        if not line.strip():
            continue
        try:
            values = _fields(line)
        except _BadLine as exc:
            rejected.append(RejectedRow(number, str(exc)))
            continue
        if not any(v.strip() for v in values):
            continue
        yield number, {k: (values[i].strip() if i < len(values) else "") for i, k in enumerate(header)}


@dataclass
class _Record:
    line: int
    finess: str
    ej_finess: str
    name: str
    siret: str
    siren: str
    category_code: str
    legal_status: str
    department: str
    region_code: str
    city: str
    group_siren: str
    group_name: str


def _parse_row(line: int, row: dict) -> _Record:
    """Validate one row; raise ValidationError with the French reason."""

    def ident(column, label, validator):
        value = row.get(column, "")
        if not value:
            return ""
        try:
            return validator(value)
        except ValidationError as exc:
            raise ValidationError(f"{label} « {value} » invalide : {' '.join(exc.messages)}") from None

    if not row.get("fi"):
        raise ValidationError("FINESS de l'établissement (colonne fi) manquant")
    finess = ident("fi", "FINESS", validate_finess)
    ej_finess = ident("fi_ej", "FINESS juridique", validate_finess)
    name = row.get("rs", "")
    if not name:
        raise ValidationError(f"raison sociale (colonne rs) manquante pour le FINESS « {finess} »")
    sir = normalize(row.get("sir", ""))
    siret = siren = ""
    if sir:
        if len(sir) == 9:  # some rows only carry the SIREN
            siren = ident("sir", "SIREN", validate_siren)
        else:
            siret = ident("sir", "SIRET", validate_siret)
            siren = siret[:9]
    if not siren:
        for column in ("siren", "dads_c1"):
            try:
                siren = validate_siren(row[column]) if row.get(column) else ""
            except ValidationError:
                siren = ""
            if siren:
                break
    try:
        group_siren = validate_siren(row["sirtet"]) if row.get("sirtet") else ""
    except ValidationError:
        group_siren = ""
    return _Record(
        line=line, finess=finess, ej_finess=ej_finess, name=name[:255], siret=siret, siren=siren,
        category_code=row.get("cat", "")[:10], legal_status=legal_status_from_row(row),
        department=row.get("dep", "")[:3].upper(), region_code=row.get("reg", "")[:2],
        city=(row.get("nomcom") or row.get("libcom", ""))[:255],
        group_siren=group_siren, group_name=row.get("rstet", "")[:255],
    )


# --- import ------------------------------------------------------------------------------

def _legal_entity_values(ej_finess: str, records: list[_Record]) -> dict:
    sirens = Counter(r.siren for r in records if r.siren)
    siren = sirens.most_common(1)[0][0] if sirens else ""
    own = next((r for r in records if r.finess == ej_finess), None)
    if own:
        name = own.name
    else:
        head = next((r for r in records if r.group_siren and r.group_siren == siren and r.group_name), None)
        name = head.group_name if head else records[0].name
    status = next((r.legal_status for r in records if r.legal_status), "")
    return {"siren": siren, "name": name, "legal_status": status}


def _apply(obj, values: dict, *, keep: tuple = ()) -> None:
    """Set non-empty values on obj (never blank a field); fields in ``keep`` only fill empties."""
    for name, value in values.items():
        if value in ("", None):
            continue
        if name in keep and getattr(obj, name):
            continue
        setattr(obj, name, value)
    obj.source = Source.DIRECTORY


def import_sae(source) -> ImportReport:
    """Import a SAE identification table (path or stream) into LegalEntity / Establishment."""
    text, encoding = _read_text(source)
    report = ImportReport(encoding=encoding)
    records: dict[str, _Record] = {}
    for line, row in _rows(text, report.rejected):
        try:
            record = _parse_row(line, row)
        except ValidationError as exc:
            report.rejected.append(RejectedRow(line, " ".join(exc.messages)))
            continue
        if record.finess in records:
            report.rejected.append(RejectedRow(
                line, f"FINESS « {record.finess} » déjà présent ligne {records[record.finess].line}, ligne ignorée"))
            continue
        records[record.finess] = record

    regions = {r.code: r for r in Region.objects.all()}
    by_ej: dict[str, list[_Record]] = {}
    for record in records.values():
        if record.ej_finess:
            by_ej.setdefault(record.ej_finess, []).append(record)
    now = timezone.now()

    with transaction.atomic():
        # Legal entities
        existing_ej = LegalEntity.objects.in_bulk(list(by_ej), field_name="finess")
        new_ej, changed_ej = [], []
        for ej_finess, ej_records in by_ej.items():
            values = _legal_entity_values(ej_finess, ej_records)
            obj = existing_ej.get(ej_finess)
            if obj is None:
                new_ej.append(LegalEntity(finess=ej_finess, source=Source.DIRECTORY, **values))
            else:
                _apply(obj, values, keep=("name",))
                obj.updated_at = now
                changed_ej.append(obj)
        LegalEntity.objects.bulk_create(new_ej, batch_size=500)
        LegalEntity.objects.bulk_update(
            changed_ej, ["siren", "name", "legal_status", "source", "updated_at"], batch_size=500)
        report.legal_entities_created, report.legal_entities_updated = len(new_ej), len(changed_ej)
        ej_ids = dict(LegalEntity.objects.filter(finess__in=list(by_ej)).values_list("finess", "pk"))

        # Establishments
        existing_et = Establishment.objects.in_bulk(list(records), field_name="finess")
        new_et, changed_et = [], []
        for finess, r in records.items():
            values = {
                "legal_entity_id": ej_ids.get(r.ej_finess), "siret": r.siret, "name": r.name,
                "category_code": r.category_code,
                "category": category_label(r.category_code) if r.category_code else "",
                "sector": Sector.SANITAIRE, "legal_status": r.legal_status, "department": r.department,
                "region": regions.get(r.region_code), "city": r.city,
            }
            obj = existing_et.get(finess)
            if obj is None:
                new_et.append(Establishment(finess=finess, source=Source.DIRECTORY,
                                            **{k: v for k, v in values.items() if v is not None}))
            else:
                _apply(obj, values)
                obj.updated_at = now
                changed_et.append(obj)
        Establishment.objects.bulk_create(new_et, batch_size=500)
        Establishment.objects.bulk_update(
            changed_et,
            ["legal_entity", "siret", "name", "category_code", "category", "sector", "legal_status",
             "department", "region", "city", "source", "updated_at"],
            batch_size=500,
        )
    report.imported, report.updated = len(new_et), len(changed_et)
    report.rejected.sort(key=lambda r: r.line)
    return report


# --- search ------------------------------------------------------------------------------

def search_establishments(query: str, limit: int = 10):
    """Directory establishments whose FINESS starts with, or whose name/city contains, the query."""
    query = (query or "").strip()
    if len(query) < 2:
        return Establishment.objects.none()
    compact = normalize(query)
    condition = Q(name__icontains=query) | Q(city__icontains=query)
    if compact.isalnum():
        condition |= Q(finess__startswith=compact)
    return (Establishment.objects.filter(condition)
            .select_related("legal_entity").order_by("name", "finess")[:limit])
