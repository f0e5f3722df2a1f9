"""Keeping ``DossierIndex`` up to date: ``reindex(dossier)`` builds a filed dossier's row in one upsert.

Called from signals (``signals.py``) on every save of a dossier, so state changes through
``workflow.apply``, filing and edits of the answers all reach the index without their code knowing
about it. Drafts are not indexed (zero cost for autosaves of a draft).
"""

import re
import unicodedata
from decimal import Decimal

from django.db.models import Exists, F, OuterRef

from guichet.dossiers.models import Dossier, State
from guichet.formschema import qvct
from guichet.formschema.values import parse_decimal

from .models import DossierIndex, Label

TEXT_TYPES = {"text", "textarea", "email", "finess", "siret", "phone"}
AMOUNT_KEY = "montant_demande"
PREFERRED_AMOUNT_KEY = "total_montant_demande"
UPDATE_FIELDS = [f.name for f in DossierIndex._meta.concrete_fields if not f.primary_key]
_SPACES = re.compile(r"\s+")


def normalize(text) -> str:
    """Lowercase, accents removed, whitespace collapsed: what the search text and queries share."""
    decomposed = unicodedata.normalize("NFKD", str(text or ""))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", stripped.lower()).strip()


def requested_amount(answers: dict) -> Decimal:
    """The requested amount: the top-level answer ``total_montant_demande`` if present, else the first
    top-level key (alphabetical) containing ``montant_demande`` with a number; 0 when there is none."""
    keys = sorted(k for k in answers if AMOUNT_KEY in k)
    if PREFERRED_AMOUNT_KEY in keys:
        keys.remove(PREFERRED_AMOUNT_KEY)
        keys.insert(0, PREFERRED_AMOUNT_KEY)
    for key in keys:
        try:
            value = parse_decimal(answers[key])
        except Exception:  # noqa: BLE001  (ValidationError, or a non-scalar value)
            continue
        if value is not None:
            return value.quantize(Decimal("0.01"))
    return Decimal("0.00")


def _walk(fields, answers: dict):
    """(field, value) for every input field with a value, repeat rows included."""
    for f in fields:
        value = answers.get(f.key) if isinstance(answers, dict) else None
        if f.type == "repeat":
            for row in value if isinstance(value, list) else []:
                if isinstance(row, dict):
                    yield from _walk(f.children, row)
        elif value not in (None, "", []):
            yield f, value


def themes_and_texts(schema, answers: dict) -> tuple[list[str], list[str]]:
    codes, texts = [], []
    for f, value in _walk(schema.top_fields(), answers or {}):
        if f.type == "qvct_theme":
            for code in value if isinstance(value, list) else [value]:
                if isinstance(code, str) and code:
                    for c in (qvct.theme_of(code), code):
                        if c not in codes:
                            codes.append(c)
        elif f.type in TEXT_TYPES and isinstance(value, str):
            texts.append(value)
    return codes, texts


def encode_themes(codes) -> str:
    return "|" + "|".join(codes) + "|" if codes else ""


def build(dossier: Dossier, followed: bool, label_ids: list[int]) -> DossierIndex:
    est = dossier.establishment
    schema = dossier.form_version.parsed()
    codes, texts = themes_and_texts(schema, dossier.answers or {})
    search = " ".join(normalize(t) for t in (dossier.number, est.name, est.finess, est.city, *texts) if t)
    return DossierIndex(
        dossier_id=dossier.pk, call_id=dossier.call_id, number=dossier.number or "", state=dossier.state,
        archived=dossier.archived, followed=followed, sector=est.sector or "", department=est.department or "",
        legal_status=est.legal_status or "", category=(est.category or "")[:255],
        establishment_name=est.name[:255], establishment_sort=normalize(est.name)[:255], finess=est.finess,
        city=(est.city or "")[:255], amount=requested_amount(dossier.answers or {}), themes=encode_themes(codes),
        label_ids=label_ids, filed_at=dossier.first_filed_at or dossier.created_at,
        changed_at=dossier.updated_at or dossier.created_at, search_text=search,
    )


def upsert(rows: list[DossierIndex], batch_size: int | None = None) -> None:
    DossierIndex.objects.bulk_create(rows, update_conflicts=True, unique_fields=["dossier"],
                                     update_fields=UPDATE_FIELDS, batch_size=batch_size)


def reindex(dossier: Dossier) -> None:
    """Rebuild the index row of one dossier: 1 read (dossier, establishment, followed, one row per label),
    1 upsert. A draft is not indexed."""
    if dossier.state == State.BROUILLON:
        return

    followers = Dossier.followers.through.objects.filter(dossier_id=OuterRef("pk"))
    rows = list(Dossier.objects.select_related("establishment", "form_version").filter(pk=dossier.pk)
                .annotate(has_followers=Exists(followers), label_id=F("labels__id")))
    if not rows:
        raise Dossier.DoesNotExist(f"dossier {dossier.pk}")
    label_ids = sorted(row.label_id for row in rows if row.label_id is not None)
    upsert([build(rows[0], rows[0].has_followers, label_ids)])


def reindex_all(queryset=None, batch_size: int = 500) -> int:
    """Rebuild the index of every filed dossier (management command, after a bulk import)."""
    queryset = queryset if queryset is not None else Dossier.objects.all()
    followers = Dossier.followers.through.objects.filter(dossier_id=OuterRef("pk"))
    qs = (queryset.exclude(state=State.BROUILLON).select_related("establishment", "form_version")
          .annotate(has_followers=Exists(followers)).order_by("pk"))
    count, batch = 0, []
    for dossier in qs.iterator(chunk_size=batch_size):
        batch.append(dossier)
        if len(batch) >= batch_size:
            count += _flush(batch)
            batch = []
    if batch:
        count += _flush(batch)
    return count


def _flush(dossiers) -> int:
    labels: dict[int, list[int]] = {}
    for dossier_id, label_id in (Label.dossiers.through.objects.filter(dossier_id__in=[d.pk for d in dossiers])
                                 .values_list("dossier_id", "label_id")):
        labels.setdefault(dossier_id, []).append(label_id)
    upsert([build(d, d.has_followers, sorted(labels.get(d.pk, []))) for d in dossiers])
    return len(dossiers)
