"""Parsing and validation of a form schema (format: docs/form-schema.md).

``parse_schema(data)`` turns the JSON/YAML document an administrator saved into a ``Schema``
of ``Section`` and ``Field`` objects, or raises ``SchemaError`` listing every problem in French,
each naming the field concerned. Everything downstream (forms, completeness, computed fields)
works on a parsed ``Schema`` and may trust it.
"""

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from .expressions import Expression, ExpressionError, compile_expression

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

INPUT_TYPES = {
    "text", "textarea", "integer", "decimal", "percentage", "amount", "date", "yesno", "checkbox",
    "choice", "multichoice", "email", "phone", "finess", "siret", "establishment", "qvct_theme", "file",
}
LAYOUT_TYPES = {"heading", "explanation"}
FIELD_TYPES = INPUT_TYPES | LAYOUT_TYPES | {"repeat", "computed"}
NUMERIC_TYPES = {"integer", "decimal", "percentage", "amount", "computed"}
CONDITION_OPS = {"equals", "differs", "checked", "contains"}
COMPUTED_FORMATS = {"amount", "percentage", "decimal", "integer"}
MAX_UPLOAD_MB = 200
DEFAULT_ALLOWED_TYPES = ["pdf", "doc", "docx", "odt", "xls", "xlsx", "ods", "csv", "ppt", "pptx", "odp",
                         "jpg", "jpeg", "png", "zip", "txt"]
KNOWN_FILE_TYPES = set(DEFAULT_ALLOWED_TYPES) | {"rtf", "tif", "tiff", "gif", "7z"}
RATE_NAME = "taux"  # the call's co-financing rate, available to expressions
MAX_ROWS_LIMIT = 500

TYPE_LABELS = {
    "text": "texte court", "textarea": "texte long", "integer": "nombre entier", "decimal": "nombre décimal",
    "percentage": "pourcentage", "amount": "montant en euros", "date": "date", "yesno": "oui / non",
    "checkbox": "case à cocher", "choice": "choix unique", "multichoice": "choix multiple",
    "email": "adresse électronique", "phone": "téléphone", "finess": "numéro FINESS", "siret": "numéro SIRET",
    "establishment": "établissement", "qvct_theme": "thème QVCT", "file": "pièce jointe",
    "repeat": "bloc répétable", "computed": "champ calculé", "heading": "titre", "explanation": "explication",
}


class SchemaError(ValueError):
    def __init__(self, messages: list[str]):
        self.messages = messages
        super().__init__("\n".join(messages))


@dataclass(eq=False)
class Condition:
    field: str
    op: str
    value: Any = None


@dataclass(eq=False)
class Field:
    key: str
    type: str
    label: str = ""
    help: str = ""
    required: bool = False
    options: dict = field(default_factory=dict)
    show_if: Condition | None = None
    prefill: str = ""
    expression: Expression | None = None
    children: list["Field"] = field(default_factory=list)
    parent: "Field | None" = None
    section: "Section | None" = None

    @property
    def path(self) -> str:
        return f"{self.parent.key}.{self.key}" if self.parent else self.key

    @property
    def is_input(self) -> bool:
        return self.type in INPUT_TYPES

    @property
    def holds_value(self) -> bool:
        return self.type in INPUT_TYPES or self.type in ("repeat", "computed")

    def opt(self, name, default=None):
        return self.options.get(name, default)

    def child(self, key: str) -> "Field | None":
        return next((c for c in self.children if c.key == key), None)


@dataclass(eq=False)
class Section:
    key: str
    title: str
    description: str = ""
    fields: list[Field] = field(default_factory=list)


@dataclass(eq=False)
class Schema:
    sections: list[Section]
    fields_by_key: dict[str, Field]
    computed_order: list[Field]  # computed fields in an order where dependencies come first
    raw: dict

    def section(self, key: str) -> Section | None:
        return next((s for s in self.sections if s.key == key), None)

    def field(self, path: str) -> Field | None:
        head, _, tail = path.partition(".")
        top = self.fields_by_key.get(head)
        if top is None or not tail:
            return top
        return top.child(tail)

    def top_fields(self):
        for section in self.sections:
            yield from section.fields


