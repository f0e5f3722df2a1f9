"""Forms of the ARS administrator's call management (admin site).

- ``CallAdminForm``: a call's settings and its form schema, typed as JSON or YAML. The schema is
  validated with ``parse_schema``; every message of ``SchemaError`` is shown at the field and the
  typed text is kept. Required documents and payment windows are JSON/YAML lists checked for shape.
- ``CopyCallForm``: copying a template (or any call) into a new call.

Dates and times are typed and shown in Europe/Paris (the site's ``TIME_ZONE``).
"""

import datetime as dt
import json
import re

import yaml
from django import forms
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import ValidationError

from guichet.core.ids import is_ascii_number
from guichet.core.text import plural
from guichet.establishments.models import Region
from guichet.formschema.schema import SchemaError, parse_schema

from . import deadlines
from .models import Call, EligibleKind

SCHEMA_LABEL = "Formulaire (JSON ou YAML)"
DATES_ORDER_MESSAGE = "La date de clôture doit être postérieure à la date d'ouverture."
MISSING_DAY = "Indiquez le dernier jour de dépôt."

# A starting point for a call created from scratch (most calls are copied from a template).
STARTER_SCHEMA = {
    "sections": [
        {
            "key": "identification",
            "title": "1. Identification du demandeur",
            "fields": [
                {"key": "raison_sociale", "type": "text", "label": "Raison sociale", "required": True},
            ],
        }
    ]
}

# What PyYAML reports, in French (its messages are in English).
_YAML_PROBLEMS = [
    ("cannot start any token", "caractère interdit à cet endroit (une tabulation ? indentez avec des espaces)"),
    ("mapping values are not allowed", "« : » inattendu (une valeur contenant « : » doit être entre guillemets)"),
    ("could not find expected ':'", "« : » attendu après une clé"),
    ("expected <block end>", "indentation incohérente"),
    ("did not find expected key", "indentation incohérente ou clé attendue"),
    ("did not find expected '-' indicator", "« - » attendu (élément de liste)"),
    ("found unexpected end of stream", "fin du texte inattendue (guillemet ou crochet non fermé ?)"),
    ("did not find expected ',' or ']'", "« , » ou « ] » attendu (crochet non fermé ?)"),
    ("did not find expected ',' or '}'", "« , » ou « } » attendu (accolade non fermée ?)"),
    ("found undefined alias", "alias YAML (« * ») inconnu"),
    ("found duplicate anchor", "ancre YAML (« & ») en double"),
]


