"""Realistic answers for the demo dossiers of the Grand Est commission call: what three establishments would
have typed into the Grand Est form (identification, staff, project, actions) and the pieces they would have
attached (small real PDFs), so that `make demo` shows a real call and not « — » everywhere.

Numbers are fictitious but consistent (SIREN/SIRET with their Luhn key, costs = other funding + request).
"""

from django.core.files.uploadedfile import SimpleUploadedFile
from stdnum import luhn

from guichet.core.files import store_upload
from guichet.formschema import engine

# Per demo dossier (same order as ``demo.PROJECTS``): who they are and what they plan.
PROFILES = [
    {
        "adresse": "12 rue de la Clinique", "code_postal": "67000", "commune": "Strasbourg",
        "telephone": "03 88 00 12 34",
        "email": "direction@clinique-demo-strasbourg.fr", "siren_base": "77560001",
        "effectifs": (38, "31.40", 412, "376.25"), "lits": 220, "places": 30, "absenteisme": "8.40",
        "turnover": "12.10",
        "filieres": [("Soignante", 298, "275.50"), ("Médico-technique", 36, "33.00"), ("Administrative", 48, "42.75"),
                     ("Technique et ouvrière", 30, "25.00")],
        "nature_poles": "Pôle médecine (3 services, 110 lits) et pôle chirurgie-bloc opératoire (80 lits, 8 salles).",
        "themes": ["sante_travail/qualite_prevention", "performance_management/engagement_participatif"],
        "rows": [("sante_travail/qualite_prevention", "Cadres de santé et responsables d'unité", 42,
                  "septembre 2026 à mars 2027"),
                 ("sante_travail/environnement_physique", "Aides-soignants et infirmiers des services de médecine", 120,
                  "premier semestre 2027")],
    },
    {
        "adresse": "5 allée des Tilleuls", "code_postal": "68000", "commune": "Colmar", "telephone": "03 89 00 45 67",
        "email": "accueil@ehpad-demo-colmar.fr", "siren_base": "26680002",
        "effectifs": (2, "1.20", 86, "78.60"), "lits": 96, "places": 12, "absenteisme": "11.20",
        "turnover": "18.50",
        "filieres": [("Soignante", 58, "54.30"), ("Éducative et sociale", 6, "5.50"), ("Administrative", 8, "7.30"),
                     ("Technique et ouvrière", 14, "11.50")],
        "nature_poles": "L'ensemble de l'EHPAD : trois unités d'hébergement, dont une unité protégée de 14 places.",
        "themes": ["sante_travail/organisation_temps", "relations_climat/relations_collegues"],
        "rows": [("sante_travail/organisation_temps", "Équipe de nuit (aides-soignants, agents de service)", 18,
                  "octobre à décembre 2026")],
    },
    {
        "adresse": "29 avenue du Maréchal de Lattre de Tassigny", "code_postal": "54000", "commune": "Nancy",
        "telephone": "03 83 00 78 90", "email": "drh@ch-demo-nancy.fr", "siren_base": "26540003",
        "effectifs": (145, "128.70", 1630, "1502.40"), "lits": 640, "places": 85, "absenteisme": "9.70",
        "turnover": "10.30",
        "filieres": [("Soignante", 1120, "1046.20"), ("Médico-technique", 150, "139.00"),
                     ("Administrative", 210, "192.20"), ("Technique et ouvrière", 150, "125.00")],
        "nature_poles": "Pôles urgences-réanimation et gériatrie ; la démarche participative concerne "
                        "tout l'établissement.",
        "themes": ["relations_climat/discussion_travail", "sante_travail/organisation_temps",
                   "relations_climat/relations_collegues"],
        "rows": [("relations_climat/discussion_travail", "Soignants des urgences et de la réanimation", 160,
                  "de septembre 2026 à juin 2027 (10 séances par équipe)"),
                 ("sante_travail/organisation_temps", "Cadres et représentants des équipes de gériatrie", 95,
                  "de janvier à avril 2027"),
                 ("relations_climat/relations_collegues", "Tous les personnels volontaires des deux pôles", 220,
                  "juin 2027")],
    },
]

PRESENTATION = (
    "Le diagnostic a été conduit de janvier à avril 2026 par un groupe de travail paritaire (direction, "
    "encadrement, représentants du personnel, médecine du travail), à partir du document unique, du bilan "
    "social et d'un questionnaire auquel {taux} % des agents ont répondu. Il fait ressortir une charge physique "
    "élevée, des plannings modifiés tardivement et un manque d'espaces d'échange sur le travail. Le projet "
    "retient les actions ci-dessous, présentées au CSE le 12 mai 2026.")
PRIORITES = ("Les actions sont classées selon la gravité des risques relevés par le document unique et le "
             "nombre d'agents concernés : la première répond aux risques les plus fréquents.")
OBJECTIFS = ("Réduire de 15 % les arrêts de travail liés aux troubles musculo-squelettiques et de deux points "
             "le taux d'absentéisme en trois ans ; améliorer la stabilité des plannings (moins de 5 % de "
             "modifications à moins de 48 heures).")
CALENDRIER = ("Lancement en septembre 2026 après la notification ; suivi trimestriel en comité de pilotage ; "
              "bilan présenté au CSE en juin 2027.")
