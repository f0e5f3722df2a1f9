"""Rendering a schema section as a Django form, and reading the answers back.

Every field is optional at this level: a draft may be saved half-filled, and mandatory items
are checked by ``engine.missing_items`` when the dossier is filed. A value that does not
validate is returned as *pending* raw input so that nothing typed is ever lost.

Field names in the HTML form: ``key`` for a top-level field, ``block__2__key`` for row 2 of a
repeatable block, ``block__rows`` for the number of rows of a block.
"""

import datetime as dt
import os
from dataclasses import dataclass, field
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.datastructures import MultiValueDict

from guichet.core import filetypes, money
from guichet.core.money import MAX_AMOUNT
from guichet.core.text import count

from . import qvct
from .engine import is_visible
from .schema import DEFAULT_ALLOWED_TYPES, MAX_UPLOAD_MB, Field, Schema, Section
from .values import format_decimal, format_for_display, french_number, normalize_phone, parse_decimal

YES, NO = "oui", "non"


@dataclass
class FormContext:
    """What a form needs from outside the engine (the dossier's world)."""

    establishments: list[tuple[str, str]] = field(default_factory=list)  # (FINESS, label)
    rate: Decimal | None = None
    attachment_url: object = None  # callable(value dict) -> URL, for files already uploaded


def html_name(path: str) -> str:
    return path.replace(".", "__")


def html_id(path: str) -> str:
    return "champ-" + path.replace(".", "-")


class FrenchDecimalField(forms.CharField):
    """A number typed the French way; cleaned to a Decimal string with fixed places."""

    def __init__(self, *, places=2, min_value=None, max_value=None, **kwargs):
        self.places, self.min_value, self.max_value = places, min_value, max_value
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        number = parse_decimal(value)
        if number is None:
            return None
        if self.min_value is not None and number < Decimal(str(self.min_value)):
            raise ValidationError(f"La valeur doit être supérieure ou égale à {french_number(self.min_value)}.",
                                  code="min_value")
        if self.max_value is not None and number > Decimal(str(self.max_value)):
            raise ValidationError(f"La valeur doit être inférieure ou égale à {french_number(self.max_value)}.",
                                  code="max_value")
        if number != number.quantize(Decimal(1).scaleb(-self.places)) and self.places is not None:
            raise ValidationError(
                f"Saisissez au plus {count(self.places, 'chiffre')} après la virgule." if self.places else
                "Saisissez un nombre entier.", code="max_decimal_places")
        return format_decimal(number, self.places)


class SchemaFileField(forms.FileField):
    """An attachment limited in size and type, checked as it is received."""

    def __init__(self, *, max_size_mb=MAX_UPLOAD_MB, allowed_types=None, **kwargs):
        self.max_size_mb = max_size_mb
        self.allowed_types = [t.lower().lstrip(".") for t in (allowed_types or DEFAULT_ALLOWED_TYPES)]
        super().__init__(**kwargs)

    @property
    def max_bytes(self) -> int:
        return self.max_size_mb * 1024 * 1024

    def clean(self, data, initial=None):
        upload = super().clean(data, initial)
        if not upload or upload is initial:
            return None
        extension = os.path.splitext(upload.name)[1].lower().lstrip(".")
        if extension not in self.allowed_types:
            raise ValidationError(
                f"Le fichier « {upload.name} » n'est pas d'un type accepté. "
                f"Types acceptés : {', '.join(self.allowed_types)}.", code="file_type")
        if upload.size > self.max_bytes:
            raise ValidationError(
                f"Le fichier « {upload.name} » pèse {upload.size / 1024 / 1024:.1f} Mo : "
                f"la taille maximale est de {self.max_size_mb} Mo.", code="file_size")
        if upload.size == 0:
            raise ValidationError(f"Le fichier « {upload.name} » est vide.", code="empty")
        detected = filetypes.sniff(upload)
        if not filetypes.content_matches(extension, detected):
            raise ValidationError(
                f"Le contenu du fichier « {upload.name} » ne correspond pas à son extension .{extension} "
                f"(contenu détecté : {filetypes.describe(detected)}). Vérifiez le fichier ou exportez-le "
                f"dans un des formats acceptés.", code="file_content")
        upload.content_type = detected  # what the content is, not what the browser claimed
        return upload


