"""The figures of the follow-up: what a call, a region or the whole country received, decided, granted and paid.

Three scopes (``for_call``, ``for_region``, ``for_country``), each a set of dossiers, grants and arbitrated
action lines; every figure is a pure function of a scope returning a ``Figure`` — a title, the series' names
and units, and rows of (label, values) — that the statistics pages, their CSV / XLSX / SVG downloads,
the « Bilan de l'appel » PDF (``bilan``), the public page of a call (``public``) and the API all read the same way.

What counts:
- dossiers: the filed ones (never drafts: ARS staff never see them) of application calls (a proofs call's
  dossiers are proofs, counted by ``proofs_progress``), templates excluded; at call level, the call's own;
- money: ``Decimal`` euros; requested = the requested amount the instruction index reads from the answers;
  proposed = the instruction's proposals on the action lines the commission committed
  (``commission.arbitration.NOT_COMMITTED`` left out); granted = the grants' totals (imported grants
  included at region and national levels); paid, scheduled, remaining = ``funding.balances`` (paid before the
  platform included), never re-derived here;
- processing time: from the first filing to the decision of the decided dossiers, in days. The median, and
  the 9th decile, that the generic platform calls « temps habituel de traitement »: 9 dossiers in 10 were
  decided within it. Nearest-rank 9th decile (the value of rank ⌈0.9 n⌉); median of an even count = mean of
  the two middle values. Both read by an ORDER BY … OFFSET on the database: three queries, nothing held;
- per week: weeks start on Monday, Europe/Paris, and the weeks without a dossier are shown as zeros.

Bounded cost: every figure is one to four GROUP BY queries whatever the number of dossiers, except the
actions by theme, which reads the answers of the scope's dossiers in one streamed query (the themes of each
action live in the repeatable block's rows of the JSON answers; ``BATCH`` rows in memory at once) — its
number of queries is fixed too. At national level the figures carry no name (no establishment, no person,
no GHT name): GHT membership is « membre d'un GHT » or not, and the per-region figure names regions only.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone

from guichet.calls.models import Call, CallKind, FormVersion
from guichet.commission.arbitration import NOT_COMMITTED
from guichet.commission.models import ActionLine
from guichet.dossiers.models import Dossier, State
from guichet.establishments.models import LegalStatus, Region, Sector
from guichet.formschema import qvct
from guichet.funding import balances
from guichet.funding.models import Grant, GrantStatus, Payment, PaymentStatus

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
BATCH = 1000
MAX_CHARTED_WEEKS = 60  # beyond (a region over several years), the weeks are a table only
DECIDED = (State.ACCEPTE, State.REFUSE, State.SANS_SUITE)
FILED_STATES = [s for s, _ in State.choices if s != State.BROUILLON]

# Units of a series: how its values are written (pages, files) and whether they share a chart.
COUNT, EUROS, DAYS, PERCENT = "count", "euros", "days", "percent"

CALL, REGION, COUNTRY = "call", "region", "country"


@dataclass(frozen=True)
class Row:
    label: str
    values: tuple  # one per series: int counts, Decimal euros / days / percents (None: not applicable)
    key: str = ""  # a stable code (state, sector, theme code, ISO week, year…), "" when the label is the key


@dataclass(frozen=True)
class Figure:
    key: str  # stable identifier, in URLs and file names
    title: str
    label_header: str  # the header of the labels' column
    series: tuple[str, ...]
    units: tuple[str, ...]
    rows: tuple[Row, ...]
    note: str = ""  # how it is counted, in French, shown under the chart
    charted: tuple[int, ...] = (0,)  # the series drawn (of one unit); () for a table only

    @property
    def is_empty(self) -> bool:
        return not self.rows or all(not any(v for v in r.values if v is not None) for r in self.rows)

    def total(self, index: int = 0):
        return sum((r.values[index] or 0 for r in self.rows), ZERO if self.units[index] != COUNT else 0)


@dataclass(frozen=True)
class ProcessingTime:
    decided: int  # dossiers decided with both dates known
    median_days: Decimal | None
    usual_days: Decimal | None  # the 9th decile: « temps habituel de traitement »


@dataclass(frozen=True)
class Scope:
    """What the figures are computed on. Build it with ``for_call``, ``for_region`` or ``for_country``."""

    level: str  # CALL, REGION or COUNTRY
    title: str
    call: Call | None = None
    region: Region | None = None
    # What several figures share, computed once per scope (the grants' balances).
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    def balances(self):
        """``funding.balances.for_queryset`` of the scope's grants: (by grant, by action), computed once."""
        if "balances" not in self._cache:
            self._cache["balances"] = balances.for_queryset(self.grants())
        return self._cache["balances"]

    def dossiers(self):
        """The filed dossiers of the scope's application calls."""
        qs = Dossier.objects.exclude(state=State.BROUILLON)
        if self.level == CALL:
            return qs.filter(call_id=self.call.pk)
        qs = qs.filter(call__kind=CallKind.APPLICATION, call__is_template=False)
        return qs.filter(call__region_id=self.region.pk) if self.level == REGION else qs

    def grants(self):
        if self.level == CALL:
            return Grant.objects.filter(call_id=self.call.pk)
        return Grant.objects.filter(region_id=self.region.pk) if self.level == REGION else Grant.objects.all()

    def calls(self):
        if self.level == CALL:
            return Call.objects.filter(pk=self.call.pk)
        qs = Call.objects.calls().filter(kind=CallKind.APPLICATION)
        return qs.filter(region_id=self.region.pk) if self.level == REGION else qs

    def committed_lines(self):
        """The action lines the commission committed (``commission.arbitration.committed_lines``, any scope)."""
        qs = ActionLine.objects.exclude(item__decision__in=NOT_COMMITTED)
        if self.level == CALL:
            return qs.filter(item__session__call_id=self.call.pk)
        return qs.filter(item__session__call__region_id=self.region.pk) if self.level == REGION else qs

    @property
    def named(self) -> bool:
        """Whether figures may name organisations (GHT): never at national level."""
        return self.level != COUNTRY