_COMMON_KEYS = {"key", "type", "label", "help", "required", "show_if", "prefill"}
# Where a field may take its first value from when a dossier starts (filled in by the dossier layer).
PREFILL_SOURCES = {
    "establishment.name", "establishment.finess", "establishment.siret", "establishment.legal_status",
    "establishment.city", "establishment.department", "legal_entity.finess", "legal_entity.siren",
    "legal_entity.name", "user.email",
}
_TYPE_OPTIONS = {
    "text": {"max_length", "accept_non_concerne", "placeholder"},
    "textarea": {"max_length", "rows"},
    "integer": {"min", "max"},
    "decimal": {"min", "max", "decimal_places"},
    "percentage": {"decimal_places"},
    "amount": {"min", "max"},
    "date": {"min", "max"},
    "choice": {"options", "widget"},
    "multichoice": {"options"},
    "qvct_theme": {"multiple"},
    "file": {"max_size_mb", "allowed_types"},
    "repeat": {"fields", "min_rows", "max_rows", "row_label"},
    "computed": {"expression", "format"},
    "explanation": {"text"},
}


def _iso_date(value) -> bool:
    try:
        dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return True


def _finite_number(value) -> bool:
    try:
        return Decimal(str(value)).is_finite()
    except InvalidOperation:
        return False


