"""The seed procedures as ready-made template calls, and copying a call into a new one.

The YAML files in ``seed_templates/`` each describe one call of the seed documents: metadata
(region INSEE code, year, kind, title, slug, notice, dates in Europe/Paris — a ``closes_at`` given as a
day includes that whole day, as the notices write it —, eligible kinds,
envelope, co-financing rate, required documents, optional extra settings such as
``payment_windows``) and the ``form`` schema (format: docs/form-schema.md).

- ``load_seed_templates()`` creates or updates the template calls (``is_template=True``),
  idempotently by slug; a new ``FormVersion`` is saved only when the schema changed.
- ``copy_call()`` copies a template (or any call) and its latest form into a new call.
- ``shift_template_for_demo()`` makes an open demo call out of a template by moving its dates
  by whole years (and, if needed, whole days).
"""

import copy
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from django.db import transaction

from guichet.core.text import plural
from guichet.establishments.models import Region
from guichet.formschema.schema import SchemaError, parse_schema

from . import deadlines
from .calendar import shift_phases, shift_windows
from .models import Call, CallKind, EligibleKind, FormVersion

PARIS = ZoneInfo("Europe/Paris")
TEMPLATES_DIR = Path(__file__).resolve().parent / "seed_templates"
TEMPLATE_SLUG_PREFIX = "modele-"

_REQUIRED_KEYS = ("slug", "region", "year", "kind", "title", "opens_at", "closes_at", "form")
_DOCUMENT_KEYS = {"label", "part", "optional", "may_come_later"}
# Keys of a template file that are set on the Call; any other key (e.g. ``payment_windows``) is
# set too when Call has a field of that name, and is otherwise kept in ``TemplateFile.extra``.
_CALL_KEYS = {"slug", "region", "year", "kind", "title", "notice", "opens_at", "closes_at", "eligible_kinds",
              "envelope", "cofinancing_rate", "required_documents", "contact_email", "form"}


class TemplateError(ValueError):
    """A seed template file is malformed (messages in French)."""


@dataclass
class TemplateFile:
    path: Path
    slug: str
    values: dict  # Call field values, region as a Region
    schema: dict
    extra: dict  # other metadata, e.g. payment_windows


@dataclass
class LoadReport:
    """What ``load_seed_templates`` did for one template (also set on the call as ``load_report``)."""

    slug: str
    created: bool
    updated_fields: list[str]
    form_version: int
    new_form_version: bool

    def describe(self) -> str:
        if self.created:
            what = "créé"
        elif self.updated_fields:
            what = "mis à jour (" + ", ".join(self.updated_fields) + ")"
        else:
            what = "inchangé"
        form = f"nouvelle version {self.form_version} du formulaire" if self.new_form_version else (
            f"formulaire inchangé (version {self.form_version})")
        return f"{self.slug} : {what} ; {form}"


def template_paths() -> list[Path]:
    return sorted(TEMPLATES_DIR.glob("*.yaml"))


def parse_datetime(value, where: str, *, deadline: bool = False) -> dt.datetime:
    """An ISO date-time (Europe/Paris wall-clock time without an offset), or an ISO date: the start of that
    day, or for a ``deadline`` that whole day included, as the notices write it (``deadlines.closing_instant``)."""
    if isinstance(value, dt.datetime):
        result = value
    elif isinstance(value, dt.date):
        result = value
    else:
        text = str(value).strip()
        try:
            result = dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
        except ValueError:
            raise TemplateError(f"{where} : date « {value} » invalide (format AAAA-MM-JJ pour un jour, "
                                "AAAA-MM-JJTHH:MM:SS pour un instant précis)") from None
    if not isinstance(result, dt.datetime):
        return deadlines.closing_instant(result) if deadline else dt.datetime.combine(result, dt.time(), tzinfo=PARIS)
    return result.replace(tzinfo=PARIS) if result.tzinfo is None else result