def for_call(call: Call) -> Scope:
    return Scope(CALL, call.title, call=call, region=call.region)


def for_region(region: Region) -> Scope:
    return Scope(REGION, region.ars_name, region=region)


def for_country() -> Scope:
    return Scope(COUNTRY, "France entière")


# --- helpers ----------------------------------------------------------------------------------------

def _money(value) -> Decimal:
    return ZERO if value is None else Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _percent(part, whole) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _days(delta: dt.timedelta) -> Decimal:
    return (Decimal(delta.total_seconds()) / 86400).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _counts(qs, field_name) -> dict:
    return dict(qs.order_by().values_list(field_name).annotate(n=Count("pk")).values_list(field_name, "n"))


# --- dossiers ---------------------------------------------------------------------------------------

def dossiers_by_state(scope: Scope) -> Figure:
    counts = _counts(scope.dossiers(), "state")
    rows = tuple(Row(label, (counts.get(code, 0),), code) for code, label in State.choices if code in FILED_STATES)
    return Figure("etats", "Dossiers déposés par état", "État", ("Dossiers",), (COUNT,), rows,
                  note="Dossiers déposés (les brouillons ne sont pas comptés), dans leur état d'aujourd'hui.")


def _monday(value) -> dt.date:
    day = timezone.localtime(value).date() if isinstance(value, dt.datetime) else value
    return day - dt.timedelta(days=day.weekday())


def filed_and_decided_per_week(scope: Scope) -> Figure:
    tz = timezone.get_current_timezone()
    qs = scope.dossiers().order_by()
    filed = {_monday(w): n for w, n in qs.annotate(w=TruncWeek("first_filed_at", tzinfo=tz))
             .values_list("w").annotate(n=Count("pk")).values_list("w", "n") if w is not None}
    decided = {_monday(w): n for w, n in qs.filter(state__in=DECIDED)
               .annotate(w=TruncWeek("decided_at", tzinfo=tz))
               .values_list("w").annotate(n=Count("pk")).values_list("w", "n") if w is not None}
    weeks = sorted(set(filed) | set(decided))
    rows = []
    if weeks:
        week = weeks[0]
        while week <= weeks[-1]:
            rows.append(Row(f"semaine du {week:%d/%m/%Y}", (filed.get(week, 0), decided.get(week, 0)),
                            week.isoformat()))
            week += dt.timedelta(days=7)
    note = "Par semaine (du lundi au dimanche, heure de Paris) du premier dépôt et de la décision."
    if len(rows) > MAX_CHARTED_WEEKS:
        note += f" {len(rows)} semaines : trop pour un graphique lisible, les chiffres sont dans le tableau."
    return Figure("semaines", "Dossiers déposés et décidés par semaine", "Semaine", ("Déposés", "Décidés"),
                  (COUNT, COUNT), tuple(rows), charted=(0, 1) if len(rows) <= MAX_CHARTED_WEEKS else (), note=note)