def _identifier_validator(name):
    def validate(value):
        from guichet.establishments import identifiers

        return getattr(identifiers, name)(value)
    return validate


class IdentifierField(forms.CharField):
    def __init__(self, *, validator_name, **kwargs):
        self.validator_name = validator_name
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return ""
        return _identifier_validator(self.validator_name)(value)


# A date typed in a dossier is of the grant's lifetime: not before 2000 (a typo such as 01/01/1900 or 0202
# is caught at the field), not more than DATE_YEARS_AHEAD years ahead. A schema field may set its own
# « min » / « max » (AAAA-MM-JJ), e.g. a date of birth or a long plan.
EARLIEST_DATE = dt.date(2000, 1, 1)
DATE_YEARS_AHEAD = 10


def _date_option(f: Field, name: str, default):
    value = f.opt(name)
    return dt.date.fromisoformat(value) if value else default


class BoundedDateField(forms.DateField):
    """A day between ``earliest`` and ``latest`` (default: the end of the year DATE_YEARS_AHEAD years ahead)."""

    def __init__(self, *, earliest=EARLIEST_DATE, latest=None, **kwargs):
        self.earliest, self.latest = earliest, latest
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
        kwargs.setdefault("input_formats", ["%Y-%m-%d", "%d/%m/%Y"])
        kwargs.setdefault("error_messages", {"invalid": "Saisissez une date valide, par exemple 15/03/2024."})
        super().__init__(**kwargs)
        self.widget.attrs["min"] = self.earliest.isoformat()
        self.widget.attrs["max"] = self.last_day().isoformat()

    def last_day(self) -> dt.date:
        return self.latest or dt.date(dt.date.today().year + DATE_YEARS_AHEAD, 12, 31)

    def clean(self, value):
        day = super().clean(value)
        if day is None:
            return day
        if day < self.earliest:
            raise ValidationError(f"La date ne peut pas être antérieure au {self.earliest:%d/%m/%Y} : vérifiez "
                                  "l'année.", code="min_value")
        if day > self.last_day():
            raise ValidationError(f"La date ne peut pas être postérieure au {self.last_day():%d/%m/%Y} : vérifiez "
                                  "l'année.", code="max_value")
        return day


class PhoneField(forms.CharField):
    def clean(self, value):
        return normalize_phone(super().clean(value))


def django_field(f: Field, ctx: FormContext) -> forms.Field:
    common = {"label": f.label, "required": False, "help_text": f.help}
    t = f.type
    if t == "text":
        return forms.CharField(max_length=f.opt("max_length", 255), **common)
    if t == "textarea":
        limit = f.opt("max_length", 10000)
        return forms.CharField(max_length=limit, widget=forms.Textarea(attrs={"rows": f.opt("rows", 5)}), **common)
    if t == "integer":
        return FrenchDecimalField(places=0, min_value=f.opt("min"), max_value=f.opt("max"), **common)
    if t == "decimal":
        return FrenchDecimalField(places=f.opt("decimal_places", 2), min_value=f.opt("min"),
                                  max_value=f.opt("max"), **common)
    if t == "percentage":
        return FrenchDecimalField(places=f.opt("decimal_places", 2), min_value=0, max_value=100, **common)
    if t == "amount":
        return FrenchDecimalField(places=2, min_value=f.opt("min", 0), max_value=f.opt("max", MAX_AMOUNT), **common)
    if t == "date":
        return BoundedDateField(earliest=_date_option(f, "min", EARLIEST_DATE), latest=_date_option(f, "max", None),
                                **common)
    if t == "yesno":
        return forms.ChoiceField(choices=[(YES, "Oui"), (NO, "Non")], widget=forms.RadioSelect, **common)
    if t == "checkbox":
        return forms.BooleanField(**common)
    if t == "choice":
        widget = forms.Select if f.opt("widget") == "select" else forms.RadioSelect
        choices = [(o, o) for o in f.opt("options")]
        if widget is forms.Select:
            choices = [("", "Sélectionner une option")] + choices
        return forms.ChoiceField(choices=choices, widget=widget, **common)
    if t == "multichoice":
        return forms.MultipleChoiceField(choices=[(o, o) for o in f.opt("options")],
                                         widget=forms.CheckboxSelectMultiple, **common)
    if t == "email":
        return forms.EmailField(**common)
    if t == "phone":
        return PhoneField(max_length=30, **common)
    if t == "finess":
        return IdentifierField(validator_name="validate_finess", max_length=20, **common)
    if t == "siret":
        return IdentifierField(validator_name="validate_siret", max_length=30, **common)
    if t == "establishment":
        return forms.ChoiceField(choices=[("", "Sélectionner un établissement")] + list(ctx.establishments),
                                 **common)
    if t == "qvct_theme":
        if f.opt("multiple", True):
            return forms.MultipleChoiceField(choices=qvct.choices(), widget=forms.CheckboxSelectMultiple, **common)
        return forms.ChoiceField(choices=[("", "Sélectionner un thème")] + qvct.grouped_choices(), **common)
    if t == "file":
        return SchemaFileField(max_size_mb=f.opt("max_size_mb", MAX_UPLOAD_MB),
                               allowed_types=f.opt("allowed_types"), **common)
    raise ValueError(f"no input widget for type {t}")


