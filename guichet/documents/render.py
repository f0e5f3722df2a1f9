"""Rendering document templates to HTML and PDF, and checking the bodies ARS administrators write.

- ``template_for(kind, region)``: the region's own template, else the platform default.
- ``validate_body(body, kind)``: refuses a syntax error, a tag other than the few allowed (no
  ``{% load %}``, ``{% include %}``, ``{% extends %}``, ``{% url %}``…: an admin-editable template
  must not reach files, settings or other templates), the ``safe`` filters, and any variable that
  is not a documented placeholder of the kind (``placeholders.PLACEHOLDERS``).
- ``render_html(kind, region, context)`` and ``render_pdf(kind, region, context)``: the body
  inside the A4 layout (``layout.html``), then WeasyPrint, which may fetch nothing but ``data:`` URLs.

Templates are compiled by a dedicated engine (``ENGINE``): autoescaping on, no loaders, no context
processors, no tag libraries, the French filters (``filters.py``) built in. Compiled bodies are
cached per (template pk, updated_at). The context is plain data only (see ``placeholders``).
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
import re
import threading
from decimal import Decimal
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import models
from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import FilterExpression, Lexer, TokenType, Variable, VariableNode
from django.template.defaulttags import FirstOfNode, ForNode, IfNode, NowNode, WithNode
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.safestring import mark_safe

from . import placeholders
from .filters import PARIS
from .models import DocumentKind, DocumentTemplate, ensure_defaults
from .samples import sample_context  # noqa: F401  (part of this module's interface)

ENGINE = Engine(debug=True, autoescape=True, loaders=[], libraries={}, builtins=["guichet.documents.filters"])
LAYOUT_PATH = Path(__file__).resolve().parent / "layout.html"
MAX_BODY_LENGTH = 200_000

ALLOWED_TAGS = ("if", "elif", "else", "endif", "for", "empty", "endfor", "with", "endwith", "firstof", "now",
                "spaceless", "endspaceless", "comment", "endcomment")
REFUSED_FILTERS = ("safe", "safeseq", "pprint")
FREE = object()  # a name whose lookups are not checked: forloop, True/False/None, a loop over a literal
BUILTIN_NAMES = {"True": FREE, "False": FREE, "None": FREE}

# WeasyPrint logs each rendering step at INFO level: keep its warnings only.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

_compiled: dict[tuple[int, dt.datetime], object] = {}
_layout = None


# --- Which template ---------------------------------------------------------------------------------

def _region_id(region) -> int | None:
    if region is None or isinstance(region, int):
        return region
    return region.pk


def template_for(kind: str, region) -> DocumentTemplate:
    """The template of ``kind`` for ``region`` (a Region, its pk, or None): its own, else the default."""
    if kind not in DocumentKind.values:
        raise ValueError(f"Unknown document kind: {kind!r}")
    region_id = _region_id(region)
    candidates = DocumentTemplate.objects.filter(kind=kind).filter(
        models.Q(region__isnull=True) | models.Q(region_id=region_id) if region_id else models.Q(region__isnull=True))
    found = sorted(candidates, key=lambda t: t.region_id is None)
    if found:
        return found[0]
    # The defaults come with a data migration; a flushed test database may have lost them.
    ensure_defaults()
    return DocumentTemplate.objects.get(kind=kind, region__isnull=True)


# --- Validation -------------------------------------------------------------------------------------

def _last_word(text: str) -> str:
    return re.findall(r"\w+", text)[-1]


_SYNTAX_MESSAGES = [
    (re.compile(r"Unclosed tag on line \d+: '(\w+)'\. Looking for one of: ([\w, ]+)\."),
     lambda m: f"balise {{% {m[1]} %}} non fermée : ajoutez {{% {m[2].split(', ')[-1]} %}}"),
    (re.compile(r"Invalid block tag on line \d+: '(\w+)', expected ((?:'\w+'(?:, | or )?)+)"),
     lambda m: f"balise {{% {m[1]} %}} inattendue, {{% {_last_word(m[2])} %}} était attendue"),
    (re.compile(r"Invalid block tag on line \d+: '(\w+)'"), lambda m: f"balise {{% {m[1]} %}} inconnue"),
    (re.compile(r"Invalid filter: '(\w+)'"),
     lambda m: f"filtre inconnu « {m[1]} » (filtres de la plateforme : euros, date_fr, pourcent, nombre)"),
    (re.compile(r"Could not parse the remainder: '(.*)' from '(.*)'"), lambda m: f"expression mal formée « {m[2]} »"),
    (re.compile(r"Empty variable tag"), lambda m: "variable vide {{ }}"),
    (re.compile(r"Unused '(.*)' at end of if expression"),
     lambda m: f"condition {{% if %}} mal formée, « {m[1]} » en trop"),
    (re.compile(r"'for' statements should"),
     lambda m: "balise {% for %} mal formée : écrivez {% for action in actions %}"),
    (re.compile(r"'with' expected at least one"),
     lambda m: "balise {% with %} mal formée : écrivez {% with nom=valeur %}"),
    (re.compile(r"Empty block tag"), lambda m: "balise vide {% %}"),
]


def _syntax_message(exc: TemplateSyntaxError, body: str) -> str:
    text = str(exc)
    info = getattr(exc, "template_debug", None) or {}
    line = info.get("line")
    if line is None:
        found = re.search(r"on line (\d+)", text)
        line = int(found[1]) if found else None
    for pattern, french in _SYNTAX_MESSAGES:
        match = pattern.search(text)
        if match:
            text = french(match)
            break
    where = f" (ligne {line})" if line else ""
    return f"Erreur de syntaxe{where} : {text.rstrip('.')}."


def _acceptable(kind: str | None) -> set[str]:
    """The documented names of ``kind`` and every prefix of them (``dossiers``, ``dossiers[]``…)."""
    result = set()
    for name in placeholders.names(kind):
        result.add(name)
        for match in re.finditer(r"\.|\[\]", name):
            result.add(name[:match.end()] if match[0] == "[]" else name[:match.start()])
    return result


class _Checker:
    """Walks a compiled body: every variable must be a documented placeholder, every filter allowed."""

    def __init__(self, body: str, kind: str | None):
        self.kind = kind
        self.acceptable = _acceptable(kind)
        self.tokens = [(t.lineno, t.contents) for t in Lexer(body).tokenize() if t.token_type != TokenType.TEXT]
        self.errors: list[str] = []

    def line_of(self, text: str, start: int) -> int:
        for lineno, contents in self.tokens:
            if lineno >= start and text in contents:
                return lineno
        return start

    def path(self, var: Variable, scope: dict):
        """The documented path a variable stands for (``actions[].cout``), FREE, or None for a literal."""
        if var.lookups is None:
            return None
        root, *rest = var.lookups
        base = scope.get(root, root)
        if base is FREE:
            return FREE
        path = base
        for part in rest:
            path += "[]" if part.isdigit() else f".{part}"
        return path

    def check_variable(self, var: Variable, scope: dict, line: int) -> None:
        path = self.path(var, scope)
        if path is None or path is FREE or path in self.acceptable:
            return
        root = var.lookups[0]
        base = scope.get(root, "")
        candidates = [n[len(base):] for n in self.acceptable if n.startswith(base) and "[]" not in n[len(base):]]
        close = difflib.get_close_matches(path[len(base):], candidates, n=1, cutoff=0.7)
        hint = ""
        if close:
            suggestion = (root + close[0]) if base else close[0]
            hint = f" Vouliez-vous dire {{{{ {suggestion} }}}} ?"
        self.errors.append(
            f"Variable inconnue : {{{{ {var.var} }}}} (ligne {self.line_of(var.var, line)}).{hint} "
            f"Variables disponibles : {placeholders.summary(self.kind)}.")

    def check_expression(self, expression, scope: dict, line: int) -> None:
        if isinstance(expression.var, Variable):
            self.check_variable(expression.var, scope, line)
        for func, args in expression.filters:
            name = getattr(func, "_filter_name", func.__name__)
            if name in REFUSED_FILTERS:
                self.errors.append(f"Le filtre « {name} » n'est pas autorisé (ligne {self.line_of(name, line)}) : "
                                   "les données des dossiers doivent rester échappées.")
            for is_lookup, arg in args:
                if is_lookup:
                    self.check_variable(arg, scope, line)

    def check_condition(self, condition, scope: dict, line: int) -> None:
        if condition is None:
            return
        if isinstance(getattr(condition, "value", None), FilterExpression):
            self.check_expression(condition.value, scope, line)
        for part in (getattr(condition, "first", None), getattr(condition, "second", None)):
            self.check_condition(part, scope, line)

    def expression_path(self, expression, scope: dict):
        if isinstance(expression.var, Variable):
            path = self.path(expression.var, scope)
            if isinstance(path, str) and path in self.acceptable:
                return path
        return FREE

    def walk(self, nodelist, scope: dict) -> None:
        scope = dict(scope)
        for node in nodelist:
            line = getattr(getattr(node, "token", None), "lineno", 0) or 0
            if isinstance(node, VariableNode):
                self.check_expression(node.filter_expression, scope, line)
            elif isinstance(node, IfNode):
                for condition, children in node.conditions_nodelists:
                    self.check_condition(condition, scope, line)
                    self.walk(children, scope)
            elif isinstance(node, ForNode):
                self.check_expression(node.sequence, scope, line)
                sequence = self.expression_path(node.sequence, scope)
                item = FREE if sequence is FREE else f"{sequence}[]"
                inner = {**scope, "forloop": FREE, **{name: item for name in node.loopvars}}
                self.walk(node.nodelist_loop, inner)
                self.walk(node.nodelist_empty, scope)
            elif isinstance(node, WithNode):
                inner = dict(scope)
                for name, expression in node.extra_context.items():
                    self.check_expression(expression, scope, line)
                    inner[name] = self.expression_path(expression, scope) if not expression.filters else FREE
                self.walk(node.nodelist, inner)
            elif isinstance(node, FirstOfNode):
                for expression in node.vars:
                    self.check_expression(expression, scope, line)
                if node.asvar:
                    scope[node.asvar] = FREE
            elif isinstance(node, NowNode):
                if node.asvar:
                    scope[node.asvar] = FREE
            else:
                for attr in node.child_nodelists:
                    self.walk(getattr(node, attr, None) or [], scope)


def validate_body(body: str, kind: str | None = None) -> None:
    """Raise ValidationError (in French) unless ``body`` is a safe template using only ``kind``'s placeholders.

    ``kind`` None accepts the placeholders of every kind.
    """
    if kind is not None and kind not in DocumentKind.values:
        raise ValueError(f"Unknown document kind: {kind!r}")
    if len(body) > MAX_BODY_LENGTH:
        raise ValidationError(f"Le contenu dépasse {MAX_BODY_LENGTH:,} caractères.".replace(",", "\u202f"))
    refused = []
    for token in Lexer(body).tokenize():
        if token.token_type != TokenType.BLOCK:
            continue
        name = token.contents.split()[0] if token.contents.split() else ""
        if name and name not in ALLOWED_TAGS:
            refused.append(f"La balise {{% {name} %}} n'est pas autorisée (ligne {token.lineno}). Balises "
                           "autorisées : if, elif, else, for, empty, with, firstof, now, spaceless, comment.")
    if refused:
        raise ValidationError(refused)
    try:
        compiled = ENGINE.from_string(body)
    except TemplateSyntaxError as exc:
        raise ValidationError(_syntax_message(exc, body)) from None
    checker = _Checker(body, kind)
    checker.walk(compiled.nodelist, {**BUILTIN_NAMES})
    if checker.errors:
        raise ValidationError(list(dict.fromkeys(checker.errors))[:10])


# --- Rendering --------------------------------------------------------------------------------------

_PLAIN = (str, Promise, int, float, bool, Decimal, dt.date, type(None))  # Promise: a lazy (translated) str


def _check_plain(value, where: str = "context") -> None:
    """Templates get plain data only: no model instance, queryset or callable can slip in."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}: keys must be strings, got {key!r}")
            _check_plain(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_plain(item, f"{where}[{index}]")
    elif not isinstance(value, _PLAIN):
        raise TypeError(f"{where}: plain data only (dict, list, str, Decimal, date), got {type(value).__name__}")


def compiled_body(template: DocumentTemplate):
    """The compiled body of ``template``, cached per (pk, updated_at); unsaved templates are not cached."""
    if template.pk is None:
        return ENGINE.from_string(template.body)
    key = (template.pk, template.updated_at)
    found = _compiled.get(key)
    if found is None:
        found = ENGINE.from_string(template.body)
        for stale in [k for k in list(_compiled) if k[0] == template.pk]:
            _compiled.pop(stale, None)
        _compiled[key] = found
    return found


def _layout_template():
    global _layout
    if _layout is None:
        _layout = ENGINE.from_string(LAYOUT_PATH.read_text(encoding="utf-8"))
    return _layout


def today() -> dt.date:
    return timezone.now().astimezone(PARIS).date()


def render_template_html(template: DocumentTemplate, context: dict, region=None) -> str:
    """``template`` (saved or not) rendered with ``context`` inside the A4 layout: a full HTML document."""
    _check_plain(context)
    region_name = context.get("region") or (
        region.name if hasattr(region, "name") else template.region.name if template.region_id else "")
    data = {"date_du_jour": today(), **context, "region": region_name}
    body = compiled_body(template).render(Context(data, autoescape=True))
    return _layout_template().render(Context({
        "region": region_name, "title": template.title, "kind": template.kind, "body": mark_safe(body),
    }, autoescape=True))


def render_html(kind: str, region, context: dict) -> str:
    """The document ``kind`` for ``region`` (its own template, else the default) as a full HTML document."""
    return render_template_html(template_for(kind, region), context, region=region)


def _url_fetcher():
    """WeasyPrint may load nothing but ``data:`` URLs: no file, no network."""
    try:
        from weasyprint.urls import URLFetcher
    except ImportError:  # WeasyPrint < 66: a function
        from weasyprint import default_url_fetcher

        def fetch(url, *args, **kwargs):
            if not url.startswith("data:"):
                raise ValueError(f"Refused URL in a document: {url[:80]}")
            return default_url_fetcher(url, *args, **kwargs)

        return fetch
    return URLFetcher(allowed_protocols={"data"}, allow_redirects=False, timeout=1)


_fonts = threading.local()


def _font_config():
    """One WeasyPrint font configuration per thread, reused: a new one per document is never freed (about
    0.2 MB each), which a ZIP holding a thousand dossier PDFs turned into a steady climb of memory."""
    found = getattr(_fonts, "config", None)
    if found is None:
        from weasyprint.text.fonts import FontConfiguration

        found = _fonts.config = FontConfiguration()
    return found


def html_to_pdf(html: str) -> bytes:
    import weasyprint  # imported late: loading Pango takes a moment, and only PDF rendering needs it

    return weasyprint.HTML(string=html, base_url=None, url_fetcher=_url_fetcher()).write_pdf(
        font_config=_font_config())


def render_pdf(kind: str, region, context: dict) -> bytes:
    """The document ``kind`` for ``region`` as PDF bytes."""
    return html_to_pdf(render_html(kind, region, context))


def render_template_pdf(template: DocumentTemplate, context: dict, region=None) -> bytes:
    return html_to_pdf(render_template_html(template, context, region=region))
