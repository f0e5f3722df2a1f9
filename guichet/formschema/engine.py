"""Evaluating a schema against answers: visibility, computed fields, completeness.

Answers are a dict keyed by top-level field keys; a repeatable block's value is a list of row
dicts keyed by its children's keys. ``pending`` holds raw input that did not validate, keyed by
field path (``key`` or ``block.index.child``), so completeness can point at it.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from guichet.core.text import count

from .expressions import evaluate
from .schema import Field, Schema
from .values import format_decimal, is_empty, parse_decimal, to_decimal

FORMAT_PLACES = {"amount": 2, "percentage": 2, "decimal": 2, "integer": 0}


def condition_holds(cond, value) -> bool:
    if cond.op == "checked":
        return value is True
    if cond.op == "contains":
        if isinstance(value, list):
            return cond.value in value
        return isinstance(value, str) and str(cond.value).lower() in value.lower()
    equal = _same_value(value, cond.value)
    if cond.op == "equals":
        return equal
    return not equal  # differs


def _same_value(value, expected) -> bool:
    """Equality as a person means it: "0.00" equals 0, "oui"-style booleans are compared as booleans."""
    if value == expected:
        return True
    if is_empty(value) or isinstance(value, bool) or isinstance(expected, bool):
        return False
    try:
        return parse_decimal(value) == parse_decimal(expected)
    except ValidationError:
        return str(value) == str(expected)


def is_visible(schema: Schema, f: Field, answers: dict, row: dict | None = None) -> bool:
    """Whether a field is shown: its condition holds, and the field it depends on is shown too."""
    if f.parent is not None and not is_visible(schema, f.parent, answers):
        return False
    cond = f.show_if
    if cond is None:
        return True
    if f.parent is not None and f.parent.child(cond.field) is not None:
        target, scope = f.parent.child(cond.field), (row or {})
    else:
        target, scope = schema.fields_by_key[cond.field], answers
    if not is_visible(schema, target, answers, row):
        return False
    return condition_holds(cond, scope.get(cond.field))


def compute(schema: Schema, answers: dict, rate: Decimal | None = None) -> dict:
    """Return the answers with every computed field evaluated (in dependency order)."""
    answers = dict(answers)
    rate_value = rate if rate is not None else Decimal(0)
    for f in schema.computed_order:
        places = FORMAT_PLACES[f.opt("format", "decimal")]
        if f.parent is None:
            answers[f.key] = _format(_evaluate(f, answers, None, rate_value), places)
        else:
            rows = answers.get(f.parent.key) or []
            new_rows = []
            for row in rows:
                row = dict(row)
                row[f.key] = _format(_evaluate(f, answers, row, rate_value), places)
                new_rows.append(row)
            answers[f.parent.key] = new_rows
    return answers


def _format(result: Decimal | None, places: int) -> str | None:
    """The stored string of a result; empty when undefined, infinite or too large to keep to the cent."""
    try:
        return None if result is None else format_decimal(result, places)
    except InvalidOperation:
        return None


def _evaluate(f: Field, answers: dict, row: dict | None, rate: Decimal):
    def resolve(name):
        if name == "taux":
            return rate
        if row is not None and name in row or (f.parent is not None and f.parent.child(name)):
            return to_decimal((row or {}).get(name))
        return to_decimal(answers.get(name))

    def column(block, child):
        return [to_decimal(r.get(child)) for r in (answers.get(block) or [])]

    def count(block):
        return len(answers.get(block) or [])

    return evaluate(f.expression, resolve, column, count)


@dataclass
class Missing:
    """One item that stops a dossier from being filed, with where to fix it."""

    section_key: str
    section_title: str
    path: str  # field path, e.g. "actions.2.cout"
    label: str
    message: str
    url: str = ""  # where to fix it, when it is not a field of the form (e.g. a proofs dossier's invoices)

    @property
    def anchor(self) -> str:
        return "champ-" + self.path.replace(".", "-")


def missing_items(schema: Schema, answers: dict, pending: dict | None = None) -> list[Missing]:
    """Every mandatory item not answered, and every invalid value, among visible fields only."""
    pending = pending or {}
    items: list[Missing] = []
    for section in schema.sections:
        def add(path, label, message, _section=section):
            items.append(Missing(_section.key, _section.title, path, label, message))

        for f in section.fields:
            if not f.holds_value or not is_visible(schema, f, answers):
                continue
            if f.type == "repeat":
                rows = answers.get(f.key) or []
                min_rows = f.opt("min_rows", 1 if f.required else 0)
                if len(rows) < min_rows:
                    add(f.key, f.label, f"au moins {count(min_rows, 'ligne')} à remplir")
                for index, row in enumerate(rows):
                    for child in f.children:
                        if not child.is_input or not is_visible(schema, child, answers, row):
                            continue
                        path = f"{f.key}.{index}.{child.key}"
                        label = f"{f.label} n° {index + 1} — {child.label}"
                        if path in pending:
                            add(path, label, "valeur invalide à corriger")
                        elif child.required and _unanswered(child, row.get(child.key)):
                            add(path, label, "champ obligatoire")
                continue
            if f.key in pending:
                add(f.key, f.label, "valeur invalide à corriger")
            elif f.required and _unanswered(f, answers.get(f.key)):
                add(f.key, f.label, "champ obligatoire")
    return items


def _unanswered(f: Field, value) -> bool:
    if f.type == "checkbox":
        return value is not True
    return is_empty(value)


def strip_hidden(schema: Schema, answers: dict) -> dict:
    """Answers without the values of hidden fields (done when a dossier is filed)."""
    result = {}
    for f in schema.top_fields():
        if not f.holds_value or f.key not in answers or not is_visible(schema, f, answers):
            continue
        if f.type == "repeat":
            rows = []
            for row in answers.get(f.key) or []:
                rows.append({c.key: row[c.key] for c in f.children
                             if c.key in row and is_visible(schema, c, answers, row)})
            result[f.key] = rows
        else:
            result[f.key] = answers[f.key]
    return result
