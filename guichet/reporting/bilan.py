"""« Bilan de l'appel »: the printable report of a call, written from its figures (``statistics``).

In the spirit of the ARS' own reviews (seed 003: « 303 projets ont été reçus ; 121 par des établissements
sanitaires ; 182 par des établissements médico-sociaux … 3,8 M€ ont été délégués »): a narrative in French
with agreeing plurals (``core.text``) and French numbers, then every figure of the call as a table and its
chart (the same server-side SVG as the pages, which WeasyPrint draws).

Pure: ``narrative(stats)`` and ``context(call, stats)`` build text and plain data; the view renders
``reporting/bilan.html`` and hands it to ``documents.render.html_to_pdf`` (which fetches nothing).
The figures are aggregates, but at call level they name the establishments' categories and departments,
and the PDF is for the region's ARS staff only, like the statistics page.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from guichet.core.money import euros
from guichet.core.text import count, plural
from guichet.dossiers.models import State

from . import charts, statistics

MILLION = Decimal(1_000_000)


def group(n: int) -> str:
    """1234567 → « 1 234 567 » (narrow no-break spaces, as every figure of the platform)."""
    return f"{n:,}".replace(",", "\u202f")


def short_euros(amount: Decimal | None) -> str:
    """An amount as a sentence says it: « 3,8 M€ » from a million, « 14 500 € » for whole euros below,
    « 14 500,50 € » with cents."""
    amount = Decimal(amount or 0)
    if abs(amount) >= MILLION:
        millions = (amount / MILLION).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        return f"{millions:,.1f}".replace(",", "\u202f").replace(".", ",").replace(",0", "") + "\u00a0M€"
    if amount == amount.to_integral_value():
        return f"{group(int(amount))}\u00a0€"
    return euros(amount)


def _amount_verb(amount: Decimal, singular: str, plural_form: str) -> str:
    """« 1 € a été délégué », « 3,8 M€ ont été délégués »: from 2 euros, French takes the plural."""
    return plural(2 if abs(amount or 0) >= 2 else 1, singular, plural_form)


def _days(value: Decimal | None) -> str:
    text = charts.number(value, statistics.DAYS).removesuffix("\u00a0j").removesuffix(",0")
    return f"{text}\u00a0{plural(2 if value and value >= 2 else 1, 'jour')}"


def narrative(stats: statistics.Statistics) -> list[str]:
    """The paragraphs of the report, from the call's figures."""
    filed = stats.filed
    if not filed:
        return ["Aucun projet n'a été reçu pour cet appel à projets."]
    sectors = {r.key: r.values[0] for r in stats.figure("secteurs").rows}
    states = {r.key: r.values[0] for r in stats.figure("etats").rows}
    paragraphs = []
    parts = [f"{group(filed)} {plural(filed, 'projet a été reçu', 'projets ont été reçus')}"]
    for key, one, many in (("sanitaire", "un établissement sanitaire", "des établissements sanitaires"),
                           ("medico_social", "un établissement médico-social", "des établissements médico-sociaux")):
        n = sectors.get(key, 0)
        if n:
            parts.append(f"{group(n)} par {plural(n, one, many)}")
    paragraphs.append(" ; ".join(parts) + ".")

    accepted, refused = states.get(State.ACCEPTE, 0), states.get(State.REFUSE, 0)
    dropped = states.get(State.SANS_SUITE, 0)
    pending = filed - accepted - refused - dropped
    decided = [count(accepted, "projet retenu", "projets retenus")]
    if refused:
        decided.append(count(refused, "refusé"))
    if dropped:
        decided.append(count(dropped, "classé sans suite", "classés sans suite"))
    sentence = (", ".join(decided[:-1]) + " et " + decided[-1]) if len(decided) > 1 else decided[0]
    sentence = sentence[0].upper() + sentence[1:]
    if pending:
        sentence += (f" ; {group(pending)} {plural(pending, 'est encore en cours', 'sont encore en cours')} "
                     "d'instruction")
    paragraphs.append(sentence + ".")

    time = stats.time
    if time.decided:
        paragraphs.append(
            f"Temps habituel de traitement, du dépôt à la décision : {_days(time.usual_days)} (9 dossiers sur 10 "
            f"ont été décidés dans ce délai) ; durée médiane : {_days(time.median_days)}, sur "
            f"{count(time.decided, 'dossier décidé', 'dossiers décidés')}.")

    money = {r.key: r.values[0] for r in stats.figure("montants").rows}
    granted, requested, paid = money["accorde"], money["demande"], money["verse"]
    sentence = (f"{short_euros(granted)} {_amount_verb(granted, 'a été délégué', 'ont été délégués')} "
                f"pour les projets retenus")
    if requested:
        sentence += f" ({short_euros(requested)} {_amount_verb(requested, 'demandé', 'demandés')})"
    (envelope_row,) = stats.figure("enveloppe").rows or (None,)
    if envelope_row and envelope_row.values[0]:
        sentence += (f", soit {charts.number(envelope_row.values[3], statistics.PERCENT)} de l'enveloppe de "
                     f"{short_euros(envelope_row.values[0])}")
    paragraphs.append(sentence + ".")
    if paid:
        paragraphs.append(f"{short_euros(paid)} {_amount_verb(paid, 'a été versé', 'ont été versés')} à ce jour.")
    return paragraphs


def table(figure: statistics.Figure) -> dict:
    """A figure as the report's table (French numbers) and its chart."""
    return {
        "figure": figure,
        "chart": "" if figure.is_empty else charts.svg(figure, id_prefix="bilan"),
        "rows": [(r.label, [charts.number(v, u) for v, u in zip(r.values, figure.units, strict=True)])
                 for r in figure.rows],
    }


def context(call, stats: statistics.Statistics, today) -> dict:
    """What ``reporting/bilan.html`` shows."""
    return {"call": call, "region": call.region, "today": today, "paragraphs": narrative(stats),
            "figures": [table(f) for f in stats.figures], "title": f"Bilan de l'appel — {call.title}"}
