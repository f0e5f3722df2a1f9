"""Demo data for the commission: a Grand Est call whose filing is over, three dossiers in instruction
with their answers and pieces (``demo_answers``), a scoring grid and a session in preparation with a
commission member — so that `make demo` shows arbitration without filing dossiers first. Idempotent."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from guichet.calls import deadlines
from guichet.calls.models import Call
from guichet.calls.templates_loader import copy_call
from guichet.dossiers.models import Dossier, State

from . import arbitration, demo_answers
from .models import Capacity, Criterion, Session

SLUG = "demo-commission-grand-est"
CRITERIA = [("Thèmes QVCT couverts (boussole HAS)", Decimal("1"), 5),
            ("Qualité du diagnostic partagé", Decimal("2"), 5),
            ("Dialogue social (avis du CSE, organisations syndicales)", Decimal("2"), 5),
            ("Impact attendu et indicateurs de suivi", Decimal("1"), 5)]
PROJECTS = [
    [("Formation des encadrants à la prévention des risques psychosociaux", "24000", "12000"),
     ("Rails de transfert dans 12 chambres", "36000", "18000")],
    [("Espace de repos et de ressourcement pour les équipes de nuit", "15000", "7500")],
    [("Analyse des pratiques professionnelles animée par un psychologue", "9600", "4800"),
     ("Démarche participative sur l'organisation des plannings", "6000", "3000"),
     ("Séminaire de cohésion", "8000", "4000")],
]


def seed(template: Call, establishments, applicant, instructor, member) -> Call:
    now = timezone.now()
    call = Call.objects.filter(slug=SLUG).first()
    if call is None:
        call = copy_call(template, region=template.region, slug=SLUG, year=now.year,
                         title=f"{template.title} — démonstration de la commission",
                         opens_at=deadlines.closing_instant(deadlines.paris_day(now - dt.timedelta(days=121))),
                         closes_at=deadlines.closing_instant(deadlines.paris_day(now - dt.timedelta(days=30))))
    Call.objects.filter(pk=call.pk).update(envelope=Decimal("60000.00"))
    call.refresh_from_db()
    for order, (label, weight, scale) in enumerate(CRITERIA, start=1):
        Criterion.objects.update_or_create(call=call, label=label, defaults={"weight": weight, "scale_max": scale,
                                                                            "order": order})
    dossiers = []
    for index, actions in enumerate(PROJECTS):
        establishment = establishments[index % len(establishments)]
        dossier = Dossier.objects.filter(call=call, answers__demo_index=index).first()
        if dossier is None:
            dossier = Dossier.objects.create(
                call=call, form_version=call.current_form, establishment=establishment, created_by=applicant,
                state=State.EN_INSTRUCTION, first_filed_at=now - dt.timedelta(days=40 - index),
                last_filed_at=now - dt.timedelta(days=40 - index), instruction_started_at=now - dt.timedelta(days=20),
                answers={"demo_index": index, "etablissement_porteur": establishment.finess,
                         "actions": [{"intitule": t, "cout_total": c, "montant_demande": r, "autres_financements": "0",
                                      "structures_concernees": establishment.finess} for t, c, r in actions]})
            dossier.number = f"{call.year}-{call.region.code}-{dossier.pk:06d}"
            dossier.save(update_fields=["number"])
            dossier.members.add(applicant)
        if not dossier.answers.get("presentation_projet"):  # new, or left empty by an older demo
            demo_answers.fill(dossier, index, actions, applicant)
        dossiers.append(dossier)
    session = Session.objects.filter(call=call).first()
    if session is None:
        session = arbitration.create_session(
            call, instructor, title="Commission d'arbitrage CLACT-QVCT (démonstration)",
            held_on=now + dt.timedelta(days=7), place="ARS Grand Est, Nancy",
            signatory_name="Claire Lambert", signatory_title="La directrice générale de l'ARS Grand Est",
            convention_starts_on=timezone.localdate(), convention_ends_on=dt.date(now.year + 1, 12, 31))
        arbitration.add_to_agenda(session, dossiers, instructor)
    # An older demo put the signatory's title in the name: the conventions named her twice.
    Session.objects.filter(pk=session.pk, signatory_name="La directrice générale de l'ARS Grand Est").update(
        signatory_name="Claire Lambert", signatory_title="La directrice générale de l'ARS Grand Est")
    arbitration.add_member(session, instructor, member, Capacity.MEMBER, "Représentant des organisations syndicales")
    return call
