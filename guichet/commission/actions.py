"""The actions of a dossier, read from its answers, as the arbitration table needs them.

The application forms keep the actions in a repeatable block ``actions`` whose rows carry a title
(``intitule``), a total cost (``cout_total``), the amount asked of the ARS (``montant_demande``) and,
in the Grand Est form, the establishments concerned (``structures_concernees``). A form without
such a block is arbitrated as one action: the whole project at its requested amount.
"""

import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from guichet.formschema.values import to_decimal
from guichet.instruction.index import requested_amount

ACTIONS_KEY = "actions"
TITLE_KEY, COST_KEY, REQUESTED_KEY, ESTABLISHMENTS_KEY = "intitule", "cout_total", "montant_demande", \
    "structures_concernees"
TOTAL_COST_KEY = "total_cout"
CENT = Decimal("0.01")
FINESS_IN_TEXT = re.compile(r"\b(?:2[AB]|\d{2})\d{7}\b")


@dataclass(frozen=True)
class ProposedAction:
    position: int
    title: str
    cost: Decimal
    requested: Decimal
    establishments: str


def actions_of(answers: dict) -> list[ProposedAction]:
    rows = answers.get(ACTIONS_KEY)
    if isinstance(rows, list) and rows:
        return [ProposedAction(position=index, title=str(row.get(TITLE_KEY) or f"Action {index}")[:500],
                               cost=to_decimal(row.get(COST_KEY)).quantize(CENT),
                               requested=to_decimal(row.get(REQUESTED_KEY)).quantize(CENT),
                               establishments=str(row.get(ESTABLISHMENTS_KEY) or "")[:1000])
                for index, row in enumerate((r for r in rows if isinstance(r, dict)), start=1)]
    requested = requested_amount(answers)
    cost = to_decimal(answers.get(TOTAL_COST_KEY)).quantize(CENT) or requested
    return [ProposedAction(1, "Projet", cost, requested, "")]


def ceiling(eligible_cost: Decimal, requested: Decimal, rate: Decimal) -> Decimal:
    """The most an action may be granted: the rate (a percentage) of its eligible cost, rounded *down*
    to the cent so that it never exceeds it, and never more than was asked."""
    by_rate = (eligible_cost * rate / Decimal(100)).quantize(CENT, rounding=ROUND_DOWN)
    return max(Decimal("0.00"), min(by_rate, requested))


def finess_mentioned(text: str) -> list[str]:
    """FINESS numbers written in a free-text « établissements concernés » answer."""
    return FINESS_IN_TEXT.findall(text or "")
