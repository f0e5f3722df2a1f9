"""Statistics pages of a call, a region and the whole country, and the download of each figure (CSV, XLSX) and
chart (SVG).

Who sees what: a call's and a region's figures, the region's ARS staff (``Call.objects.instructed_by``,
``is_ars_of``; anyone else gets a 404, as for any page of another region); the national figures, the
national reader (ministry) and platform superusers (403 for anyone else). The figures are aggregates
(``statistics``): no dossier list and, at national level, no name — so the pages and downloads do not enter the
audit trail; opening or closing a call's public page (``call_public_toggle``) does, since it lets figures leave.

« Bilan de l'appel » (``call_bilan``): the call's narrative and figures as a PDF (``bilan``), same audience as
the call's page. The public page of a call (``public_call_statistics``, no login): see ``public``.

Every page, download, the bilan and the public page read the precomputed figures (``snapshots``), and say
when they were computed (« mise à jour en cours » while a refresh is queued).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from guichet.accounts.permissions import can_see_national_statistics, is_ars_of
from guichet.calls.models import Call, CallKind
from guichet.core import audit
from guichet.core.spreadsheets import EUROS as EUROS_FORMAT
from guichet.core.spreadsheets import file_name_part
from guichet.establishments.models import Region

from . import bilan, charts, public, snapshots, statistics
from .exports import Column, Export, Table
from .views import instructed_call, send

FORMATS = ("csv", "xlsx", "svg")
NUMBER_FORMATS = {statistics.EUROS: EUROS_FORMAT, statistics.COUNT: "0", statistics.DAYS: "0.0",
                  statistics.PERCENT: '0.0" %"'}


def _region(request, slug) -> Region:
    region = get_object_or_404(Region, slug=slug)
    if not is_ars_of(request.user, region):
        raise Http404
    return region


def _national(request):
    if not can_see_national_statistics(request.user):
        raise PermissionDenied


def _page(request, scope, download_url, context):
    snapshot = snapshots.get(scope)
    stats = snapshot.stats
    figures = []
    for f in stats.figures:
        chart = charts.svg(f)
        figures.append({
            "figure": f, "chart": chart, "anchor": f"figure-{f.key}",
            "rows": [(r.label, [charts.number(v, u) for v, u in zip(r.values, f.units, strict=True)]) for r in f.rows],
            "downloads": [(ext.upper(), download_url(f.key, ext)) for ext in FORMATS if ext != "svg" or chart]})
    time = stats.time
    return render(request, "reporting/statistics.html", {
        **context, "stats": stats, "figures": figures, "scope": scope, "snapshot": snapshot,
        "median": charts.number(time.median_days, statistics.DAYS),
        "usual": charts.number(time.usual_days, statistics.DAYS),
        "granted": charts.number(stats.figure("montants").rows[2].values[0], statistics.EUROS),
        "decided": time.decided,
    })


def _download(scope, key, extension, base_name):
    if extension not in FORMATS:
        raise Http404
    if key not in statistics.figure_keys(scope):
        raise Http404
    figure = snapshots.get(scope).stats.figure(key)
    day = timezone.localdate().strftime("%Y-%m-%d")
    name = f"{file_name_part(base_name, 80)} - {file_name_part(figure.title, 80)} - {day}.{extension}"
    if extension == "svg":
        chart = charts.svg(figure)
        if not chart:
            raise Http404
        response = HttpResponse(charts.document(figure), content_type="image/svg+xml; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(True, name)
        return response
    columns = [Column(figure.label_header, part=figure.title)] + [
        Column(name_, NUMBER_FORMATS[unit]) for name_, unit in zip(figure.series, figure.units, strict=True)]
    export = Export(Table(columns, iter([[r.label, *r.values] for r in figure.rows]), title=figure.title))
    return send(export, extension, name)


@login_required
def call_statistics(request, slug):
    call = instructed_call(request, slug)
    return _page(request, statistics.for_call(call),
                 lambda key, ext: reverse("reporting:call_statistics_download", args=[call.slug, key, ext]),
                 {"call": call, "page_title": f"Statistiques — {call.title}", "nav": "instruction",
                  "bilan_url": reverse("reporting:call_bilan", args=[call.slug])})


@login_required
def call_bilan(request, slug):
    """« Bilan de l'appel »: the call's narrative and figures as a PDF (``bilan``), for its region's ARS staff."""
    from guichet.documents.render import html_to_pdf  # loads WeasyPrint: only this view needs it

    call = instructed_call(request, slug)
    snapshot = snapshots.get(statistics.for_call(call))
    html = render_to_string("reporting/bilan.html", {**bilan.context(call, snapshot.stats, timezone.localdate()),
                                                     "snapshot": snapshot})
    name = f"Bilan de l'appel - {file_name_part(call.title, 80)} - {timezone.localdate():%Y-%m-%d}.pdf"
    response = HttpResponse(html_to_pdf(html), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


@login_required
@require_POST
def call_public_toggle(request, slug):
    """The region's ARS staff open or close the call's public page (audited: figures leave the platform)."""
    call = instructed_call(request, slug)
    public_now = request.POST.get("public") == "1"
    if call.public_statistics != public_now:
        call.public_statistics = public_now
        call.save(update_fields=["public_statistics"])
        audit.record(request.user, "statistics:public_on" if public_now else "statistics:public_off",
                     request=request, obj=call, call=call.slug)
    messages.success(request, "La page publique des chiffres de l'appel est en ligne." if public_now
                     else "La page publique des chiffres de l'appel est retirée.")
    return redirect("reporting:call_statistics", call.slug)


def public_call_statistics(request, slug):
    """The public figures of a call (no login), when its ARS opened them; 404 otherwise."""
    call = get_object_or_404(Call.objects.calls().filter(published=True, public_statistics=True,
                                                         kind=CallKind.APPLICATION).select_related("region"),
                             slug=slug)
    snapshot = snapshots.get(statistics.for_call(call))
    return render(request, "reporting/public.html", {
        "call": call, "figures": public.figures(snapshot.stats), "snapshot": snapshot,
        "page_title": f"Les chiffres — {call.title}", "nav": "calls"})


@login_required
def call_statistics_download(request, slug, key, extension):
    call = instructed_call(request, slug)
    return _download(statistics.for_call(call), key, extension, call.title)


@login_required
def region_statistics(request):
    """ARS staff: their region's page; a superuser: the list of regions to choose from."""
    user = request.user
    if user.is_superuser:
        return render(request, "reporting/regions.html", {
            "regions": Region.objects.order_by("name"), "page_title": "Statistiques par région",
            "nav": "statistics"})
    if not (user.is_ars_staff and user.region_id):
        raise Http404
    return redirect("reporting:region_statistics_of", user.region.slug)


@login_required
def region_statistics_of(request, region):
    region = _region(request, region)
    return _page(request, statistics.for_region(region),
                 lambda key, ext: reverse("reporting:region_statistics_download", args=[region.slug, key, ext]),
                 {"region": region, "page_title": f"Statistiques — {region.ars_name}", "nav": "statistics"})


@login_required
def region_statistics_download(request, region, key, extension):
    region = _region(request, region)
    return _download(statistics.for_region(region), key, extension, region.ars_name)


@login_required
def national_statistics(request):
    _national(request)
    return _page(request, statistics.for_country(),
                 lambda key, ext: reverse("reporting:national_statistics_download", args=[key, ext]),
                 {"national": True, "page_title": "Statistiques nationales", "nav": "national"})


@login_required
def national_statistics_download(request, key, extension):
    _national(request)
    return _download(statistics.for_country(), key, extension, "France entière")