DIMENSIONS = {
    # key: (title, header, field, labels or None, note)
    "secteurs": ("Dossiers par secteur", "Secteur", "establishment__sector", dict(Sector.choices), ""),
    "statuts": ("Dossiers par statut juridique", "Statut juridique", "establishment__legal_status",
                dict(LegalStatus.choices), ""),
    "categories": ("Dossiers par catégorie d'établissement", "Catégorie", "establishment__category", None, ""),
    "departements": ("Dossiers par département", "Département", "establishment__department", None, ""),
}
UNKNOWN = "Non renseigné"


def dossiers_by(scope: Scope, dimension: str) -> Figure:
    """Dossiers by a property of the porteur establishment: ``secteurs``, ``statuts``, ``categories``,
    ``departements`` (see ``DIMENSIONS``), or ``ght`` (``by_ght_membership``)."""
    if dimension == "ght":
        return by_ght_membership(scope)
    title, header, field_name, labels, note = DIMENSIONS[dimension]
    counts = _counts(scope.dossiers(), field_name)
    if labels is not None:
        rows = [Row(label, (counts.pop(code, 0),), code) for code, label in labels.items()]
        rows += [Row(UNKNOWN if not code else str(code), (n,), code or "") for code, n in counts.items()]
    else:
        rows = [Row(str(code) if code else UNKNOWN, (n,), code or "")
                for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] or "~"))]
    return Figure(dimension, title, header, ("Dossiers",), (COUNT,), tuple(rows),
                  note=note or "Selon l'établissement porteur du dossier.")


def by_ght_membership(scope: Scope) -> Figure:
    qs = scope.dossiers().order_by()
    result = qs.aggregate(member=Count("pk", filter=~Q(establishment__ght="")), total=Count("pk"))
    rows = (Row("Membre d'un GHT", (result["member"],), "membre"),
            Row("Hors GHT", (result["total"] - result["member"],), "hors"))
    return Figure("ght", "Dossiers selon l'appartenance à un GHT", "Appartenance", ("Dossiers",), (COUNT,), rows,
                  note="Selon l'établissement porteur : membre d'un groupement hospitalier de territoire ou non.")


# --- actions by HAS QVCT theme ------------------------------------------------------------------------

def _theme_fields(schema) -> list[tuple[str, list[str]]]:
    """(repeatable block key, keys of its QVCT theme fields) of a form: each row of such a block is an action."""
    found = []
    for f in schema.top_fields():
        if f.type == "repeat":
            keys = [c.key for c in f.children if c.type == "qvct_theme"]
            if keys:
                found.append((f.key, keys))
    return found


def _action_codes(blocks, answers) -> list[set[str]]:
    """The QVCT codes of each action (row) of the answers: its sub-themes and their themes."""
    actions = []
    for block, keys in blocks:
        rows = answers.get(block) if isinstance(answers, dict) else None
        for row in rows if isinstance(rows, list) else []:
            if not isinstance(row, dict):
                continue
            codes = set()
            for key in keys:
                value = row.get(key)
                for code in value if isinstance(value, list) else [value]:
                    if isinstance(code, str) and code:
                        codes.update((qvct.theme_of(code), code))
            actions.append(codes)
    return actions


def actions_by_theme(scope: Scope) -> tuple[Figure, Figure]:
    """The actions (rows of the form's actions block) by HAS QVCT theme, then by sub-theme: every action,
    and those of accepted dossiers. An action under two sub-themes of one theme counts once for the theme."""
    qs = scope.dossiers().order_by()
    blocks_by_version = {v.pk: _theme_fields(v.parsed())
                         for v in FormVersion.objects.filter(pk__in=qs.values("form_version_id").distinct())}
    all_actions, accepted_actions = Counter(), Counter()
    total = 0
    for version_id, state, answers in qs.values_list("form_version_id", "state", "answers").iterator(
            chunk_size=BATCH):
        for codes in _action_codes(blocks_by_version.get(version_id, ()), answers):
            total += 1
            all_actions.update(codes)
            if state == State.ACCEPTE:
                accepted_actions.update(codes)
    themes, subs = [], []
    for code, label, children in qvct.themes():
        themes.append(Row(label, (all_actions[code], accepted_actions[code]), code))
        subs += [Row(f"{label} — {sub_label}", (all_actions[f"{code}/{sub}"], accepted_actions[f"{code}/{sub}"]),
                     f"{code}/{sub}") for sub, sub_label in children]
    note = (f"{total} action{'s' if total > 1 else ''} au total dans les dossiers déposés ; une action peut "
            "relever de plusieurs thèmes (boussole QVCT de la HAS).")
    series, units = ("Actions", "dont dossiers acceptés"), (COUNT, COUNT)
    return (Figure("themes", "Actions par thème QVCT", "Thème", series, units, tuple(themes), note, (0, 1)),
            Figure("sous-themes", "Actions par sous-thème QVCT", "Sous-thème", series, units, tuple(subs), note,
                   (0, 1)))