def _yaml_message(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f", ligne {mark.line + 1}, colonne {mark.column + 1}" if mark is not None else ""
    problem = str(getattr(exc, "problem", "") or "")
    detail = next((french for english, french in _YAML_PROBLEMS if english in problem), "syntaxe incorrecte")
    return f"Texte JSON ou YAML illisible{where} : {detail}."


def _plain(value):
    """YAML values as JSON ones: dates become ISO strings, keys strings."""
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def load_structured_text(text: str):
    """JSON or YAML text as plain JSON data; ``ValidationError`` (French) when unreadable."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationError(_yaml_message(exc), code="syntax") from None
    try:
        return json.loads(json.dumps(_plain(data)))
    except (TypeError, ValueError):
        raise ValidationError("Le texte contient des valeurs qui ne sont pas permises en JSON.",
                              code="syntax") from None


def dump_yaml(data) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=110)


def schema_text(schema) -> str:
    """A stored schema as the YAML shown to administrators."""
    return dump_yaml(schema) if schema else ""


def check_dates_order(form, cleaned: dict) -> None:
    """A call closes after it opens; the message goes to the closing date."""
    opens_at, closes_at = cleaned.get("opens_at"), cleaned.get("closes_at")
    if opens_at and closes_at and closes_at <= opens_at:
        form.add_error("closes_at", DATES_ORDER_MESSAGE)


# --- The filing deadline: a day (included), or a day and a time ---------------------------------------

class DeadlineWidget(forms.MultiWidget):
    """The last day of filing and, only for a deadline in the course of a day, its time (browser pickers)."""

    def __init__(self, attrs=None):
        super().__init__([forms.DateInput(attrs={"type": "date", "aria-label": "Dernier jour de dépôt"},
                                          format="%Y-%m-%d"),
                          forms.TimeInput(attrs={"type": "time", "step": "1",
                                                 "aria-label": "Heure de clôture (facultative)"},
                                          format="%H:%M:%S")], attrs)

    def decompress(self, value):
        return list(deadlines.split(value)) if value else [None, None]


class AdminDeadlineWidget(AdminSplitDateTime):
    """The admin's split date and time, read as a deadline: an empty time includes the whole day."""

    def decompress(self, value):
        return list(deadlines.split(value)) if value else [None, None]

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["date_label"], context["time_label"] = "Dernier jour :", "Heure (facultative) :"
        return context


class DeadlineField(forms.MultiValueField):
    """A closing instant typed as the last day of filing (included) and an optional time (excluded from
    then on); ``deadlines.join`` makes the instant."""

    widget = DeadlineWidget

    def __init__(self, **kwargs):
        kwargs.setdefault("label", "Date limite de dépôt (heure de Paris)")
        kwargs.setdefault("help_text", deadlines.HELP_TEXT)
        kwargs.setdefault("error_messages", {"required": MISSING_DAY, "incomplete": MISSING_DAY})
        fields = (forms.DateField(error_messages={"invalid": "Saisissez un jour valide (JJ/MM/AAAA).",
                                                  "incomplete": MISSING_DAY}),
                  forms.TimeField(required=False,
                                  error_messages={"invalid": "Saisissez une heure valide (HH:MM ou HH:MM:SS)."}))
        super().__init__(fields, require_all_fields=False, **kwargs)

    def compress(self, data_list):
        if not data_list or not data_list[0]:
            if self.required:
                raise ValidationError(MISSING_DAY, code="required")
            return None
        day, time = data_list[0], data_list[1] if len(data_list) > 1 else None
        try:
            return deadlines.join(day, time)
        except deadlines.UnclearTime as exc:
            raise ValidationError(str(exc), code="unclear_time") from None


class SchemaTextField(forms.CharField):
    """A form schema typed as JSON or YAML; cleaned to the schema (a dict) validated by ``parse_schema``."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", SCHEMA_LABEL)
        kwargs.setdefault("strip", False)
        kwargs.setdefault("widget", forms.Textarea(attrs={
            "rows": 30, "class": "vLargeTextField guichet-code", "spellcheck": "false",  # guichet/admin.css
        }))
        kwargs.setdefault("help_text", "Format décrit dans la documentation du schéma de formulaire. "
                                       "Chaque modification enregistrée crée une nouvelle version ; "
                                       "un dossier garde la version sur laquelle il a été commencé.")
        super().__init__(**kwargs)

    def clean(self, value):
        text = super().clean(value)
        if not text or not text.strip():
            raise ValidationError("Le formulaire est obligatoire.", code="required")
        data = load_structured_text(text)
        try:
            parse_schema(data)
        except SchemaError as exc:
            raise ValidationError(list(exc.messages), code="schema") from None
        return data


# --- Lists of required documents and payment windows --------------------------------------------

DOCUMENT_KEYS = ("label", "part", "optional", "may_come_later")
WINDOW_KEYS = ("label", "received_from", "received_until", "paid_by")


def _check_items(data, keys, what) -> list[dict]:
    if data is None:
        return []
    if not isinstance(data, list):
        raise ValidationError(f"Saisissez une liste de {what} (une ligne commençant par « - » par élément).",
                              code="shape")
    for index, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            raise ValidationError(f"Élément n° {index} : un objet avec les clés {', '.join(keys)} est attendu.",
                                  code="shape")
    return data


def _flag(item, key, where, errors):
    value = item.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        errors.append(f"{where} : « {key} » vaut true ou false.")
        return False
    return value


def _label(item, where, errors) -> str:
    label = item.get("label")
    if not isinstance(label, str) or not label.strip():
        errors.append(f"{where} : « label » (le libellé) est obligatoire.")
        return ""
    return label.strip()


def _unknown_keys(item, keys, where, errors):
    unknown = [str(k) for k in item if k not in keys]
    if unknown:
        errors.append(f"{where} : {plural(len(unknown), 'clé inconnue')} {', '.join(unknown)} "
                      f"(clés permises : {', '.join(keys)}).")


def clean_required_documents(data) -> list[dict]:
    """A list of ``{label, part, optional, may_come_later}``; ``part`` is the form's part number (or null)."""
    errors, result = [], []
    for index, item in enumerate(_check_items(data, DOCUMENT_KEYS, "pièces"), start=1):
        where = f"Pièce n° {index}"
        _unknown_keys(item, DOCUMENT_KEYS, where, errors)
        part = item.get("part")
        if part is not None and (isinstance(part, bool) or not isinstance(part, int) or part < 1):
            errors.append(f"{where} : « part » est le numéro de la partie du formulaire (entier à partir de 1) "
                          "ou null.")
        result.append({"label": _label(item, where, errors), "part": part,
                       "optional": _flag(item, "optional", where, errors),
                       "may_come_later": _flag(item, "may_come_later", where, errors)})
    if errors:
        raise ValidationError(errors, code="shape")
    return result


def _date(item, key, where, errors, required=False) -> str | None:
    value = item.get(key)
    if value in (None, ""):
        if required:
            errors.append(f"{where} : « {key} » (date au format AAAA-MM-JJ) est obligatoire.")
        return None
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        errors.append(f"{where} : « {key} » : date « {value} » invalide (format AAAA-MM-JJ).")
        return None


def parse_years(raw) -> list[int]:
    """« 2020, 2021 2022 » → [2020, 2021, 2022]; a list is accepted as is. French message when a year is wrong."""
    if isinstance(raw, list):
        items = raw
    else:
        items = [part for part in re.split(r"[\s,;]+", str(raw or "").strip("[] ")) if part]
    years = []
    for item in items:
        text = str(item).strip()
        if not is_ascii_number(text) or len(text) != 4 or not 2000 <= int(text) <= 2100:
            raise ValidationError(f"« {text} » n'est pas une année (par exemple 2024).")
        years.append(int(text))
    return sorted(set(years))


def clean_payment_windows(data) -> list[dict]:
    """A list of ``{label, received_from, received_until, paid_by}`` (ISO dates; the first two may be null)."""
    errors, result = [], []
    for index, item in enumerate(_check_items(data, WINDOW_KEYS, "fenêtres de versement"), start=1):
        where = f"Fenêtre n° {index}"
        _unknown_keys(item, WINDOW_KEYS, where, errors)
        window = {
            "label": _label(item, where, errors),
            "received_from": _date(item, "received_from", where, errors),
            "received_until": _date(item, "received_until", where, errors),
            "paid_by": _date(item, "paid_by", where, errors, required=True),
        }
        if window["received_from"] and window["received_until"] and window["received_from"] > window["received_until"]:
            errors.append(f"{where} : « received_from » doit précéder « received_until ».")
        result.append(window)
    if errors:
        raise ValidationError(errors, code="shape")
    return result


class StructuredListField(forms.CharField):
    """A list of objects typed as JSON or YAML and checked by ``shape`` (which returns the clean list)."""

    def __init__(self, *, shape, example="", **kwargs):
        self.shape = shape
        kwargs.setdefault("required", False)
        kwargs.setdefault("strip", False)
        kwargs.setdefault("widget", forms.Textarea(attrs={
            "rows": 10, "class": "vLargeTextField guichet-code", "spellcheck": "false",  # guichet/admin.css
            "placeholder": example,
        }))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, str):
            return value
        if not value:
            return ""
        return dump_yaml(value)

    def clean(self, value):
        text = super().clean(value)
        if not text or not text.strip():
            return []
        return self.shape(load_structured_text(text))

    def has_changed(self, initial, data):
        try:
            return self.clean(data) != (initial or [])
        except ValidationError:
            return True