def read_template_file(path: Path) -> TemplateFile:
    """Read and check one template file; the form schema is validated with ``parse_schema``
    (which raises ``SchemaError``)."""
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    name = path.name
    if not isinstance(data, dict):
        raise TemplateError(f"{name} : le fichier doit décrire un objet")
    missing = [k for k in _REQUIRED_KEYS if data.get(k) in (None, "")]
    if missing:
        raise TemplateError(f"{name} : {plural(len(missing), 'clé manquante')} : {', '.join(missing)}")
    if data["kind"] not in CallKind.values:
        raise TemplateError(f"{name} : nature « {data['kind']} » inconnue ({', '.join(CallKind.values)})")
    kinds = data.get("eligible_kinds") or []
    unknown = [k for k in kinds if k not in EligibleKind.values]
    if unknown:
        kinds_text = f"{plural(len(unknown), 'type')} d'établissement {plural(len(unknown), 'inconnu')}"
        raise TemplateError(f"{name} : {kinds_text} : {', '.join(map(str, unknown))}")
    documents = data.get("required_documents") or []
    for doc in documents:
        if not isinstance(doc, dict) or set(doc) != _DOCUMENT_KEYS:
            raise TemplateError(f"{name} : chaque pièce demandée a exactement les clés {sorted(_DOCUMENT_KEYS)}")
    region = Region.objects.filter(code=str(data["region"])).first()
    if region is None:
        raise TemplateError(f"{name} : région de code INSEE « {data['region']} » inconnue")
    opens_at = parse_datetime(data["opens_at"], name)
    closes_at = parse_datetime(data["closes_at"], name, deadline=True)
    if closes_at <= opens_at:
        raise TemplateError(f"{name} : la clôture doit suivre l'ouverture")
    try:
        parse_schema(data["form"])
    except SchemaError as exc:
        raise SchemaError([f"{name} : {message}" for message in exc.messages]) from exc
    values = {
        "region": region,
        "year": int(data["year"]),
        "kind": data["kind"],
        "title": str(data["title"]),
        "notice": str(data.get("notice") or "").strip(),
        "opens_at": opens_at,
        "closes_at": closes_at,
        "eligible_kinds": list(kinds),
        "envelope": None if data.get("envelope") is None else Decimal(str(data["envelope"])),
        "cofinancing_rate": Decimal(str(data.get("cofinancing_rate", 50))),
        "required_documents": documents,
        "contact_email": str(data.get("contact_email") or ""),
    }
    extra = {k: v for k, v in data.items() if k not in _CALL_KEYS}
    call_fields = {f.name for f in Call._meta.concrete_fields}
    for key in list(extra):
        if key in call_fields:
            values[key] = extra.pop(key)
    return TemplateFile(path=path, slug=str(data["slug"]), values=values, schema=data["form"], extra=extra)


def template_metadata(slug: str) -> dict:
    """Extra metadata of a seed template not stored on Call (e.g. ``payment_windows``)."""
    for path in template_paths():
        tpl = read_template_file(path)
        if tpl.slug == slug:
            return tpl.extra
    return {}


def _same(a, b) -> bool:
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return a is not None and b is not None and Decimal(a) == Decimal(b)
    return a == b


def _save_form(call: Call, schema: dict, user=None) -> tuple[FormVersion, bool]:
    """Save ``schema`` as the call's new form version unless it equals the latest one."""
    current = call.current_form
    if current is not None and current.schema == schema:
        return current, False
    number = (current.number if current else 0) + 1
    version = FormVersion.objects.create(call=call, number=number, schema=copy.deepcopy(schema), created_by=user)
    return version, True


@transaction.atomic
def load_seed_templates() -> list[Call]:
    """Create or update the template calls from ``seed_templates/*.yaml``. Idempotent."""
    calls = []
    for path in template_paths():
        tpl = read_template_file(path)
        call = Call.objects.filter(slug=tpl.slug).first()
        created = call is None
        updated = []
        if created:
            call = Call.objects.create(slug=tpl.slug, is_template=True, **tpl.values)
        else:
            for name, value in {**tpl.values, "is_template": True}.items():
                if not _same(getattr(call, name), value):
                    setattr(call, name, value)
                    updated.append(name)
            if updated:
                call.save(update_fields=updated)
        version, new_version = _save_form(call, tpl.schema)
        call.load_report = LoadReport(slug=tpl.slug, created=created, updated_fields=updated,
                                      form_version=version.number, new_form_version=new_version)
        calls.append(call)
    return calls


def _region(region) -> Region:
    if isinstance(region, Region):
        return region
    return Region.objects.get(code=str(region))


@transaction.atomic
def copy_call(template: Call, *, region, title, slug, opens_at, closes_at, year=None, user=None) -> Call:
    """A new, non-template call with the settings of ``template`` and a copy of its latest form.

    ``region`` is a Region or its INSEE code. Raises ``ValueError`` (French message) when the slug
    is taken or the dates are inconsistent.
    """
    if Call.objects.filter(slug=slug).exists():
        raise ValueError(f"L'identifiant d'adresse « {slug} » est déjà utilisé par un autre appel.")
    if closes_at <= opens_at:
        raise ValueError("La date de clôture doit être postérieure à la date d'ouverture.")
    call = Call.objects.create(
        region=_region(region),
        year=year if year is not None else template.year,
        kind=template.kind,
        title=title,
        slug=slug,
        notice=template.notice,
        opens_at=opens_at,
        closes_at=closes_at,
        eligible_kinds=list(template.eligible_kinds or []),
        envelope=template.envelope,
        cofinancing_rate=template.cofinancing_rate,
        required_documents=copy.deepcopy(template.required_documents or []),
        contact_email=template.contact_email,
        is_template=False,
        **_extra_field_values(template),
    )
    form = template.current_form
    if form is not None:
        FormVersion.objects.create(call=call, number=1, schema=copy.deepcopy(form.schema), created_by=user)
    return call


