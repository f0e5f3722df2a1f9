"""What a kind of call adds to the generic dossier, registered by the apps above this layer.

The dossier layer knows forms, files and states, not grants nor invoices. A kind of call whose dossiers need
more than their form before they are filed (a proofs dossier: its invoices, each with its file, in a payment
window) registers, in its app's ``ready``, what is still missing for filing and why its corrections cannot be
filed yet. Filing (``services.missing_items``) and the workflow's guard on « Déposer les corrections » ask here.
"""

from collections.abc import Callable
from dataclasses import dataclass

from guichet.formschema.engine import Missing

from .models import Dossier


@dataclass(frozen=True)
class KindRules:
    missing: Callable[[Dossier], list[Missing]]  # what stops filing, beyond the form
    corrections_refusal: Callable[[Dossier], str | None]  # why the corrections cannot be filed yet, or None


_rules: dict[str, KindRules] = {}


def register(kind: str, rules: KindRules) -> None:
    _rules[kind] = rules


def missing(dossier: Dossier) -> list[Missing]:
    rules = _rules.get(dossier.call.kind)
    return rules.missing(dossier) if rules else []


def corrections_refusal(dossier: Dossier) -> str | None:
    rules = _rules.get(dossier.call.kind)
    return rules.corrections_refusal(dossier) if rules else None
