"""Answers as read-only sections for display: shared by the applicant's summary and the instructor's page."""

from guichet.formschema import engine
from guichet.formschema.values import format_for_display


def answer_sections(schema, answers: dict) -> list[dict]:
    """``[{"section": Section, "rows": [...]}]``: each visible field with its display value; a
    repeatable block as ``{"field", "rows": [[(child, display, value), …], …]}``."""
    sections = []
    for sec in schema.sections:
        rows = []
        for f in sec.fields:
            if f.type in ("heading", "explanation") or not engine.is_visible(schema, f, answers):
                continue
            if f.type == "repeat":
                block_rows = []
                for row in answers.get(f.key) or []:
                    block_rows.append([(c, format_for_display(c, row.get(c.key)), row.get(c.key))
                                       for c in f.children if c.holds_value and engine.is_visible(
                                           schema, c, answers, row)])
                rows.append({"field": f, "rows": block_rows})
            else:
                value = answers.get(f.key)
                rows.append({"field": f, "display": format_for_display(f, value), "value": value})
        sections.append({"section": sec, "rows": rows})
    return sections
