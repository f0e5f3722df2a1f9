"""The dossier PDF: the dossier as filed, for the establishment and for the ARS.

What it holds: every answer of the form version the dossier was filed on (``Dossier.form_version``, never the
call's current one: a field a later version removed stays in the PDF), read as on the summary page
(``dossiers.display.answer_sections``), repeatable blocks as tables; the files with their size and SHA-256
(``dossiers.archive.collect``: the files the answers refer to, in the order of the form); the establishments
(porteur, parties prenantes); the history (every event with who, when and the motivation).

``private=True`` (ARS staff only: the caller decides) adds the private annotations in a final section of their
own; the establishment's PDF never holds them.

The HTML is rendered by the project's templates (``reporting/dossier_pdf.html``) and turned into PDF by
``documents.render.html_to_pdf``, whose URL fetcher loads nothing but ``data:`` URLs (no file, no network).
"""

from django.template.loader import render_to_string
from django.utils import timezone

from guichet.documents.render import html_to_pdf
from guichet.dossiers import archive, display
from guichet.dossiers.models import Dossier, State
from guichet.establishments.models import LegalStatus, Sector
from guichet.instruction.annotations import annotations_version


def _blocks(sections: list[dict]) -> list[dict]:
    """``answer_sections`` reshaped for print: a repeatable block becomes a table (one column per child field,
    one row per row; a cell whose field is hidden in that row is empty)."""
    result = []
    for section in sections:
        rows = []
        for row in section["rows"]:
            if "rows" not in row:
                rows.append({"label": row["field"].label, "display": row["display"]})
                continue
            columns = [c for c in row["field"].children if c.holds_value]
            table = []
            for block_row in row["rows"]:
                by_key = {c.key: shown for c, shown, _value in block_row}
                table.append([by_key.get(c.key, "") for c in columns])
            rows.append({"label": row["field"].label, "columns": [c.label for c in columns], "table": table,
                         "row_label": row["field"].opt("row_label") or row["field"].label})
        result.append({"title": section["section"].title, "rows": rows})
    return result


def _establishment(est, role: str) -> dict:
    entity = est.legal_entity
    return {
        "role": role, "name": est.name, "finess": est.finess, "finess_ej": entity.finess if entity else "",
        "siret": est.siret, "category": est.category, "department": est.department, "city": est.city,
        "sector": dict(Sector.choices).get(est.sector, est.sector),
        "legal_status": dict(LegalStatus.choices).get(est.legal_status, est.legal_status), "ght": est.ght,
    }


def context(dossier: Dossier, private: bool = False) -> dict:
    """Everything the PDF shows, as plain data."""
    schema = dossier.form_version.parsed()
    files = [{"part": e.section, "field": e.field, "name": e.attachment.original_name, "size": e.attachment.size,
              "sha256": e.attachment.sha256, "scan": e.attachment.get_scan_status_display()}
             for e in archive.collect(dossier)]
    establishments = [_establishment(dossier.establishment, "Établissement porteur")]
    establishments += [_establishment(p, "Partie prenante")
                       for p in dossier.partners.select_related("legal_entity").order_by("name")]
    events = [{
        "at": timezone.localtime(e.at), "label": e.details.get("label") or e.get_kind_display(),
        "states": (f"{e.from_state_label or '—'} → {e.to_state_label}"
                   if e.to_state and e.from_state != e.to_state else ""),
        "actor": e.actor.email if e.actor else "", "motivation": e.motivation,
        "changes": len(e.details.get("changes") or []),
    } for e in dossier.events.select_related("actor")]
    annotations = None
    if private:
        version = annotations_version(dossier.call)
        annotations = _blocks(display.answer_sections(version.parsed(), dossier.annotations or {})) if version else []
    return {
        "dossier": dossier, "title": f"Dossier n° {dossier.number}" if dossier.number else f"Dossier {dossier}",
        "call": dossier.call, "region": dossier.call.region.name, "state": dossier.get_state_display(),
        "version": dossier.form_version.number,
        "sections": _blocks(display.answer_sections(schema, dossier.answers or {})),
        "files": files, "establishments": establishments, "events": events, "private": private,
        "annotations": annotations, "printed_at": timezone.localtime(),
    }


def render_html(dossier: Dossier, private: bool = False) -> str:
    return render_to_string("reporting/dossier_pdf.html", context(dossier, private))


def render(dossier: Dossier, private: bool = False) -> bytes:
    """The dossier PDF as bytes."""
    return html_to_pdf(render_html(dossier, private))


def is_printable(dossier: Dossier) -> bool:
    """A PDF of the dossier « as filed »: a draft has not been filed."""
    return dossier.state != State.BROUILLON and bool(dossier.number)


def file_name(dossier: Dossier) -> str:
    return f"Dossier {dossier.number}.pdf"
