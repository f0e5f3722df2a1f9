"""Demo grants from before the platform for the Hauts-de-France demo establishment, so that `make demo`
shows the proofs of completion and payments loop. Idempotent."""

import datetime as dt
from decimal import Decimal

from .models import Grant, GrantAction, GrantStatus

GRANTS = [
    ("AVENANT-CPOM-2022-DEMO", 2022, "avenant", dt.date(2022, 11, 15), [
        ("Formation des encadrants à la prévention des risques psychosociaux", "12000", "3000"),
        ("Aménagement d'un espace de repos pour les équipes de nuit", "5000", "0")]),
    ("CONVENTION-2024-DEMO", 2024, "convention", dt.date(2024, 6, 3), [
        ("Rails de transfert et lève-personnes dans deux unités", "8000", "0")]),
]


def seed(establishment) -> list[Grant]:
    made = []
    for reference, year, kind, signed_on, actions in GRANTS:
        grant, _ = Grant.objects.update_or_create(convention_reference=reference, defaults={
            "region_id": establishment.region_id, "call_year": year, "beneficiary": establishment,
            "legal_entity_id": establishment.legal_entity_id, "rate": Decimal("50"),
            "total": sum(Decimal(c) for _, c, _ in actions), "convention_kind": kind,
            "convention_signed_on": signed_on, "status": GrantStatus.ACTIVE, "imported": True})
        for position, (title, ceiling, paid) in enumerate(actions, start=1):
            action, _ = GrantAction.objects.update_or_create(grant=grant, position=position, defaults={
                "title": title, "ceiling": Decimal(ceiling), "paid_before": Decimal(paid)})
            action.establishments.set([establishment])
        made.append(grant)
    return made