def to_form_value(f: Field, value):
    """A stored answer as the form's data (strings, or lists for multiple choices)."""
    if value is None:
        return None
    if f.type == "yesno":
        return YES if value is True else NO if value is False else None
    if f.type == "checkbox":
        return "on" if value else None
    if f.type in ("multichoice",) or (f.type == "qvct_theme" and f.opt("multiple", True)):
        return list(value) if isinstance(value, list) else [value]
    if f.type == "amount":
        return grouped_amount(value)
    if f.type in ("integer", "decimal", "percentage"):
        return str(value).replace(".", ",")
    if f.type == "file":
        return None
    return str(value)


def grouped_amount(value) -> str:
    """A stored amount as the input shows it, grouped like every displayed amount: « 24 000,00 » (narrow
    no-break spaces, which ``parse_decimal`` reads back); a value that is not a number is shown as stored."""
    try:
        number = parse_decimal(value)
    except ValidationError:
        return str(value)
    return money.for_input(number)


def to_answer(f: Field, cleaned):
    """A cleaned form value as the JSON stored in answers."""
    if f.type == "yesno":
        return True if cleaned == YES else False if cleaned == NO else None
    if f.type == "checkbox":
        return bool(cleaned)
    if f.type == "date":
        return cleaned.isoformat() if isinstance(cleaned, dt.date) else None
    if cleaned in ("", None, []):
        return None
    if f.type == "integer":
        return int(Decimal(cleaned))
    return cleaned


@dataclass
class Entry:
    """One item of a rendered section: a field, a layout item, or a block with rows."""

    field: Field
    bound: object = None  # BoundField for inputs
    path: str = ""
    rows: list = None  # for blocks: list of lists of Entry
    value: object = None  # for computed fields and files: the stored value
    visible: bool = True
    pending: bool = False

    @property
    def html_id(self):
        return html_id(self.path)

    @property
    def condition(self) -> dict | None:
        """The show-if condition for the browser: the HTML name of the field it depends on."""
        cond = self.field.show_if
        if cond is None:
            return None
        target = cond.field
        parent = self.field.parent
        if parent is not None and parent.child(cond.field) is not None:
            target = f"{parent.key}.{self.path.split('.')[1]}.{cond.field}"
        return {"name": html_name(target), "op": cond.op, "value": cond.value}

    @property
    def html_name(self):
        return html_name(self.path)


class Row(list):
    """The entries of one row of a repeatable block, with its place (``index`` from 0, ``number`` from 1).

    A *collapsed* row is shown as a one-line summary: its values travel as hidden inputs (so that a save
    of the section posts them unchanged) and its inputs are shown on demand (see ``SectionForm.layout``)."""

    def __init__(self, entries, *, index: int, collapsed: bool = False, hidden=(), summary: str = "", files=(),
                 computed=()):
        super().__init__(entries)
        self.index, self.number, self.collapsed = index, index + 1, collapsed
        self.hidden, self.summary, self.files = list(hidden), summary, list(files)  # files: (label, file name)
        # computed: (html id, label, value shown), kept live in the summary by the autosave's out-of-band outputs
        self.computed = list(computed)


SUMMARY_CHARS = 90