DOCUMENTS_EXAMPLE = """- label: "Dernier bilan social disponible"
  part: 2
  optional: false
  may_come_later: false"""
WINDOWS_EXAMPLE = """- label: "Versement à la fin du 1er semestre"
  received_from: null
  received_until: "2025-05-31"
  paid_by: "2025-06-30\""""


class CallAdminForm(forms.ModelForm):
    eligible_kinds = forms.MultipleChoiceField(
        label="Établissements éligibles", choices=EligibleKind.choices, required=False,
        widget=forms.CheckboxSelectMultiple, help_text="Aucune case cochée : tous les établissements sont éligibles.",
    )
    required_documents = StructuredListField(
        label="Pièces demandées (JSON ou YAML)", shape=clean_required_documents, example=DOCUMENTS_EXAMPLE,
        help_text="Une liste ; pour chaque pièce : label (libellé), part (numéro de la partie du formulaire, "
                  "ou null), optional (facultative : true / false), may_come_later (peut être transmise plus "
                  "tard : true / false).",
    )
    payment_windows = StructuredListField(
        label="Fenêtres de versement (JSON ou YAML)", shape=clean_payment_windows, example=WINDOWS_EXAMPLE,
        help_text="Appels « justificatifs » : une liste ; pour chaque fenêtre : label (libellé), received_from et "
                  "received_until (justificatifs reçus entre ces dates, AAAA-MM-JJ, null si sans limite), "
                  "paid_by (versement au plus tard le).",
    )
    covered_years = forms.CharField(
        label="Appels à projets couverts (années)", required=False, max_length=500,
        help_text="Appels « justificatifs » : les années des appels à projets dont les subventions sont versées, "
                  "séparées par des virgules (par exemple 2020, 2021, 2022, 2024).")
    closes_at = DeadlineField(widget=AdminDeadlineWidget)
    form_schema = SchemaTextField()

    class Meta:
        model = Call
        fields = ("title", "slug", "region", "year", "kind", "published", "is_template", "opens_at", "closes_at",
                  "eligible_kinds", "envelope", "cofinancing_rate", "contact_email", "notice", "required_documents",
                  "payment_windows", "covered_years")
        labels = {"opens_at": "Ouverture (heure de Paris)"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "form_schema" in self.fields:
            current = self.instance.current_form if self.instance.pk else None
            text = schema_text(current.schema) if current else dump_yaml(STARTER_SCHEMA)
            self.initial.setdefault("form_schema", text)
        if "covered_years" in self.fields:
            self.initial["covered_years"] = ", ".join(str(y) for y in (self.instance.covered_years or []))

    def clean(self):
        cleaned = super().clean()
        check_dates_order(self, cleaned)
        return cleaned

    def clean_covered_years(self):
        return parse_years(self.cleaned_data.get("covered_years"))


# --- Copying a call ---------------------------------------------------------------------------------

class ParisDateTimeField(forms.DateTimeField):
    """A date-time typed in Europe/Paris (the current time zone) with the browser's date-time picker."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def __init__(self, **kwargs):
        kwargs.setdefault("input_formats", ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y %H:%M",
                                            "%d/%m/%Y %H:%M:%S"])
        super().__init__(**kwargs)


class CopyCallForm(forms.Form):
    region = forms.ModelChoiceField(label="Région", queryset=Region.objects.all(), empty_label=None)
    title = forms.CharField(label="Titre", max_length=255,
                            widget=forms.TextInput(attrs={"class": "vTextField", "size": 80}))
    slug = forms.SlugField(label="Identifiant d'adresse", max_length=120,
                           help_text="Lettres minuscules, chiffres et tirets ; l'adresse publique de l'appel.")
    year = forms.IntegerField(label="Année", min_value=2000, max_value=2100)
    opens_at = ParisDateTimeField(label="Ouverture (heure de Paris)")
    closes_at = DeadlineField()
    published = forms.BooleanField(label="Publier l'appel dès maintenant", required=False,
                                   help_text="Vous pourrez le publier plus tard, après avoir relu ses réglages "
                                             "et son formulaire.")

    def __init__(self, *args, regions=None, **kwargs):
        super().__init__(*args, **kwargs)
        if regions is not None:
            self.fields["region"].queryset = regions

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        if Call.objects.filter(slug=slug).exists():
            raise ValidationError(f"L'identifiant d'adresse « {slug} » est déjà utilisé par un autre appel.")
        return slug

    def clean(self):
        cleaned = super().clean()
        check_dates_order(self, cleaned)
        return cleaned