# --- money ------------------------------------------------------------------------------------------

def amounts(scope: Scope) -> Figure:
    """Requested, proposed, granted, paid (and scheduled or ordered, not paid yet)."""
    requested = scope.dossiers().order_by().aggregate(s=Sum("index__amount"))["s"]
    proposed = scope.committed_lines().order_by().aggregate(s=Sum("proposed"))["s"]
    grants = scope.grants().order_by().aggregate(s=Sum("total"))["s"]
    grant_balances, _ = scope.balances()
    paid = sum((b.paid for b in grant_balances.values()), ZERO)
    committed = sum((b.committed for b in grant_balances.values()), ZERO)
    rows = (Row("Demandé", (_money(requested),), "demande"),
            Row("Proposé par l'instruction", (_money(proposed),), "propose"),
            Row("Accordé", (_money(grants),), "accorde"),
            Row("Versé", (_money(paid),), "verse"),
            Row("Prévu ou ordonnancé, pas encore versé", (_money(committed),), "engage"))
    note = ("Demandé : dossiers déposés ; proposé : actions retenues en commission ; accordé : total des "
            "conventions ; versé : y compris avant la plateforme.")
    if scope.level != CALL:
        note += " Les subventions reprises d'avant la plateforme sont comprises."
    return Figure("montants", "Montants demandés, proposés, accordés et versés", "Montant", ("Euros",), (EUROS,),
                  rows, note)


def payments_by_window(scope: Scope) -> Figure:
    """What the payment windows hold on the scope's grants: scheduled, ordered, paid (cancelled left out)."""
    qs = (Payment.objects.filter(action__grant__in=scope.grants().order_by().values("pk"))
          .exclude(status=PaymentStatus.CANCELLED).order_by()
          .values_list("call__year", "window_index", "window_label", "status").annotate(s=Sum("amount")))
    table: dict[tuple, dict] = {}
    for year, index, label, status, total in qs:
        table.setdefault((year, index, label), {})[status] = _money(total)
    order = (PaymentStatus.SCHEDULED, PaymentStatus.ORDERED, PaymentStatus.PAID)
    rows = tuple(Row(f"{year} — {label}", tuple(amounts_.get(s, ZERO) for s in order), f"{year}-{index}")
                 for (year, index, label), amounts_ in sorted(table.items(), key=lambda kv: kv[0][:2]))
    return Figure("fenetres", "Versements par fenêtre de versement", "Exercice et fenêtre",
                  ("Prévu", "Ordonnancé", "Versé"), (EUROS, EUROS, EUROS), rows, charted=(0, 1, 2),
                  note="Montants calculés à partir des justificatifs, par fenêtre de versement de l'exercice.")


def envelope(scope: Scope) -> Figure:
    """Each call's envelope against what its grants total (and the commission committed)."""
    calls = list(scope.calls().order_by("-year", "title").values_list("pk", "year", "title", "envelope"))
    ids = [pk for pk, *_ in calls]
    granted = dict(Grant.objects.filter(call_id__in=scope.calls().values("pk")).order_by().values_list("call_id")
                   .annotate(s=Sum("total")).values_list("call_id", "s")) if ids else {}
    committed = dict(ActionLine.objects.filter(item__session__call_id__in=scope.calls().values("pk"))
                     .exclude(item__decision__in=NOT_COMMITTED).order_by().values_list("item__session__call_id")
                     .annotate(s=Sum("granted")).values_list("item__session__call_id", "s")) if ids else {}
    rows = []
    for pk, year, title, env in calls:
        label = title if scope.named else f"Appel à projets {year}"
        g = _money(granted.get(pk))
        rows.append(Row(label, (None if env is None else _money(env), _money(committed.get(pk)), g,
                                _percent(g, env)), str(pk)))
    return Figure("enveloppe", "Consommation de l'enveloppe", "Appel à projets",
                  ("Enveloppe", "Engagé en commission", "Accordé", "Part de l'enveloppe accordée"),
                  (EUROS, EUROS, EUROS, PERCENT), tuple(rows), charted=(0, 2),
                  note="Accordé : total des conventions des dossiers acceptés de l'appel.")