def _extra_field_values(template: Call) -> dict:
    """Fields Call may have gained beyond those copied explicitly (e.g. payment windows)."""
    handled = {"id", "region", "year", "kind", "title", "slug", "notice", "opens_at", "closes_at",
               "eligible_kinds", "envelope", "cofinancing_rate", "required_documents", "contact_email",
               "is_template", "published", "created_at"}
    return {f.attname: copy.deepcopy(getattr(template, f.attname))
            for f in Call._meta.concrete_fields if f.name not in handled and not f.primary_key}


# --- demo calls -------------------------------------------------------------------------------

def _add_years(moment: dt.datetime, years: int) -> dt.datetime:
    """Same Paris wall-clock time ``years`` later (29 February becomes 28 February)."""
    local = moment.astimezone(PARIS)
    try:
        shifted = local.replace(year=local.year + years, tzinfo=None)
    except ValueError:
        shifted = local.replace(year=local.year + years, day=28, tzinfo=None)
    return shifted.replace(tzinfo=PARIS)


def _add_days(moment: dt.datetime, days: int) -> dt.datetime:
    """Same Paris wall-clock time ``days`` later (across daylight-saving changes)."""
    local = moment.astimezone(PARIS).replace(tzinfo=None)
    return (local + dt.timedelta(days=days)).replace(tzinfo=PARIS)


def _wall(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(PARIS).replace(tzinfo=None)


def _wall_days(later: dt.datetime, earlier: dt.datetime) -> float:
    return (_wall(later) - _wall(earlier)) / dt.timedelta(days=1)


def shifted_dates(opens_at: dt.datetime, closes_at: dt.datetime, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """Move the deadline by whole years, then if needed by whole days, so that ``now`` falls within
    the period with a reasonable time left to run. The deadline keeps its Paris time of day and the
    period its wall-clock duration (so across a 29 February the opening may move by one day)."""
    duration = _wall(closes_at) - _wall(opens_at)

    def period(closes: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        return (_wall(closes) - duration).replace(tzinfo=PARIS), closes

    years = now.astimezone(PARIS).year - closes_at.astimezone(PARIS).year - 1
    while _add_years(closes_at, years) <= now:
        years += 1
    opens, closes = period(_add_years(closes_at, years))
    days_total = duration / dt.timedelta(days=1)
    if opens <= now and _wall_days(closes, now) >= min(7, days_total / 2):
        return opens, closes
    # Move by whole days so that about half of the period is left to run.
    ideal = round(_wall_days(now, closes) + days_total / 2)
    for days in (ideal, ideal + 1, ideal - 1):
        new_opens, new_closes = period(_add_days(closes, days))
        if new_opens <= now < new_closes:
            return new_opens, new_closes
    raise ValueError("Impossible de décaler cet appel pour qu'il soit ouvert aujourd'hui (durée trop courte).")


def demo_slug(template: Call) -> str:
    slug = template.slug
    return slug[len(TEMPLATE_SLUG_PREFIX):] if slug.startswith(TEMPLATE_SLUG_PREFIX) else f"{slug}-demo"


@transaction.atomic
def shift_template_for_demo(template: Call, now: dt.datetime) -> Call:
    """A demo call open at ``now``: the template's settings and form, dates shifted by whole years
    (and days if needed). Its slug is the template's without « modele- ». Running it again updates
    that call's dates (and saves a new form version if the template's form changed)."""
    opens_at, closes_at = shifted_dates(template.opens_at, template.closes_at, now)
    slug = demo_slug(template)
    existing = Call.objects.filter(slug=slug).first()
    # The calendar and the payment windows move with the deadline.
    phases = shift_phases(template.phases, closes_at - template.closes_at)
    moved_days = closes_at.astimezone(PARIS).date() - template.closes_at.astimezone(PARIS).date()  # whole days
    windows = shift_windows(template.payment_windows, moved_days)
    if existing is None:
        call = copy_call(template, region=template.region, title=template.title, slug=slug,
                         opens_at=opens_at, closes_at=closes_at, year=template.year)
        Call.objects.filter(pk=call.pk).update(phases=phases, payment_windows=windows)
        call.phases, call.payment_windows = phases, windows
        return call
    if existing.is_template:
        raise ValueError(f"L'identifiant « {slug} » est celui d'un modèle.")
    existing.opens_at, existing.closes_at, existing.published, existing.phases = opens_at, closes_at, True, phases
    existing.payment_windows, existing.covered_years = windows, list(template.covered_years or [])
    existing.save(update_fields=["opens_at", "closes_at", "published", "phases", "payment_windows",
                                 "covered_years"])
    if template.current_form is not None:
        _save_form(existing, template.current_form.schema)
    return existing
