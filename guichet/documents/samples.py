"""Realistic sample contexts for previews (« Aperçu PDF » in the admin) and tests.

The establishments are real (FINESS, SIRET and address from the SAE 2023 directory extract);
the people, dossiers and amounts are fictitious. Dates are fixed so that previews are stable.
"""

import copy
import datetime as dt
from decimal import Decimal as D

from .models import DocumentKind

LISIEUX = {
    "nom": "CENTRE HOSPITALIER DE LISIEUX",
    "finess": "140000027",
    "siret": "26140091500011",
    "adresse": "4 rue Roger Aini, BP 97223",
    "commune": "14107 Lisieux Cedex",
}
LISIEUX_EJ = {"nom": "CENTRE HOSPITALIER DE LISIEUX", "finess": "140000035", "siren": "261400915"}

ACTIONS = [
    {
        "intitule": "Rails de transfert plafonniers dans les unités de médecine et de soins de longue durée",
        "etablissements": "Centre hospitalier de Lisieux",
        "cout": D("86400.00"), "cout_eligible": D("77000.00"),
        "demande": D("43200.00"), "accorde": D("38500.00"), "plafond": D("38500.00"),
    },
    {
        "intitule": "Formation «\u00a0prévention des troubles musculo-squelettiques\u00a0» de 120 soignants",
        "etablissements": "Centre hospitalier de Lisieux",
        "cout": D("24750.00"), "cout_eligible": D("24750.00"),
        "demande": D("12375.00"), "accorde": D("12375.00"), "plafond": D("12375.00"),
    },
    {
        "intitule": "Aménagement d'une salle de repos pour les équipes de nuit",
        "etablissements": "Centre hospitalier de Lisieux",
        "cout": D("15980.50"), "cout_eligible": D("9624.50"),
        "demande": D("7990.25"), "accorde": D("4812.25"), "plafond": D("4812.25"),
    },
]

MOTIVATIONS = {
    DocumentKind.LETTRE_ACCEPTATION: (
        "Projet fondé sur un diagnostic partagé avec les représentants du personnel et ciblé sur les risques "
        "de troubles musculo-squelettiques. Le montant de l'action 3 est calculé sur son coût éligible, "
        "hors mobilier de confort."),
    DocumentKind.LETTRE_REFUS: (
        "Les actions présentées relèvent du renouvellement courant des équipements et ne s'appuient sur aucun "
        "diagnostic préalable des risques professionnels associant les représentants du personnel, "
        "condition d'éligibilité fixée par le cahier des charges de l'appel à projets."),
    DocumentKind.LETTRE_SANS_SUITE: (
        "Dossier incomplet : malgré la demande de compléments du 15 octobre 2026, le diagnostic des conditions "
        "de travail et le plan de financement signé n'ont pas été transmis avant la date limite du "
        "31 octobre 2026."),
}

APPEL = {"titre": "Contrats locaux d'amélioration des conditions de travail (CLACT) 2026", "annee": 2026}
TODAY = dt.date(2026, 11, 22)


def _letter(kind: str) -> dict:
    actions = copy.deepcopy(ACTIONS)
    if kind in (DocumentKind.LETTRE_REFUS, DocumentKind.LETTRE_SANS_SUITE):
        for action in actions:
            action["accorde"] = action["plafond"] = D("0.00")
    context = {
        "region": "Normandie",
        "etablissement": dict(LISIEUX),
        "entite_juridique": dict(LISIEUX_EJ),
        "appel": dict(APPEL),
        "dossier": {"numero": "CLACT-28-2026-0042", "depose_le": dt.date(2026, 3, 14)},
        "actions": actions,
        "total_demande": sum((a["demande"] for a in actions), D("0.00")),
        "total_accorde": sum((a["accorde"] for a in actions), D("0.00")),
        "taux": D("50"),
        "decision": {"date": dt.date(2026, 11, 20), "motivation": MOTIVATIONS.get(kind, MOTIVATIONS[
            DocumentKind.LETTRE_ACCEPTATION])},
        "convention": {"reference": "CLACT-28-2026-0042", "debut": dt.date(2026, 12, 1), "fin": dt.date(2028, 11, 30)},
        "signataire": {"nom": "Claire Martin",
                       "qualite": "Directrice générale de l'Agence régionale de santé Normandie"},
        "date_du_jour": TODAY,
    }
    if kind == DocumentKind.AVENANT:
        context["avenant"] = {"numero": "3"}
        context["cpom"] = {"reference": "CPOM-28-2024-014", "signe_le": dt.date(2024, 6, 28)}
    return context


