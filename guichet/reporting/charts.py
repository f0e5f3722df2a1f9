"""Charts of the statistics as server-side SVG: horizontal bars, one group of bars per row of a ``Figure``.

Why SVG written here rather than a JavaScript chart library or the DSFR's chart web components:
- nothing is loaded at run time from anywhere (no CDN, no script), so the page works without JavaScript,
  prints, and the very same file is what « Télécharger le graphique (SVG) » sends;
- it fits the strict Content-Security-Policy: no ``style`` attribute, no ``<style>`` block, no script —
  colours and sizes are SVG presentation attributes (``fill``, ``font-size``…), which CSP does not govern;
- accessible: ``role="img"`` named by its ``<title>`` and described by its ``<desc>`` (``aria-labelledby``),
  reachable with the keyboard (``tabindex="0"``), each bar's exact value written next to it, and the page
  shows the figure's data table right under the chart;
- readable at 375 px: a ``viewBox`` and ``width="100%"`` scale it to the column; each label on its own line
  above its horizontal bars keeps it readable however many rows there are; very long labels are shortened
  (the table has them whole).

Colours: the DSFR « illustrative » palette (main tones), each at least 3:1 against white.
"""

from __future__ import annotations

from decimal import Decimal
from xml.sax.saxutils import escape

from django.utils.safestring import mark_safe

from guichet.core.money import euros

from .statistics import COUNT, DAYS, EUROS, PERCENT, Figure

# blue-ecume, pink-tuile, green-menthe, purple-glycine (DSFR illustrative colours, -main tones)
COLOURS = ("#465f9d", "#ce614a", "#009081", "#a558a0")
TEXT = "#161616"  # DSFR grey-50-1000, the body text
GRID = "#929292"
# A narrow drawing (each label on its own line, above its bars) so that, scaled to a 343 px column on a
# phone, its text stays about 11 px; the style sheet caps its width on a laptop.
WIDTH = 400
VALUE_WIDTH = 100
LABEL_LINE = 18
BAR = 14
GAP = 10
FONT = 13
MAX_LABEL = 55


def number(value, unit: str) -> str:
    """A value as the pages write it (French): 1 234 · 12 345,00 € · 12,5 j · 40,0 %; « — » when absent."""
    if value is None:
        return "—"
    if unit == EUROS:
        return euros(value)
    if unit == COUNT:
        return f"{int(value):,}".replace(",", "\u202f")
    text = f"{Decimal(value):,.1f}".replace(",", "\u202f").replace(".", ",")
    return f"{text}\u00a0%" if unit == PERCENT else (f"{text}\u00a0j" if unit == DAYS else text)


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[:MAX_LABEL - 1].rstrip() + "…"


def svg(figure: Figure, id_prefix: str = "graphique") -> str:
    """The chart of ``figure`` as an SVG document fragment (safe markup), or "" when it has no chart."""
    series = [i for i in figure.charted if i < len(figure.series)]
    if not series or not figure.rows:
        return ""
    unit = figure.units[series[0]]
    top = max((r.values[i] or 0 for r in figure.rows for i in series), default=0) or 1
    legend = 24 if len(series) > 1 else 0
    group = LABEL_LINE + len(series) * BAR + GAP
    height = legend + len(figure.rows) * group
    bar_space = WIDTH - VALUE_WIDTH
    ident = f"{id_prefix}-{figure.key}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'role="img" aria-labelledby="{ident}-titre {ident}-desc" tabindex="0" '
        f'font-family="Marianne, Arial, sans-serif" font-size="{FONT}">',
        f'<title id="{ident}-titre">{escape(figure.title)}</title>',
        f'<desc id="{ident}-desc">{escape(_description(figure, series))}</desc>',
    ]
    if legend:
        x = 0
        for n, i in enumerate(series):
            parts.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{COLOURS[n % len(COLOURS)]}"/>')
            parts.append(f'<text x="{x + 16}" y="15" fill="{TEXT}">{escape(figure.series[i])}</text>')
            x += 28 + 7 * len(figure.series[i])
    for r, row in enumerate(figure.rows):
        y0 = legend + r * group
        parts.append(f'<text x="0" y="{y0 + FONT}" fill="{TEXT}">{escape(_short(row.label))}</text>')
        parts.append(f'<line x1="0.5" y1="{y0 + LABEL_LINE - 2}" x2="0.5" y2="{y0 + LABEL_LINE + len(series) * BAR}" '
                     f'stroke="{GRID}" stroke-width="1"/>')
        for n, i in enumerate(series):
            value = row.values[i] or 0
            w = max(0.0, float(value) / float(top) * bar_space)
            y = y0 + LABEL_LINE + n * BAR
            colour = COLOURS[n % len(COLOURS)]
            parts.append(f'<rect x="1" y="{y}" width="{w:.1f}" height="{BAR - 2}" fill="{colour}">'
                         f'<title>{escape(row.label)} — {escape(figure.series[i])} : '
                         f'{escape(number(row.values[i], figure.units[i]))}</title></rect>')
            parts.append(f'<text x="{w + 5:.1f}" y="{y + BAR - 3}" fill="{TEXT}" font-size="12">'
                         f'{escape(number(row.values[i], unit))}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def _description(figure: Figure, series: list[int]) -> str:
    names = " et ".join(figure.series[i].lower() for i in series)
    return (f"Graphique en barres horizontales : {names} par {figure.label_header.lower()}, "
            f"{len(figure.rows)} ligne{'s' if len(figure.rows) > 1 else ''}. Les données sont dans le tableau "
            "qui suit le graphique.")


def document(figure: Figure) -> bytes:
    """The chart as a standalone SVG file (the download)."""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + svg(figure)).encode()