class SectionForm(forms.Form):
    """A section of a schema as a Django form; built by ``build_section_form``."""

    def __init__(self, *args, schema: Schema, section: Section, answers: dict, pending: dict,
                 row_counts: dict, ctx: FormContext, **kwargs):
        super().__init__(*args, **kwargs)
        self.schema, self.section, self.answers, self.pending = schema, section, answers, pending
        self.row_counts, self.ctx = row_counts, ctx
        self.paths: dict[str, tuple[Field, str]] = {}  # html name -> (field, path)
        for f in section.fields:
            if f.type == "repeat":
                for index in range(row_counts[f.key]):
                    for child in f.children:
                        if child.is_input:
                            self._add(child, f"{f.key}.{index}.{child.key}")
            elif f.is_input:
                self._add(f, f.key)

    def _add(self, f: Field, path: str):
        name = html_name(path)
        django = self.fields[name] = django_field(f, self.ctx)
        ident = html_id(path)
        attrs = django.widget.attrs
        attrs["id"] = ident
        attrs["aria-describedby"] = f"{ident}-hint {ident}-messages"
        if isinstance(django.widget, forms.Select):
            attrs["class"] = "fr-select"
        elif isinstance(django.widget, forms.FileInput):
            attrs["class"] = "fr-upload"
        elif not isinstance(django.widget, forms.RadioSelect | forms.CheckboxInput | forms.CheckboxSelectMultiple):
            attrs["class"] = "fr-input"
        if f.type in ("text", "textarea") and f.opt("max_length"):
            attrs["maxlength"] = f.opt("max_length")
        self.paths[name] = (f, path)

    def layout(self, collapse=frozenset()) -> list[Entry]:
        """The entries to render; the rows named in ``collapse`` ((block key, index) pairs) as summaries."""
        entries = []
        for f in self.section.fields:
            if f.type == "repeat":
                rows = []
                stored_rows = self.answers.get(f.key) or []
                for index in range(self.row_counts[f.key]):
                    row_values = stored_rows[index] if index < len(stored_rows) else {}
                    if (f.key, index) in collapse:
                        rows.append(self._collapsed_row(f, index, row_values))
                        continue
                    rows.append(Row([self._entry(c, f"{f.key}.{index}.{c.key}", row_values.get(c.key), row_values)
                                     for c in f.children], index=index))
                entries.append(Entry(field=f, path=f.key, rows=rows,
                                     visible=is_visible(self.schema, f, self.answers)))
            else:
                entries.append(self._entry(f, f.key, self.answers.get(f.key), None))
        return entries

    def _entry(self, f: Field, path: str, value, row) -> Entry:
        name = html_name(path)
        return Entry(field=f, path=path, bound=self[name] if name in self.fields else None, value=value,
                     visible=is_visible(self.schema, f, self.answers, row), pending=path in self.pending)

    def _collapsed_row(self, block: Field, index: int, values: dict) -> Row:
        """A row shown as its summary: no bound fields, only the posted values as (name, value) pairs."""
        hidden, summary, files, computed = [], "", [], []
        for child in block.children:
            if child.type in ("text", "textarea") and not summary and values.get(child.key):
                text = " ".join(str(values[child.key]).split())
                summary = text if len(text) <= SUMMARY_CHARS else text[:SUMMARY_CHARS - 1].rstrip() + "…"
            if child.type == "computed" and is_visible(self.schema, child, self.answers, values):
                shown = format_for_display(child, values.get(child.key)) or "—"
                computed.append((html_id(f"{block.key}.{index}.{child.key}"), child.label, shown))
            if child.type == "file" and isinstance(values.get(child.key), dict) and values[child.key].get("name"):
                files.append((child.label, values[child.key]["name"]))
            name = html_name(f"{block.key}.{index}.{child.key}")
            if child.is_input and child.type != "file" and hasattr(self.data, "getlist"):
                hidden.extend((name, value) for value in self.data.getlist(name))
        return Row([], index=index, collapsed=True, hidden=hidden, summary=summary, files=files, computed=computed)

    def complete_rows(self, missing_paths) -> set[tuple[str, int]]:
        """The stored rows that may be collapsed: nothing missing, refused, pending or in error in them."""
        flagged = set(missing_paths) | set(self.pending) | {self.paths[n][1] for n in self.errors if n in self.paths}
        prefixes = {path.rsplit(".", 1)[0] for path in flagged if path.count(".") == 2}
        complete = set()
        for f in self.section.fields:
            if f.type == "repeat":
                stored = len(self.answers.get(f.key) or [])
                complete.update((f.key, i) for i in range(min(stored, self.row_counts[f.key]))
                                if f"{f.key}.{i}" not in prefixes)
        return complete

    def extract(self):
        """After validation: (values by path, pending raw input by path, uploads by path)."""
        values, pending, uploads = {}, {}, {}
        for name, (f, path) in self.paths.items():
            if name in self.errors:
                if f.type != "file":
                    raw = self.data.getlist(name) if hasattr(self.data, "getlist") else self.data.get(name)
                    pending[path] = raw if isinstance(raw, list) and len(raw) != 1 else (
                        raw[0] if isinstance(raw, list) else raw)
                continue
            cleaned = self.cleaned_data.get(name)
            if f.type == "file":
                if cleaned is not None:
                    uploads[path] = cleaned
                continue
            values[path] = to_answer(f, cleaned)
        return values, pending, uploads