def _proces_verbal() -> dict:
    lisieux = copy.deepcopy(ACTIONS)
    bayeux = [
        {"intitule": "Lève-personnes mobiles et verticalisateurs pour l'EHPAD", "etablissements":
            "Centre hospitalier Aunay-Bayeux (site de Bayeux)", "cout": D("31200.00"), "cout_eligible": D("31200.00"),
         "demande": D("15600.00"), "accorde": D("15600.00"), "plafond": D("15600.00")},
        {"intitule": "Accompagnement des cadres à la prévention des risques psychosociaux", "etablissements":
            "Centre hospitalier Aunay-Bayeux", "cout": D("18000.00"), "cout_eligible": D("12000.00"),
         "demande": D("9000.00"), "accorde": D("6000.00"), "plafond": D("6000.00")},
    ]
    caen = [
        {"intitule": "Renouvellement du mobilier des salles de soins", "etablissements": "CHU Côte de Nacre - Caen",
         "cout": D("64000.00"), "cout_eligible": D("0.00"), "demande": D("32000.00"), "accorde": D("0.00"),
         "plafond": D("0.00")},
    ]
    dossiers = [
        {"numero": "CLACT-28-2026-0042", "etablissement": "CENTRE HOSPITALIER DE LISIEUX", "finess": "140000027",
         "score": D("16.50"), "demande": D("63565.25"), "propose": D("55687.25"), "accorde": D("55687.25"),
         "decision": "Accepté", "motivation": MOTIVATIONS[DocumentKind.LETTRE_ACCEPTATION], "actions": lisieux},
        {"numero": "CLACT-28-2026-0051", "etablissement": "CENTRE HOSPITALIER AUNAY-BAYEUX", "finess": "140000076",
         "score": D("14.25"), "demande": D("24600.00"), "propose": D("21600.00"), "accorde": D("21600.00"),
         "decision": "Accepté partiellement",
         "motivation": "Action 2 retenue sur la part éligible (intervention externe hors frais de déplacement).",
         "actions": bayeux},
        {"numero": "CLACT-28-2026-0063", "etablissement": "CHU COTE DE NACRE - CAEN", "finess": "140000209",
         "score": D("7.75"), "demande": D("32000.00"), "propose": D("0.00"), "accorde": D("0.00"),
         "decision": "Refusé", "motivation": MOTIVATIONS[DocumentKind.LETTRE_REFUS], "actions": caen},
    ]
    total = sum((d["accorde"] for d in dossiers), D("0.00"))
    envelope, before = D("1200000.00"), D("412350.00")
    return {
        "region": "Normandie",
        "appel": dict(APPEL),
        "seance": {"titre": "Commission régionale CLACT 2026 — deuxième séance", "date": dt.date(2026, 11, 19),
                   "lieu": "Caen, siège de l'ARS Normandie"},
        "membres": [
            {"nom": "Claire Martin", "qualite": "Directrice générale de l'ARS, présidente"},
            {"nom": "Thomas Lefèvre", "qualite": "Directeur de l'offre de soins"},
            {"nom": "Nadia Benali", "qualite": "Responsable du pôle ressources humaines en santé"},
            {"nom": "Julien Roussel", "qualite": "Représentant des organisations syndicales"},
            {"nom": "Sophie Garnier", "qualite": "Représentante des fédérations d'établissements"},
        ],
        "dossiers": dossiers,
        "enveloppe": envelope,
        "engage": before + total,
        "reste": envelope - before - total,
        "total_accorde": total,
        "date_du_jour": TODAY,
    }


def sample_context(kind: str) -> dict:
    """A realistic context for ``kind``, with every documented placeholder filled."""
    if kind not in DocumentKind.values:
        raise ValueError(f"Unknown document kind: {kind!r}")
    if kind == DocumentKind.PROCES_VERBAL:
        return _proces_verbal()
    return _letter(kind)