# --- time -------------------------------------------------------------------------------------------

def processing_time(scope: Scope) -> ProcessingTime:
    """Median and 9th decile (« temps habituel de traitement ») of the time from first filing to decision."""
    qs = (scope.dossiers().filter(state__in=DECIDED, first_filed_at__isnull=False, decided_at__isnull=False)
          .annotate(duration=ExpressionWrapper(F("decided_at") - F("first_filed_at"), output_field=DurationField()))
          .order_by("duration", "pk"))
    n = qs.count()
    if not n:
        return ProcessingTime(0, None, None)
    low, high = (n + 1) // 2, (n + 2) // 2  # 1-based ranks of the middle value(s)
    middle = list(qs.values_list("duration", flat=True)[low - 1:high])
    median = sum(middle, dt.timedelta()) / len(middle)
    rank = math.ceil(Decimal(9) * n / 10)
    usual = qs.values_list("duration", flat=True)[rank - 1]
    return ProcessingTime(n, _days(median), _days(usual))


def processing_time_figure(scope: Scope, time: ProcessingTime | None = None) -> Figure:
    time = time or processing_time(scope)
    rows = (Row("Durée médiane", (time.median_days,), "mediane"),
            Row("Temps habituel de traitement", (time.usual_days,), "habituel"))
    return Figure("delais", "Temps de traitement, du dépôt à la décision", "Mesure", ("Jours",), (DAYS,), rows,
                  note=(f"Sur {time.decided} dossier{'s' if time.decided > 1 else ''} décidé"
                        f"{'s' if time.decided > 1 else ''}. Temps habituel de traitement : 9 dossiers sur 10 "
                        "ont été décidés dans ce délai (9e décile)."))


# --- proofs and payments ------------------------------------------------------------------------------

def proofs_progress(scope: Scope) -> Figure:
    """Ceilings, paid, remaining (``funding.balances``), actions fully paid, grants closed."""
    grant_balances, action_balances = scope.balances()
    closed = scope.grants().filter(status=GrantStatus.CLOSED).count()
    ceilings = sum((b.ceilings for b in grant_balances.values()), ZERO)
    paid = sum((b.paid for b in grant_balances.values()), ZERO)
    committed = sum((b.committed for b in grant_balances.values()), ZERO)
    available = sum((b.available for b in grant_balances.values()), ZERO)
    fully_paid = sum(1 for b in action_balances.values() if b.ceiling_left == 0 and b.committed == 0)
    rows = (Row("Plafonds des actions", (ceilings, None), "plafonds"),
            Row("Versé", (paid, None), "verse"),
            Row("Prévu ou ordonnancé", (committed, None), "engage"),
            Row("Reste disponible", (available, None), "reste"),
            Row("Actions financées", (None, len(action_balances)), "actions"),
            Row("Actions entièrement versées", (None, fully_paid), "actions_soldees"),
            Row("Subventions", (None, len(grant_balances)), "subventions"),
            Row("Subventions clôturées", (None, closed), "subventions_cloturees"))
    return Figure("justificatifs", "Avancement des justificatifs et des versements", "Mesure", ("Euros", "Nombre"),
                  (EUROS, COUNT), rows, charted=(),
                  note=("Versé : y compris avant la plateforme ; reste disponible : dans la limite des plafonds et "
                        "du total de chaque convention ; une action est entièrement versée quand son plafond l'est."))


# --- years and regions ------------------------------------------------------------------------------