ARGUMENTAIRE = ("L'établissement finance la moitié du coût de chaque action sur ses fonds propres ; la "
                "contribution demandée à l'ARS couvre l'autre moitié, conformément au taux de cofinancement de "
                "l'appel à projets.")
SUIVI = ("Un comité de suivi paritaire se réunit chaque trimestre ; les indicateurs (absentéisme, accidents du "
         "travail, turn-over, modifications de planning) sont présentés au CSE ; bilan écrit transmis à l'ARS "
         "au terme du contrat.")

# File fields of the Grand Est form and the title printed in each demo PDF.
PIECES = {"rib": "Relevé d'identité bancaire", "contrat_negocie": "Contrat local d'amélioration des conditions "
          "de travail", "avis_cse": "Procès-verbal du CSE - avis sur le projet CLACT",
          "duerp_plan_prevention": "Document unique et plan de prévention",
          "fiche_recapitulative": "Fiche récapitulative du plan de financement"}


def siret_for(base: str) -> tuple[str, str]:
    """A SIREN (8 digits + Luhn key) and one of its SIRETs (+ NIC 0001 and its key), both valid."""
    siren = base + luhn.calc_check_digit(base)
    body = siren + "0001"
    return siren, body + luhn.calc_check_digit(body)


def tiny_pdf(title: str, lines: list[str]) -> bytes:
    """A one-page PDF with a title and a few lines of text (Helvetica, WinAnsi): a real document a reader
    opens, at a few hundred bytes."""
    def text(value: str) -> str:
        return value.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    rows = [f"BT /F1 16 Tf 60 780 Td ({text(title)}) Tj ET"]
    rows += [f"BT /F1 11 Tf 60 {750 - 18 * i} Td ({text(line)}) Tj ET" for i, line in enumerate(lines)]
    stream = "\n".join(rows).encode("cp1252", errors="replace")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
               b"/Contents 5 0 R >>",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
               b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def answers_for(index: int, establishment, actions) -> dict:
    """The typed answers of demo dossier ``index`` (without files nor computed fields)."""
    p = PROFILES[index % len(PROFILES)]
    _, siret = siret_for(p["siren_base"])
    medical, etp_medical, other, etp_other = p["effectifs"]
    entity = establishment.legal_entity
    rows = []
    for position, ((title, cost, requested), (theme, who, agents, when)) in enumerate(zip(actions, p["rows"],
                                                                                         strict=True), start=1):
        rows.append({"intitule": title, "theme_qvct": theme, "priorite": position,
                     "structures_concernees": f"{establishment.name} (FINESS {establishment.finess})",
                     "professionnels_concernes": who, "nombre_agents": agents, "calendrier": when,
                     "cout_total": f"{cost}.00", "autres_financements": f"{int(cost) - int(requested)}.00",
                     "montant_demande": f"{requested}.00"})
    return {
        "demo_index": index, "raison_sociale": establishment.name, "adresse": p["adresse"],
        "code_postal": p["code_postal"], "commune": establishment.city or p["commune"],
        "telephone": p["telephone"], "email": p["email"],
        "finess_juridique": entity.finess if entity else establishment.finess,
        "finess_geographique": establishment.finess, "siret": siret,
        "etablissement_porteur": establishment.finess,
        "effectif_medical": medical, "etp_medical": etp_medical, "effectif_non_medical": other,
        "etp_non_medical": etp_other,
        "effectifs_filieres": [{"filiere": f, "effectif": n, "etp": etp} for f, n, etp in p["filieres"]],
        "nombre_lits": p["lits"], "nombre_places": p["places"], "taux_absenteisme": p["absenteisme"],
        "taux_turnover": p["turnover"],
        "nature_poles": p["nature_poles"], "presentation_projet": PRESENTATION.format(taux=62 + 5 * index),
        "themes_qvct": p["themes"], "priorite_actions": PRIORITES, "objectifs_resultats": OBJECTIFS,
        "calendrier_mise_en_oeuvre": CALENDRIER, "actions": rows, "argumentaire_financement": ARGUMENTAIRE,
        "modalites_suivi": SUIVI, "avis_cse_joint": True,
    }


def fill(dossier, index: int, actions, user) -> None:
    """Give demo dossier ``index`` its answers and attached pieces, computed fields included."""
    from guichet.dossiers.models import Attachment

    answers = answers_for(index, dossier.establishment, actions)
    schema = dossier.form_version.parsed()
    for key, title in PIECES.items():
        if schema.field(key) is None:
            continue
        name = f"{title.split(' - ')[0]} - {dossier.establishment.name}.pdf".replace("/", "-")
        pdf = tiny_pdf(title, [dossier.establishment.name, f"FINESS {dossier.establishment.finess}",
                               "Document de démonstration."])
        attachment = store_upload(Attachment(dossier=dossier, field_path=key),
                                  SimpleUploadedFile(name, pdf, content_type="application/pdf"),
                                  folder="dossiers", prefix=str(dossier.pk), user=user)
        answers[key] = {"attachment": attachment.pk, "name": attachment.original_name, "size": attachment.size}
    dossier.answers = engine.compute(schema, answers, dossier.call.cofinancing_rate)
    dossier.save(update_fields=["answers", "updated_at"])
