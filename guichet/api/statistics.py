"""API endpoints of the statistics: the figures of a call, of a region and of the whole country, as the statistics
pages show them (``guichet.reporting.statistics``: the same scopes, the same figures, the same order).

Who reads what: a call's and a region's figures, a token of the region's ARS staff (anything else answers 404,
like a page of another region); the national figures, a superuser's token (another token gets 403). The national
reader (the ministry) stays off the API: it may hold no token (``api.models.may_hold_token``: tokens are for the
ARS' own tools) and ``NationalReaderMiddleware`` refuses ``/api/`` to its session; it has the national page and
its CSV / XLSX downloads. Opening the API to it would mean tokens for a role that has no region — a new kind of
token scope for one endpoint, which the figures' downloads already serve.

Values: a count is a JSON integer; euros, days and percentages are decimal strings (« 14500.00 », « 40.0 »,
« 14.5 »), as every amount of the API; null when not applicable. Aggregates only: nothing enters the audit trail.
"""

from decimal import Decimal

from django.http import Http404
from django.shortcuts import get_object_or_404
from ninja import Path, Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from guichet.accounts.permissions import is_ars_of
from guichet.api.errors import responses
from guichet.api.inputs import SLUG_PATTERN, slug_param
from guichet.calls.models import Call
from guichet.establishments.models import Region
from guichet.reporting import snapshots, statistics

router = Router(tags=["statistiques"])

NATIONAL_ONLY = "Les chiffres nationaux sont réservés aux administrateurs de la plateforme."
UNITS = "count (nombre, entier), euros (chaîne décimale), days (jours, chaîne décimale), percent (chaîne décimale)"


class SeriesOut(Schema):
    name: str = Field(description="Nom de la série, en français (en-tête de colonne).")
    unit: str = Field(description=UNITS)


class RowOut(Schema):
    key: str = Field(description="Code stable de la ligne (état, secteur, thème, semaine ISO, année…) ; vide si "
                                 "le libellé en tient lieu.")
    label: str
    values: list[int | str | None] = Field(description="Une valeur par série, dans l'ordre de ``series`` : entier "
                                                       "pour un nombre, chaîne décimale sinon ; null si sans objet.")


class FigureOut(Schema):
    key: str = Field(description="Identifiant stable du chiffre (etats, semaines, delais, montants…).")
    title: str
    label_header: str = Field(description="En-tête de la colonne des libellés.")
    series: list[SeriesOut]
    note: str = Field(description="Comment le chiffre est compté, en français.")
    rows: list[RowOut]


class StatisticsOut(Schema):
    level: str = Field(description="call, region ou country.")
    title: str
    filed: int = Field(description="Dossiers déposés (hors brouillons).")
    decided: int = Field(description="Dossiers décidés dont les dates de dépôt et de décision sont connues.")
    median_days: str | None = Field(description="Durée médiane du dépôt à la décision, en jours ; null sans "
                                                "dossier décidé.")
    usual_days: str | None = Field(description="Temps habituel de traitement (9e décile : 9 dossiers sur 10 "
                                               "décidés dans ce délai), en jours ; null sans dossier décidé.")
    figures: list[FigureOut]


def _value(value, unit: str):
    if value is None:
        return None
    if unit == statistics.COUNT:
        return int(value)
    return str(Decimal(value))


def _out(stats: statistics.Statistics) -> dict:
    time = stats.time
    return {
        "level": stats.scope.level, "title": stats.scope.title, "filed": stats.filed, "decided": time.decided,
        "median_days": _value(time.median_days, statistics.DAYS), "usual_days": _value(time.usual_days,
                                                                                       statistics.DAYS),
        "figures": [{
            "key": f.key, "title": f.title, "label_header": f.label_header, "note": f.note,
            "series": [{"name": name, "unit": unit} for name, unit in zip(f.series, f.units, strict=True)],
            "rows": [{"key": r.key, "label": r.label,
                      "values": [_value(v, u) for v, u in zip(r.values, f.units, strict=True)]} for r in f.rows],
        } for f in stats.figures],
    }


@router.get("/calls/{slug}/statistics", response={200: StatisticsOut, **responses(401, 404, 422)},
            summary="Statistiques d'un appel à projets de la région du jeton")
def call_statistics(request, slug: str = slug_param()):
    call = get_object_or_404(Call.objects.instructed_by(request.auth), slug=slug)
    return _out(snapshots.get(statistics.for_call(call)).stats)


@router.get("/regions/{region}/statistics", response={200: StatisticsOut, **responses(401, 404, 422)},
            summary="Statistiques de la région du jeton, tous appels et toutes années confondus")
def region_statistics(request, region: str = Path(..., pattern=SLUG_PATTERN, examples=["hauts-de-france"],
                                                  description="Identifiant d'adresse (slug) de la région.")):
    found = get_object_or_404(Region, slug=region)
    if not is_ars_of(request.auth, found):
        raise Http404  # like a page of another region
    return _out(snapshots.get(statistics.for_region(found)).stats)


@router.get("/statistics/national", response={200: StatisticsOut, **responses(401, 403)},
            summary="Statistiques nationales, toutes régions (administrateurs de la plateforme)")
def national_statistics(request):
    if not request.auth.is_superuser:
        raise HttpError(403, NATIONAL_ONLY)
    return _out(snapshots.get(statistics.for_country()).stats)