def row_counts_for(section: Section, answers: dict, data=None) -> dict[str, int]:
    counts = {}
    for f in section.fields:
        if f.type != "repeat":
            continue
        stored = len(answers.get(f.key) or [])
        count = stored
        if data is not None and f"{f.key}__rows" in data:
            try:
                count = int(data.get(f"{f.key}__rows"))
            except (TypeError, ValueError):
                count = stored
        count = max(count, f.opt("min_rows", 0), 1 if count == 0 and data is None else 0)
        counts[f.key] = min(count, f.opt("max_rows", 500))
    return counts


def answers_as_data(section: Section, answers: dict, pending: dict, row_counts: dict) -> MultiValueDict:
    """The form data that reproduces stored answers, with pending raw input in place of values."""
    data = MultiValueDict()

    def put(f, path, value):
        name = html_name(path)
        if path in pending:
            raw = pending[path]
            data.setlist(name, raw if isinstance(raw, list) else [raw])
            return
        form_value = to_form_value(f, value)
        if form_value is None:
            return
        data.setlist(name, form_value if isinstance(form_value, list) else [form_value])

    for f in section.fields:
        if f.type == "repeat":
            rows = answers.get(f.key) or []
            data[f"{f.key}__rows"] = str(row_counts[f.key])
            for index in range(row_counts[f.key]):
                row = rows[index] if index < len(rows) else {}
                for child in f.children:
                    if child.is_input:
                        put(child, f"{f.key}.{index}.{child.key}", row.get(child.key))
        elif f.is_input:
            put(f, f.key, answers.get(f.key))
    return data


def build_section_form(schema: Schema, section: Section, answers: dict, pending: dict | None = None,
                       ctx: FormContext | None = None, data=None, files=None) -> SectionForm:
    """A bound form: from the posted data if any, else from the stored answers (so errors show)."""
    pending = pending or {}
    ctx = ctx or FormContext()
    counts = row_counts_for(section, answers, data)
    if data is None:
        data = answers_as_data(section, answers, pending, counts)
    return SectionForm(data, files or MultiValueDict(), schema=schema, section=section, answers=answers,
                       pending=pending, row_counts=counts, ctx=ctx)


def merge_section(section: Section, answers: dict, pending: dict, values: dict, new_pending: dict,
                  row_counts: dict) -> tuple[dict, dict]:
    """Write a section's extracted values into copies of answers and pending."""
    answers, pending = dict(answers), dict(pending)
    prefixes = []
    for f in section.fields:
        if f.type == "repeat":
            old_rows = answers.get(f.key) or []
            rows = []
            for index in range(row_counts[f.key]):
                row = dict(old_rows[index]) if index < len(old_rows) else {}
                for child in f.children:
                    path = f"{f.key}.{index}.{child.key}"
                    if path in values:
                        row[child.key] = values[path]
                rows.append(row)
            answers[f.key] = rows
            prefixes.append(f.key + ".")
        elif f.key in values:
            answers[f.key] = values[f.key]
            pending.pop(f.key, None)
    for path in list(pending):
        if any(path.startswith(p) for p in prefixes):
            del pending[path]
    pending.update(new_pending)
    return answers, pending