def evolution(scope: Scope) -> Figure:
    """Per year of call: dossiers filed and accepted, grants (imported ones included), granted and paid."""
    dossiers = (scope.dossiers().order_by().values_list("call__year")
                .annotate(n=Count("pk"), ok=Count("pk", filter=Q(state=State.ACCEPTE))))
    by_year: dict[int, dict] = {}
    for year, n, ok in dossiers.values_list("call__year", "n", "ok"):
        by_year.setdefault(year, {}).update(filed=n, accepted=ok)
    grants = (scope.grants().order_by().values_list("call_year")
              .annotate(n=Count("pk"), imported=Count("pk", filter=Q(imported=True)), s=Sum("total")))
    for year, n, imported, total in grants.values_list("call_year", "n", "imported", "s"):
        by_year.setdefault(year, {}).update(grants=n, imported=imported, granted=_money(total))
    grant_years = dict(scope.grants().values_list("pk", "call_year"))
    grant_balances, _ = scope.balances()
    for pk, b in grant_balances.items():
        entry = by_year.setdefault(grant_years[pk], {})
        entry["paid"] = entry.get("paid", ZERO) + b.paid
    rows = tuple(Row(str(year), (e.get("filed", 0), e.get("accepted", 0), e.get("grants", 0), e.get("imported", 0),
                                 e.get("granted", ZERO), e.get("paid", ZERO)), str(year))
                 for year, e in sorted(by_year.items()))
    return Figure("annees", "Évolution d'une année à l'autre", "Année de l'appel",
                  ("Dossiers déposés", "Dossiers acceptés", "Subventions", "dont reprises d'avant la plateforme",
                   "Accordé", "Versé"), (COUNT, COUNT, COUNT, COUNT, EUROS, EUROS), rows, charted=(4, 5),
                  note="Les subventions décidées avant la plateforme et reprises par import sont comprises.")


def by_region(scope: Scope) -> Figure:
    """Per region (national level): dossiers filed and accepted, envelopes, granted, paid."""
    dossiers = {r: (n, ok) for r, n, ok in scope.dossiers().order_by().values_list("call__region_id")
                .annotate(n=Count("pk"), ok=Count("pk", filter=Q(state=State.ACCEPTE)))
                .values_list("call__region_id", "n", "ok")}
    envelopes = dict(scope.calls().order_by().values_list("region_id").annotate(s=Sum("envelope"))
                     .values_list("region_id", "s"))
    granted = dict(scope.grants().order_by().values_list("region_id").annotate(s=Sum("total"))
                   .values_list("region_id", "s"))
    grant_regions = dict(scope.grants().values_list("pk", "region_id"))
    paid: dict[int, Decimal] = {}
    for pk, b in scope.balances()[0].items():
        paid[grant_regions[pk]] = paid.get(grant_regions[pk], ZERO) + b.paid
    rows = []
    for region in Region.objects.order_by("name"):
        n, ok = dossiers.get(region.pk, (0, 0))
        rows.append(Row(region.name, (n, ok, _money(envelopes.get(region.pk)), _money(granted.get(region.pk)),
                                      paid.get(region.pk, ZERO)), region.slug))
    return Figure("regions", "Par région", "Région",
                  ("Dossiers déposés", "Dossiers acceptés", "Enveloppes", "Accordé", "Versé"),
                  (COUNT, COUNT, EUROS, EUROS, EUROS), tuple(rows), charted=(3, 4))


# --- everything for a page --------------------------------------------------------------------------

@dataclass
class Statistics:
    scope: Scope
    time: ProcessingTime
    figures: list[Figure] = field(default_factory=list)

    def figure(self, key: str) -> Figure:
        return next(f for f in self.figures if f.key == key)

    @property
    def filed(self) -> int:
        return self.figure("etats").total()


def figure_keys(scope: Scope) -> list[str]:
    """The figures of a scope, in the order the page shows them."""
    keys = ["etats", "semaines", "delais", "secteurs", "statuts", "categories", "departements", "ght", "themes",
            "sous-themes", "montants", "enveloppe", "fenetres", "justificatifs", "annees"]
    if scope.level == COUNTRY:
        keys.insert(keys.index("montants"), "regions")
    return keys


def figure(scope: Scope, key: str) -> Figure:
    """One figure of the scope by its key (a download computes only what it sends); KeyError when unknown."""
    if key not in figure_keys(scope):
        raise KeyError(key)
    if key in DIMENSIONS or key == "ght":
        return dossiers_by(scope, key)
    if key in ("themes", "sous-themes"):
        return actions_by_theme(scope)[0 if key == "themes" else 1]
    return {"etats": dossiers_by_state, "semaines": filed_and_decided_per_week, "delais": processing_time_figure,
            "montants": amounts, "enveloppe": envelope, "fenetres": payments_by_window,
            "justificatifs": proofs_progress, "annees": evolution, "regions": by_region}[key](scope)


def compute(scope: Scope) -> Statistics:
    """Every figure of the scope (a bounded number of queries, whatever the number of dossiers)."""
    time = processing_time(scope)
    themes, subs = actions_by_theme(scope)
    computed = {"delais": processing_time_figure(scope, time), "themes": themes, "sous-themes": subs}
    figures = [computed[k] if k in computed else figure(scope, k) for k in figure_keys(scope)]
    return Statistics(scope, time, figures)