class _Parser:
    def __init__(self, data):
        self.data = data
        self.errors: list[str] = []
        self.fields_by_key: dict[str, Field] = {}
        self.seen_top: list[Field] = []  # input fields above the current position, in order

    def error(self, where: str, message: str):
        self.errors.append(f"{where} : {message}")

    def parse(self) -> Schema:
        data = self.data
        if not isinstance(data, dict) or not isinstance(data.get("sections"), list) or not data["sections"]:
            raise SchemaError(["Le schéma doit contenir une liste « sections » non vide."])
        sections = []
        section_keys = set()
        for index, raw in enumerate(data["sections"], start=1):
            where = f"Partie n° {index}"
            if not isinstance(raw, dict):
                self.error(where, "doit être un objet avec « key », « title » et « fields »")
                continue
            key = raw.get("key")
            if not isinstance(key, str) or not KEY_RE.match(key):
                self.error(where, f"clé « {key} » invalide (minuscules, chiffres et _, commençant par une lettre)")
            elif key in section_keys:
                self.error(where, f"la clé « {key} » est déjà utilisée par une autre partie")
            section_keys.add(key)
            title = raw.get("title")
            if not isinstance(title, str) or not title.strip():
                self.error(where, "le titre est obligatoire")
            section = Section(key=str(key), title=str(title or ""), description=str(raw.get("description") or ""))
            raw_fields = raw.get("fields")
            if not isinstance(raw_fields, list) or not raw_fields:
                self.error(f"Partie « {key} »", "la liste « fields » est vide ou absente")
                raw_fields = []
            for raw_field in raw_fields:
                f = self.parse_field(raw_field, section, parent=None, siblings=None)
                if f is not None:
                    section.fields.append(f)
            sections.append(section)
        computed_order = self.check_expressions(sections) if not self.errors else []
        if self.errors:
            raise SchemaError(self.errors)
        return Schema(sections=sections, fields_by_key=self.fields_by_key, computed_order=computed_order, raw=data)

    def parse_field(self, raw, section, parent: Field | None, siblings: dict | None) -> Field | None:
        container = f"le bloc « {parent.key} »" if parent else f"la partie « {section.key} »"
        if not isinstance(raw, dict):
            self.error(f"Dans {container}", "chaque champ doit être un objet")
            return None
        key, ftype = raw.get("key"), raw.get("type")
        where = f"Champ « {key} »"
        if not isinstance(key, str) or not KEY_RE.match(key):
            self.error(f"Dans {container}", f"clé de champ « {key} » invalide (lettres minuscules, chiffres et _)")
            return None
        if ftype not in FIELD_TYPES:
            self.error(where, f"type « {ftype} » inconnu (types permis : {', '.join(sorted(FIELD_TYPES))})")
            return None
        if key == RATE_NAME:
            self.error(where, f"la clé « {RATE_NAME} » est réservée au taux de cofinancement de l'appel")
        registry = siblings if parent else self.fields_by_key
        if key in registry:
            self.error(where, f"la clé est déjà utilisée dans {'le bloc' if parent else 'le formulaire'}")
        allowed = _COMMON_KEYS | _TYPE_OPTIONS.get(ftype, set())
        for extra in sorted(set(raw) - allowed):
            self.error(where, f"option « {extra} » inconnue pour un champ de type {TYPE_LABELS[ftype]}")
        label = raw.get("label", "")
        if ftype != "explanation" and (not isinstance(label, str) or not label.strip()):
            self.error(where, "le libellé (« label ») est obligatoire")
        options = {k: v for k, v in raw.items() if k not in _COMMON_KEYS}
        f = Field(key=key, type=ftype, label=str(label or ""), help=str(raw.get("help") or ""),
                  required=bool(raw.get("required", False)), options=options, parent=parent, section=section)
        if f.required and ftype in LAYOUT_TYPES | {"computed"}:
            self.error(where, f"un champ de type {TYPE_LABELS[ftype]} ne peut pas être obligatoire")
        self.check_options(f, where)
        if "prefill" in raw:
            if raw["prefill"] not in PREFILL_SOURCES or ftype not in INPUT_TYPES - {"file"} or parent is not None:
                self.error(where, f"« prefill » vaut l'une de : {', '.join(sorted(PREFILL_SOURCES))} "
                                  "(champs de saisie hors bloc répétable)")
            else:
                f.prefill = raw["prefill"]
        if "show_if" in raw:
            f.show_if = self.parse_condition(raw["show_if"], f, where, siblings)
        if ftype == "computed":
            try:
                f.expression = compile_expression(raw.get("expression"))
            except ExpressionError as exc:
                self.error(where, str(exc))
        if ftype == "repeat":
            if parent is not None:
                self.error(where, "un bloc répétable ne peut pas contenir un autre bloc répétable")
            child_registry: dict[str, Field] = {}
            raw_children = raw.get("fields")
            if not isinstance(raw_children, list) or not raw_children:
                self.error(where, "un bloc répétable doit contenir au moins un champ (« fields »)")
                raw_children = []
            for raw_child in raw_children:
                child = self.parse_field(raw_child, section, parent=f, siblings=child_registry)
                if child is not None:
                    f.children.append(child)
        registry[key] = f
        if parent is None and f.holds_value:
            self.seen_top.append(f)
        return f

    def check_options(self, f: Field, where: str):
        o = f.options

        def positive_int(name, low, high):
            if name in o and (not isinstance(o[name], int) or isinstance(o[name], bool) or not low <= o[name] <= high):
                self.error(where, f"« {name} » doit être un entier entre {low} et {high}")

        if f.type in ("text", "textarea"):
            positive_int("max_length", 1, 100000)
        if f.type in ("decimal", "percentage"):
            positive_int("decimal_places", 0, 6)
        for bound in ("min", "max"):
            if f.type == "date":
                if bound in o and not _iso_date(o[bound]):
                    self.error(where, f"« {bound} » doit être une date au format AAAA-MM-JJ")
            elif bound in o and (isinstance(o[bound], bool) or not isinstance(o[bound], int | float | str)
                                 or not _finite_number(o[bound])):
                self.error(where, f"« {bound} » doit être un nombre")
        if f.type in ("choice", "multichoice"):
            choices = o.get("options")
            if not isinstance(choices, list) or not choices or not all(isinstance(c, str) and c for c in choices):
                self.error(where, "« options » doit être une liste non vide de libellés")
            elif len(set(choices)) != len(choices):
                self.error(where, "« options » contient deux fois le même libellé")
            if o.get("widget", "radio") not in ("radio", "select"):
                self.error(where, "« widget » vaut « radio » ou « select »")
        if f.type == "file":
            positive_int("max_size_mb", 1, MAX_UPLOAD_MB)
            types = o.get("allowed_types")
            if types is not None:
                if not isinstance(types, list) or not types:
                    self.error(where, "« allowed_types » doit être une liste d'extensions, par exemple [pdf, xlsx]")
                else:
                    unknown = [t for t in types if str(t).lower().lstrip(".") not in KNOWN_FILE_TYPES]
                    if unknown:
                        self.error(where, f"type de fichier inconnu : {', '.join(map(str, unknown))}")
        if f.type == "repeat":
            positive_int("min_rows", 0, MAX_ROWS_LIMIT)
            positive_int("max_rows", 1, MAX_ROWS_LIMIT)
            if o.get("min_rows", 0) > o.get("max_rows", MAX_ROWS_LIMIT) if all(
                    isinstance(o.get(k, 0), int) for k in ("min_rows", "max_rows")) else False:
                self.error(where, "« min_rows » est supérieur à « max_rows »")
        if f.type == "computed" and o.get("format", "decimal") not in COMPUTED_FORMATS:
            self.error(where, f"« format » vaut l'un de : {', '.join(sorted(COMPUTED_FORMATS))}")

    def parse_condition(self, raw, f: Field, where: str, siblings: dict | None) -> Condition | None:
        if not isinstance(raw, dict) or "field" not in raw or "op" not in raw:
            self.error(where, "« show_if » s'écrit {field: clé, op: equals|differs|checked|contains, value: …}")
            return None
        ref, op = raw["field"], raw["op"]
        if op not in CONDITION_OPS:
            self.error(where, f"opérateur de condition « {op} » inconnu (equals, differs, checked, contains)")
            return None
        target = None
        if siblings is not None and ref in siblings:
            target = siblings[ref]
        elif any(t.key == ref for t in self.seen_top):
            target = self.fields_by_key[ref]
        if target is None:
            self.error(where, f"la condition porte sur « {ref} », qui n'existe pas au-dessus de ce champ")
            return None
        if target.type in LAYOUT_TYPES | {"repeat", "file"}:
            self.error(where, f"une condition ne peut pas porter sur « {ref} » ({TYPE_LABELS[target.type]})")
            return None
        if op == "checked" and target.type not in ("yesno", "checkbox"):
            self.error(where, f"« checked » ne s'applique qu'à un champ oui / non ou case à cocher, pas à « {ref} »")
        if op != "checked" and "value" not in raw:
            self.error(where, f"la condition « {op} » demande une valeur (« value »)")
        if target.type in ("yesno", "checkbox") and op in ("equals", "differs") and not isinstance(
                raw.get("value"), bool):
            self.error(where, f"la condition sur « {ref} » (oui / non) attend la valeur true ou false")
        if target.type in ("choice", "multichoice") and op != "checked" and raw.get("value") not in target.opt(
                "options", []):
            self.error(where, f"la valeur « {raw.get('value')} » n'est pas une option de « {ref} »")
        return Condition(field=ref, op=op, value=raw.get("value"))

    def check_expressions(self, sections) -> list[Field]:
        """Check every name of every expression, then order computed fields (refusing cycles)."""
        deps: dict[Field, list[Field]] = {}
        top = self.fields_by_key

        def numeric(f: Field) -> bool:
            return f.type in NUMERIC_TYPES

        for f in self._all(sections):
            if f.type != "computed" or f.expression is None:
                continue
            where = f"Champ calculé « {f.path} »"
            needs: list[Field] = []
            for name in sorted(f.expression.names):
                if name == RATE_NAME:
                    continue
                target = f.parent.child(name) if f.parent and f.parent.child(name) else top.get(name)
                if target is None:
                    inside = any(c.key == name for b in top.values() if b.type == "repeat" for c in b.children)
                    hint = " (pour un champ d'un bloc répétable, écrivez sum(bloc.champ))" if inside else ""
                    self.error(where, f"l'expression utilise « {name} », qui n'existe pas{hint}")
                elif target.parent is not None and target.parent is not f.parent:
                    self.error(where, f"« {name} » est dans un autre bloc")
                elif not numeric(target):
                    self.error(where, f"« {name} » n'est pas un champ numérique")
                else:
                    needs.append(target)
            for block_key, child_key in sorted(f.expression.block_fields):
                block = top.get(block_key)
                if block is None or block.type != "repeat":
                    self.error(where, f"sum() porte sur « {block_key} », qui n'est pas un bloc répétable")
                    continue
                child = block.child(child_key)
                if child is None:
                    self.error(where, f"le bloc « {block_key} » n'a pas de champ « {child_key} »")
                elif not numeric(child):
                    self.error(where, f"« {block_key}.{child_key} » n'est pas un champ numérique")
                else:
                    needs.append(child)
            for block_key in sorted(f.expression.blocks):
                if top.get(block_key) is None or top[block_key].type != "repeat":
                    self.error(where, f"count() porte sur « {block_key} », qui n'est pas un bloc répétable")
            deps[f] = [d for d in needs if d.type == "computed"]
        if self.errors:
            return []
        order: list[Field] = []
        state: dict[Field, int] = {}

        def visit(node: Field, trail: list[Field]):
            if state.get(node) == 2:
                return
            if state.get(node) == 1:
                cycle = trail[trail.index(node):] + [node]
                self.error(f"Champ calculé « {node.path} »",
                           "dépendance circulaire : " + " → ".join(c.path for c in cycle))
                return
            state[node] = 1
            for dep in deps.get(node, []):
                visit(dep, trail + [node])
            state[node] = 2
            order.append(node)

        for node in deps:
            visit(node, [])
        return order

    @staticmethod
    def _all(sections):
        for section in sections:
            for f in section.fields:
                yield f
                yield from f.children


def parse_schema(data) -> Schema:
    return _Parser(data).parse()
