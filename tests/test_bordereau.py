"""The bordereau récapitulatif (seed 001: « un onglet par établissement »): downloaded pre-filled with the
legal entity's funded actions, filled in Excel (here with openpyxl), uploaded back and read cell by cell
into the dossier's invoice lines; every wrong cell reported with its sheet, row and column, and then nothing
changes; who may download and upload it; the cell readers' properties (hypothesis)."""

import datetime as dt
import html
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from guichet.calls.models import CallKind
from guichet.dossiers import services, workflow
from guichet.dossiers.models import Attachment, Dossier, State
from guichet.establishments.models import LegalEntity
from guichet.funding import bordereau, payments, proofs
from guichet.funding.bordereau import CellValueError, read_amount, read_date
from guichet.funding.models import InvoiceLine, LineStatus
from tests.factories import (
    CallFactory,
    DossierFactory,
    EstablishmentFactory,
    InstructorFactory,
    UserFactory,
    region,
)
from tests.test_payments import WINDOWS, make_grant

LISIEUX, BAYEUX = "140000027 CH LISIEUX", "140000076 CH AUNAY-BAYEUX"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
COLUMN = {"supplier": "G", "number": "H", "invoice_date": "I", "amount_ht": "J", "amount_ttc": "K"}


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def setting(db):
    """A legal entity with two sites: the CH de Lisieux (grant 2022: a training action for both sites, a
    rail action for Lisieux alone) and the CH d'Aunay-Bayeux (grant 2024: a rest room); a proofs dossier of
    Lisieux, under construction."""
    call = CallFactory(kind=CallKind.PROOFS, year=2024, envelope=None, payment_windows=WINDOWS,
                       covered_years=[2022, 2024])
    lisieux = EstablishmentFactory()
    bayeux = EstablishmentFactory(finess="140000076", siret="26140092300015", name="CENTRE HOSPITALIER AUNAY-BAYEUX",
                                  legal_entity=lisieux.legal_entity)
    g1 = make_grant(lisieux, ["8000", "3000"], paid_before=["2000", "0"], year=2022, reference="AVENANT-2022-1")
    g2 = make_grant(bayeux, ["5000"], year=2024, reference="CONV-2024-7")
    formation, rails = g1.actions.order_by("position")
    formation.title, rails.title = "Formation à la manutention", "Rails de transfert"
    formation.save()
    rails.save()
    formation.establishments.set([lisieux, bayeux])
    [repos] = g2.actions.all()
    repos.title = "Salle de repos"
    repos.save()
    dossier = DossierFactory(call=call, establishment=lisieux)
    Dossier.objects.filter(pk=dossier.pk).update(state=State.EN_CONSTRUCTION, number=f"2024-32-{dossier.pk:06d}")
    dossier.refresh_from_db()
    return {"call": call, "lisieux": lisieux, "bayeux": bayeux, "formation": formation, "rails": rails,
            "repos": repos, "dossier": dossier, "user": dossier.created_by}


def download(client, dossier):
    response = client.get(reverse("funding:bordereau", args=[dossier.pk]))
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == bordereau.XLSX
    return load_workbook(io.BytesIO(response.content))


def save(wb) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def upload(client, dossier, content, name="bordereau.xlsx"):
    return client.post(reverse("funding:bordereau_upload", args=[dossier.pk]),
                       {"file": SimpleUploadedFile(name, content, content_type=bordereau.XLSX)})


def fill(ws, reference, supplier, number, invoice_date, ht, ttc) -> int:
    """Type one invoice on the first free row of the action's block; returns the row."""
    for row in range(12, ws.max_row + 1):
        if ws[f"A{row}"].value == reference and ws[f"G{row}"].value is None:
            for key, value in zip(COLUMN, (supplier, number, invoice_date, ht, ttc), strict=True):
                ws[f"{COLUMN[key]}{row}"] = value
            return row
    raise AssertionError(f"no free row for {reference}")


def lines_of(dossier):
    return sorted((line.action_id, line.establishment_id, line.supplier, line.number, line.invoice_date,
                   line.amount_ht, line.amount_ttc, line.source, line.status)
                  for line in InvoiceLine.objects.filter(dossier=dossier))


def test_one_sheet_per_establishment_with_the_actions_concerning_it(client, setting):
    client.force_login(setting["user"])
    wb = download(client, setting["dossier"])
    assert wb.sheetnames == [LISIEUX, BAYEUX]
    lisieux, bayeux = wb[LISIEUX], wb[BAYEUX]
    assert [lisieux[f"A{r}"].value for r in range(2, 8)] == [
        "Entité juridique", "FINESS juridique", "Établissement", "FINESS géographique", "Appel", "Dossier"]
    assert (lisieux["B3"].value, lisieux["B5"].value, bayeux["B5"].value) == ("140000035", "140000027", "140000076")
    assert lisieux["B3"].data_type == "s" and lisieux["B6"].value == setting["call"].title
    assert [c.value for c in lisieux[11]][:11] == [
        "Référence de l'action", "Convention", "Année", "Action", "Plafond (€)", "Déjà versé (€)", "Fournisseur",
        "N° de facture", "Date de la facture", "Montant HT (€)", "Montant TTC (€)"]

    def references(ws):
        return list(dict.fromkeys(ws[f"A{r}"].value for r in range(12, ws.max_row + 1)
                                  if (ws[f"A{r}"].value or "").startswith(("AVENANT", "CONV"))))

    # The training concerns both sites: on both sheets; the rails (no site named) on the beneficiary's.
    assert references(lisieux) == ["AVENANT-2022-1 / 1", "AVENANT-2022-1 / 2"]
    assert references(bayeux) == ["AVENANT-2022-1 / 1", "CONV-2024-7 / 1"]
    assert [lisieux[f"{c}12"].value for c in "BCDEF"] == ["AVENANT-2022-1", 2022, "Formation à la manutention",
                                                         8000, 2000]
    assert sum(1 for r in range(12, 40) if lisieux[f"A{r}"].value == "AVENANT-2022-1 / 1") == 10
    # Typed cells: euros, dates; the description is locked, the invoice columns are not.
    assert lisieux["E12"].number_format == lisieux["J12"].number_format == '#,##0.00 "€"'
    assert lisieux["I12"].number_format == "DD/MM/YYYY"
    assert lisieux.protection.sheet and lisieux["A12"].protection.locked and not lisieux["G12"].protection.locked
    assert {str(dv.sqref).split(":")[0][0] for dv in lisieux.data_validations.dataValidation} >= {"I", "J", "A"}


def test_round_trip_on_two_sheets(client, setting):
    dossier, user = setting["dossier"], setting["user"]
    client.force_login(user)
    wb = download(client, dossier)
    fill(wb[LISIEUX], "AVENANT-2022-1 / 1", "Ergonomie Conseil", "F-2024-001", dt.datetime(2024, 3, 15), 1000,
         1200)
    fill(wb[LISIEUX], "AVENANT-2022-1 / 2", "Rails & Cie", 4567, dt.date(2024, 2, 1), 2500.5, 3000.6)
    fill(wb[BAYEUX], "AVENANT-2022-1 / 1", "Ergonomie Conseil", "F-2024-002", "16/03/2024", "1 000", "1 200,00 €")
    fill(wb[BAYEUX], "CONV-2024-7 / 1", "Mobilier Normand", "MN 88", "2024-04-02", "1 200,50", "1440,60")
    response = upload(client, dossier, save(wb))
    assert response.status_code == 302
    assert response["Location"] == reverse("funding:invoices", args=[dossier.pk]) + "#factures-sans-fichier"
    page = text(client.get(response["Location"]))
    assert ("4 factures lues dans le bordereau (4 ajoutées). 4 factures attendent encore leur fichier : "
            "joignez-le ci-dessous, le dossier ne peut pas être déposé sans.") in page
    assert f'href="{reverse("funding:bordereau", args=[dossier.pk])}"' in page  # the invoices page offers it
    s = setting
    assert lines_of(dossier) == sorted([
        (s["formation"].pk, s["lisieux"].pk, "Ergonomie Conseil", "F-2024-001", dt.date(2024, 3, 15),
         Decimal("1000.00"), Decimal("1200.00"), "bordereau", LineStatus.PENDING),
        (s["rails"].pk, s["lisieux"].pk, "Rails & Cie", "4567", dt.date(2024, 2, 1), Decimal("2500.50"),
         Decimal("3000.60"), "bordereau", LineStatus.PENDING),
        (s["formation"].pk, s["bayeux"].pk, "Ergonomie Conseil", "F-2024-002", dt.date(2024, 3, 16),
         Decimal("1000.00"), Decimal("1200.00"), "bordereau", LineStatus.PENDING),
        (s["repos"].pk, s["bayeux"].pk, "Mobilier Normand", "MN 88", dt.date(2024, 4, 2), Decimal("1200.50"),
         Decimal("1440.60"), "bordereau", LineStatus.PENDING),
    ])
    stored = Attachment.objects.get(dossier=dossier, field_path="bordereau")
    assert stored.original_name == "bordereau.xlsx"
    # The lines come back in the next download, on their sheet.
    again = download(client, dossier)
    assert [again[LISIEUX][f"{c}12"].value for c in "GHIJK"] == ["Ergonomie Conseil", "F-2024-001",
                                                                dt.datetime(2024, 3, 15), 1000, 1200]
    assert again[BAYEUX]["G12"].value == "Ergonomie Conseil" and again[BAYEUX]["H12"].value == "F-2024-002"


def test_a_bordereau_read_dossier_is_filed_only_once_each_invoice_has_its_file(client, setting):
    """Seed 001: « les pièces justificatives correspondantes à chaque action ». The bordereau gives the
    amounts, not the invoices: each line read from it waits for its file, listed at the line (on the filing
    page, linked to where it is attached), and the dossier cannot be filed until every one has it."""
    from django.utils import timezone

    dossier, user, call = setting["dossier"], setting["user"], setting["call"]
    today = timezone.localdate().isoformat()
    call.payment_windows = [*WINDOWS, {"label": "Exercice en cours", "received_from": today, "received_until": today,
                                       "paid_by": today}]
    call.save(update_fields=["payment_windows"])
    Dossier.objects.filter(pk=dossier.pk).update(state=State.BROUILLON, number=None,
                                                 answers={"nom_projet": "Justificatifs 2024", "cout": "2440.60"})
    dossier.refresh_from_db()
    client.force_login(user)
    wb = download(client, dossier)
    fill(wb[LISIEUX], "AVENANT-2022-1 / 1", "Ergonomie Conseil", "F-2024-001", dt.date(2024, 3, 15), 1000, 1200)
    fill(wb[BAYEUX], "CONV-2024-7 / 1", "Mobilier Normand", "MN 88", dt.date(2024, 4, 2), "1 200,50", "1440,60")
    assert upload(client, dossier, save(wb)).status_code == 302
    for action in (setting["formation"], setting["repos"]):
        proofs.set_progress(dossier, user, action, "totale")
    formation_line = InvoiceLine.objects.get(dossier=dossier, number="F-2024-001")
    repos_line = InvoiceLine.objects.get(dossier=dossier, number="MN 88")
    invoices_url = reverse("funding:invoices", args=[dossier.pk])

    # The filing page lists each line without its file, linked to where it is attached; filing is refused.
    assert proofs.missing(dossier) == [
        "Joignez le fichier de la facture n° F-2024-001 de Ergonomie Conseil (1\u202f200,00\u00a0€ TTC, action "
        "« Formation à la manutention »).",
        "Joignez le fichier de la facture n° MN 88 de Mobilier Normand (1\u202f440,60\u00a0€ TTC, action "
        "« Salle de repos »)."]
    page = text(client.get(reverse("dossiers:file", args=[dossier.pk])))
    assert "Le dossier est complet." not in page
    assert f'href="{invoices_url}#fichier-facture-{formation_line.pk}"' in page
    assert f'href="{invoices_url}#fichier-facture-{repos_line.pk}"' in page
    client.post(reverse("dossiers:file", args=[dossier.pk]))
    dossier.refresh_from_db()
    assert dossier.state == State.BROUILLON and dossier.first_filed_at is None

    # The invoices page lists the two lines waiting, each with its own upload form (no JavaScript needed).
    page = text(client.get(invoices_url))
    assert "2 factures en attente de leur fichier" in page
    for line in (formation_line, repos_line):
        assert f'id="fichier-facture-{line.pk}"' in page
        assert f'action="{reverse("funding:invoice_file", args=[dossier.pk, line.pk])}"' in page
    file_url = reverse("funding:invoice_file", args=[dossier.pk, formation_line.pk])
    # A wrong file: the message at the line, nothing attached.
    response = client.post(file_url, {"file": SimpleUploadedFile("facture.exe", b"MZ\x90\x00")})
    assert response.status_code == 400
    assert "Le fichier « facture.exe » n'est pas d'un type accepté." in text(response)
    response = client.post(file_url, {})
    assert response.status_code == 400 and "Choisissez le fichier de la facture (PDF, JPG ou PNG)." in text(response)
    formation_line.refresh_from_db()
    assert formation_line.attachment is None
    # Nobody else attaches a file: another establishment's member, the ARS.
    outsider = UserFactory()
    EstablishmentFactory(finess="140000209", siret="26140093100018", name="CHU COTE DE NACRE - CAEN",
                         legal_entity=LegalEntity.objects.create(finess="140000100", siren="261400931",
                                                                 name="CHU COTE DE NACRE - CAEN")).members.add(outsider)
    for other in (outsider, InstructorFactory()):
        client.force_login(other)
        assert client.post(file_url, {"file": SimpleUploadedFile("f.pdf", PDF)}).status_code == 404
    formation_line.refresh_from_db()
    assert formation_line.attachment is None

    client.force_login(user)
    response = client.post(file_url, {"file": SimpleUploadedFile("facture F-2024-001.pdf", PDF)})
    assert response.status_code == 302
    formation_line.refresh_from_db()
    stored = formation_line.attachment
    assert (stored.original_name, stored.field_path, stored.dossier_id) == (
        "facture F-2024-001.pdf", f"factures.{formation_line.pk}", dossier.pk)
    page = text(client.get(invoices_url))
    assert "1 facture en attente de son fichier" in page and f'id="fichier-facture-{repos_line.pk}"' in page
    assert len(proofs.missing(dossier)) == 1
    client.post(reverse("dossiers:file", args=[dossier.pk]))
    dossier.refresh_from_db()
    assert dossier.state == State.BROUILLON

    client.post(reverse("funding:invoice_file", args=[dossier.pk, repos_line.pk]),
                {"file": SimpleUploadedFile("MN 88.pdf", PDF)})
    assert proofs.missing(dossier) == []
    assert "en attente de" not in text(client.get(invoices_url))
    assert "Le dossier est complet." in text(client.get(reverse("dossiers:file", args=[dossier.pk])))
    services.file_dossier(dossier, user)
    dossier.refresh_from_db()
    assert dossier.state == State.EN_CONSTRUCTION
    # Taken into instruction by the ARS: the files stay as they are.
    instructor = InstructorFactory()
    workflow.apply(dossier, "passer_en_instruction", instructor)
    response = client.post(file_url, {"file": SimpleUploadedFile("autre.pdf", PDF)})
    assert response.status_code == 404
    formation_line.refresh_from_db()
    assert formation_line.attachment == stored

    # A correction asked: an invoice added without its file holds the corrections back, as it held the filing.
    workflow.apply(dossier, "demander_correction", instructor, motivation="Ajoutez la facture des rails.")
    dossier.refresh_from_db()
    rails_line = proofs.add_line(dossier, user, proofs.LineInput(
        action=setting["rails"], supplier="Rails & Cie", number="4567", invoice_date=dt.date(2024, 2, 1),
        amount_ht=Decimal("2500.50"), amount_ttc=Decimal("3000.60")))
    with pytest.raises(workflow.TransitionError) as refused:
        workflow.apply(dossier, "deposer_corrections", user)
    assert refused.value.messages == ["Joignez le fichier de chaque facture avant de déposer les corrections : "
                                      "1 facture sans fichier (n° 4567 de Rails & Cie)."]
    client.post(reverse("funding:invoice_file", args=[dossier.pk, rails_line.pk]),
                {"file": SimpleUploadedFile("4567.pdf", PDF)})
    workflow.apply(dossier, "deposer_corrections", user)
    dossier.refresh_from_db()
    assert not dossier.correction_requested


def test_lines_typed_online_and_lines_judged_by_the_ars_survive_a_download_and_upload(client, setting):
    dossier, user = setting["dossier"], setting["user"]
    online = proofs.add_line(dossier, user, proofs.LineInput(
        action=setting["rails"], supplier="=1+1 Conseil", number="0042", invoice_date=dt.date(2024, 1, 10),
        amount_ht=Decimal("100.10"), amount_ttc=Decimal("120.12")),
        upload=SimpleUploadedFile("facture.pdf", b"%PDF-1.4\n%%EOF\n"))
    judged = proofs.add_line(dossier, user, proofs.LineInput(
        action=setting["repos"], supplier="Mobilier Normand", number="MN 1", invoice_date=dt.date(2024, 1, 5),
        amount_ht=Decimal("500"), amount_ttc=Decimal("600"), establishment=setting["bayeux"]),
        upload=SimpleUploadedFile("devis-mobilier.pdf", b"%PDF-1.4\n%%EOF\n"))
    [old_action] = make_grant(setting["lisieux"], ["1000"], year=2019, reference="ANCIENNE-2019").actions.all()
    uncovered = InvoiceLine.objects.create(dossier=dossier, action=old_action, supplier="Ancien", number="A-1",
                                           invoice_date=dt.date(2019, 5, 1), amount_ht=1, amount_ttc=1)
    Dossier.objects.filter(pk=dossier.pk).update(state=State.EN_INSTRUCTION)
    payments.validate_line(InvoiceLine.objects.get(pk=judged.pk), InstructorFactory(), LineStatus.ACCEPTED)
    Dossier.objects.filter(pk=dossier.pk).update(state=State.EN_CONSTRUCTION)  # a correction was asked
    client.force_login(user)
    wb = download(client, dossier)
    assert [wb[LISIEUX][f"{c}22"].value for c in "AGH"] == ["AVENANT-2022-1 / 2", "=1+1 Conseil", "0042"]
    assert wb[LISIEUX]["G22"].data_type == "s"  # typed text is never a formula
    assert wb[BAYEUX]["L22"].value == "Acceptée."
    fill(wb[BAYEUX], "CONV-2024-7 / 1", "Mobilier Normand", "MN 2", dt.date(2024, 2, 5), 50, 60)
    response = upload(client, dossier, save(wb))
    assert response.status_code == 302
    message = "3 factures lues dans le bordereau (1 ajoutée, 2 déjà enregistrées)."
    assert message in text(client.get(response["Location"]))
    lines = InvoiceLine.objects.filter(dossier=dossier)
    assert lines.count() == 4
    kept = lines.get(pk=online.pk)  # the same line, with its invoice file
    assert kept.attachment is not None and kept.supplier == "=1+1 Conseil" and kept.establishment == setting["lisieux"]
    assert lines.get(pk=judged.pk).status == LineStatus.ACCEPTED
    assert lines.get(number="MN 2").source == "bordereau"
    # A pending line left out of the file goes; the ARS's judged line stays even when left out.
    wb = download(client, dossier)
    for ws in wb.worksheets:
        for row in range(12, ws.max_row + 1):
            if ws[f"H{row}"].value in ("0042", "MN 1"):
                for c in "GHIJK":
                    ws[f"{c}{row}"] = None
    response = upload(client, dossier, save(wb))
    assert "1 facture lue dans le bordereau (1 déjà enregistrée, 1 retirée car absente du fichier)." in text(
        client.get(response["Location"]))
    # A line of an action this call does not cover is not in the file, and is left alone.
    assert set(lines.values_list("number", flat=True)) == {"MN 1", "MN 2", "A-1"} and uncovered.pk in set(
        lines.values_list("pk", flat=True))


def test_uploading_the_same_file_twice_leaves_the_same_lines(client, setting):
    dossier = setting["dossier"]
    client.force_login(setting["user"])
    wb = download(client, dossier)
    fill(wb[LISIEUX], "AVENANT-2022-1 / 1", "Ergonomie Conseil", "F-1", dt.date(2024, 3, 15), 1000, 1200)
    fill(wb[BAYEUX], "CONV-2024-7 / 1", "Mobilier Normand", "MN 88", dt.date(2024, 4, 2), 1200.5, 1440.6)
    content = save(wb)
    upload(client, dossier, content)
    first = sorted(InvoiceLine.objects.filter(dossier=dossier).values_list("pk", "action_id", "establishment_id",
                                                                           "amount_ttc"))
    response = upload(client, dossier, content)
    assert "2 factures lues dans le bordereau (2 déjà enregistrées)." in text(client.get(response["Location"]))
    assert sorted(InvoiceLine.objects.filter(dossier=dossier).values_list(
        "pk", "action_id", "establishment_id", "amount_ttc")) == first
    # The downloaded file, unchanged, reads back as the same lines too.
    upload(client, dossier, save(download(client, dossier)))
    assert sorted(InvoiceLine.objects.filter(dossier=dossier).values_list(
        "pk", "action_id", "establishment_id", "amount_ttc")) == first


def test_wrong_cells_are_reported_with_their_position_and_nothing_changes(client, setting):
    dossier, user = setting["dossier"], setting["user"]
    before = proofs.add_line(dossier, user, proofs.LineInput(
        action=setting["rails"], supplier="Rails & Cie", number="R-1", invoice_date=dt.date(2024, 1, 10),
        amount_ht=Decimal("100"), amount_ttc=Decimal("120")))
    other = EstablishmentFactory(finess="140000209", siret="26140093100018", name="CHU COTE DE NACRE - CAEN",
                                 legal_entity=LegalEntity.objects.create(finess="140000100", name="CHU DE CAEN"))
    client.force_login(user)
    wb = download(client, dossier)
    lisieux, bayeux = wb[LISIEUX], wb[BAYEUX]
    fill(lisieux, "AVENANT-2022-1 / 1", "Ergonomie Conseil", "F-1", "31/02/2024", 1000, 1200)  # row 12
    fill(lisieux, "AVENANT-2022-1 / 1", "Ergonomie Conseil", "F-2", "hier", "beaucoup", 1200)  # row 13
    fill(lisieux, "AVENANT-2022-1 / 1", "Ergonomie Conseil", "F-3", dt.date(2024, 3, 1), 1200, 1000)  # row 14
    fill(lisieux, "AVENANT-2022-1 / 1", "Ergonomie Conseil", None, dt.date(2024, 3, 1), "12,345", -5)  # row 15
    lisieux["A16"] = "AVENANT-2022-1 / 2"  # altered: the row still describes the training
    fill(lisieux, "AVENANT-2022-1 / 2", "Ergonomie Conseil", "F-5", dt.date(2024, 3, 1), 10, 12)  # row 16
    fill(lisieux, "AVENANT-2022-1 / 2", "Rails & Cie", "F-6", dt.date(2099, 1, 1), 10.001, 12)  # row 23
    bayeux["A12"] = "AVENANT-2022-1 / 9"  # unknown
    fill(bayeux, "AVENANT-2022-1 / 9", "X", "1", dt.date(2024, 3, 1), 10, 12)
    extra = next(r for r in range(12, bayeux.max_row + 1) if bayeux[f"A{r}"].value == "Factures supplémentaires") + 1
    bayeux[f"A{extra}"] = "AVENANT-2022-1 / 2"  # the rails do not concern Bayeux
    bayeux[f"G{extra}"], bayeux[f"H{extra}"], bayeux[f"I{extra}"] = "Rails & Cie", "F-7", dt.date(2024, 3, 1)
    bayeux[f"J{extra}"], bayeux[f"K{extra}"] = 10, 12
    foreign = wb.copy_worksheet(bayeux)
    foreign.title = "Caen"
    foreign["B5"] = other.finess
    response = upload(client, dossier, save(wb))
    assert response.status_code == 200
    page = text(response)
    assert 'role="alert"' in page and "Aucune facture n'a été enregistrée ni retirée." in page
    assert f'href="{reverse("funding:invoices", args=[dossier.pk])}"' in page
    for expected in [
        f"Onglet « {LISIEUX} », ligne 12, colonne I (« Date de la facture ») : la date « 31/02/2024 » n'existe pas ; "
        "saisissez une date, par exemple 15/03/2024.",
        f"Onglet « {LISIEUX} », ligne 13, colonne I (« Date de la facture ») : saisissez une date, par exemple "
        "15/03/2024.",
        f"Onglet « {LISIEUX} », ligne 13, colonne J (« Montant HT (€) ») : saisissez un montant en euros, par exemple "
        "1 200,50.",
        f"Onglet « {LISIEUX} », ligne 14, colonne K (« Montant TTC (€) ») : le montant TTC ne peut pas être inférieur "
        "au montant HT.",
        f"Onglet « {LISIEUX} », ligne 15, colonne H (« N° de facture ») : indiquez le numéro de la facture.",
        f"Onglet « {LISIEUX} », ligne 15, colonne J (« Montant HT (€) ») : montant « 12,345 » ambigu",
        f"Onglet « {LISIEUX} », ligne 15, colonne K (« Montant TTC (€) ») : le montant doit être positif.",
        f"Onglet « {LISIEUX} », ligne 16, colonne A (« Référence de l'action ») : la référence « AVENANT-2022-1 / 2 » "
        "ne correspond pas à la convention et à l'action écrites sur la ligne",
        f"Onglet « {LISIEUX} », ligne 23, colonne I (« Date de la facture ») : la date de la facture ne peut pas être "
        "dans le futur.",
        f"Onglet « {LISIEUX} », ligne 23, colonne J (« Montant HT (€) ») : le montant s'écrit en euros et centimes, "
        "deux décimales au plus.",
        f"Onglet « {BAYEUX} », ligne 12, colonne A (« Référence de l'action ») : référence d'action inconnue "
        "« AVENANT-2022-1 / 9 »",
        f"Onglet « {BAYEUX} », ligne {extra}, colonne A (« Référence de l'action ») : l'action « Rails de transfert » "
        f"ne concerne pas l'établissement de cet onglet (FINESS 140000076) : reportez la facture dans l'onglet "
        f"« {LISIEUX} ».",
        "Onglet « Caen », ligne 5, colonne B (« FINESS géographique ») : le FINESS « 140000209 » n'est pas celui "
        "d'un établissement de l'entité juridique « CENTRE HOSPITALIER DE LISIEUX »",
    ]:
        assert expected in page
    assert page.count("<li>Onglet") == 13
    assert list(InvoiceLine.objects.filter(dossier=dossier).values_list("pk", flat=True)) == [before.pk]
    assert not Attachment.objects.filter(dossier=dossier, field_path="bordereau").exists()


def test_a_row_partly_filled_and_a_duplicate_invoice(setting):
    dossier, user = setting["dossier"], setting["user"]
    wb = load_workbook(io.BytesIO(bordereau.workbook(dossier)))
    fill(wb[LISIEUX], "AVENANT-2022-1 / 1", "Ergonomie Conseil", None, None, 1000, None)
    fill(wb[LISIEUX], "AVENANT-2022-1 / 1", "Ergonomie Conseil", "F-9", dt.date(2024, 3, 1), 100, 120)
    fill(wb[BAYEUX], "AVENANT-2022-1 / 1", "ergonomie conseil", "f-9", dt.date(2024, 3, 2), 100, 120)
    result = bordereau.import_into(dossier, save(wb), user)
    assert [(e.sheet, e.row, e.column_letter, e.message) for e in result.errors] == [
        (LISIEUX, 12, "H", "indiquez le numéro de la facture."),
        (LISIEUX, 12, "I", "indiquez la date de la facture."),
        (LISIEUX, 12, "K", "indiquez le montant toutes taxes comprises."),
        (BAYEUX, 12, "H", "cette facture de « ergonomie conseil » figure déjà pour cette action "
                          f"(onglet « {LISIEUX} », ligne 13) : ne la comptez qu'une fois."),
    ]
    assert not InvoiceLine.objects.filter(dossier=dossier).exists()


@pytest.mark.parametrize(("content", "message"), [
    (b"%PDF-1.4\n%%EOF\n", "n'est pas un classeur Excel (.xlsx) lisible"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500, "au format Excel 97-2003 (.xls)"),
    (b"", "Le fichier déposé est vide."),
    (None, "Choisissez le fichier du bordereau complété (.xlsx)."),
])
def test_a_file_that_is_not_an_xlsx(client, setting, content, message):
    dossier = setting["dossier"]
    client.force_login(setting["user"])
    if content is None:
        response = client.post(reverse("funding:bordereau_upload", args=[dossier.pk]), {})
    else:
        response = upload(client, dossier, content, name="bordereau.xlsx")
    assert response.status_code == 200
    page = text(response)
    assert 'role="alert"' in page and message in page
    assert not InvoiceLine.objects.filter(dossier=dossier).exists()


def test_an_ods_and_an_empty_bordereau(setting):
    import zipfile

    dossier, user = setting["dossier"], setting["user"]
    ods = io.BytesIO()
    with zipfile.ZipFile(ods, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    assert "au format OpenDocument (.ods)" in bordereau.read(dossier, ods.getvalue()).errors[0].text
    empty = bordereau.import_into(dossier, bordereau.workbook(dossier), user)
    assert [e.text for e in empty.errors] == [
        "Le bordereau ne contient aucune facture : remplissez au moins une ligne (fournisseur, n° de facture, date, "
        "montants HT et TTC) dans l'onglet de l'établissement concerné."]


def test_a_sheet_of_notes_is_ignored(setting):
    dossier = setting["dossier"]
    wb = load_workbook(io.BytesIO(bordereau.workbook(dossier)))
    fill(wb[LISIEUX], "AVENANT-2022-1 / 1", "Ergonomie Conseil", "F-1", dt.date(2024, 3, 1), 100, 120)
    wb.create_sheet("Notes")["A1"] = "À envoyer avant le 31 mai"
    result = bordereau.read(dossier, save(wb))
    assert result.ok and len(result.lines) == 1 and result.ignored_sheets == ["Notes"]
    assert result.lines[0].establishment == setting["lisieux"] and result.lines[0].action == setting["formation"]


def test_a_legal_entity_with_several_establishments_gets_one_sheet_each(setting):
    dossier, lisieux = setting["dossier"], setting["lisieux"]
    sites = [EstablishmentFactory(finess=f"14000{n}", siret="", name=f"EHPAD LES TILLEULS {n}",
                                  legal_entity=lisieux.legal_entity) for n in ("0118", "0126")]
    setting["formation"].establishments.add(*sites)
    wb = load_workbook(io.BytesIO(bordereau.workbook(dossier)))
    # The dossier's establishment first, then by FINESS.
    assert wb.sheetnames == [LISIEUX, BAYEUX, "140000118 EHPAD TILLEULS 0118", "140000126 EHPAD TILLEULS 0126"]
    assert all(len(title) <= 31 for title in wb.sheetnames)
    assert [wb[t]["B5"].value for t in wb.sheetnames] == ["140000027", "140000076", "140000118", "140000126"]


def test_sheet_titles_fit_excel():
    class Site:
        finess = "2A0000154"
        name = "CENTRE HOSPITALIER UNIVERSITAIRE DE LA RÉGION [SUD]: A/B*?"

    taken: set[str] = set()
    first, second = bordereau.sheet_title(Site, taken), bordereau.sheet_title(Site, taken)
    assert first == "2A0000154 CHU REGION SUD AB"[:31] and len(second) <= 31 and second != first
    assert not set("[]:*?/\\") & set(first + second)


def test_who_may_download_and_upload(client, setting):
    dossier = setting["dossier"]
    xlsx_url = reverse("funding:bordereau", args=[dossier.pk])
    wb = load_workbook(io.BytesIO(bordereau.workbook(dossier)))
    fill(wb[LISIEUX], "AVENANT-2022-1 / 1", "Ergonomie Conseil", "F-1", dt.date(2024, 3, 1), 100, 120)
    content = save(wb)
    # Another applicant: as if the dossier did not exist.
    client.force_login(UserFactory())
    assert client.get(xlsx_url).status_code == 404
    assert upload(client, dossier, content).status_code == 404
    # The region's ARS staff download it, and do not upload it.
    client.force_login(InstructorFactory())
    assert client.get(xlsx_url).status_code == 200
    assert upload(client, dossier, content).status_code == 404
    # Another region's ARS staff: 404.
    client.force_login(InstructorFactory(region=region("11")))
    assert client.get(xlsx_url).status_code == 404
    assert upload(client, dossier, content).status_code == 404
    # A member, once the dossier is in instruction: downloads, may no longer upload.
    Dossier.objects.filter(pk=dossier.pk).update(state=State.EN_INSTRUCTION)
    client.force_login(setting["user"])
    assert client.get(xlsx_url).status_code == 200
    response = upload(client, dossier, content)
    assert response.status_code == 302
    assert "Ce dossier n'est plus modifiable" in text(client.get(response["Location"]))
    # Anonymous: to the login page.
    client.logout()
    assert client.get(xlsx_url).status_code == 302
    assert not InvoiceLine.objects.filter(dossier=dossier).exists()
    # Not a proofs dossier: 404.
    application = DossierFactory(created_by=setting["user"])
    client.force_login(setting["user"])
    assert client.get(reverse("funding:bordereau", args=[application.pk])).status_code == 404


# --- the cell readers ------------------------------------------------------------------------------

CENTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999999.99"), places=2)


def french(amount: Decimal, space: str) -> str:
    return f"{amount:,.2f}".replace(",", space).replace(".", ",")


@given(CENTS, st.sampled_from([" ", "\u00a0", "\u202f", ""]), st.sampled_from(["", " €", "€", " EUR"]))
def test_amounts_read_back_from_numbers_and_french_text(amount, space, currency):
    assert read_amount(float(amount)) == amount
    assert read_amount(french(amount, space) + currency) == amount
    assert read_amount(f"{amount:f}") == amount
    if amount == amount.to_integral():
        assert read_amount(int(amount)) == amount
    if amount >= 1000:
        assert read_amount(f"{amount:,.2f}") == amount  # « 1,200.50 »
        assert read_amount(f"{amount:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")) == amount


@given(st.one_of(st.text(max_size=20), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                 st.dates(), st.integers()))
def test_an_amount_cell_is_a_decimal_or_a_french_message(value):
    try:
        result = read_amount(value)
    except CellValueError as exc:
        assert str(exc)[0].islower() and str(exc).endswith(".")
    else:
        assert isinstance(result, Decimal) and result.is_finite()


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2999, 12, 31)))
def test_dates_read_back_from_cells_and_text(day):
    assert read_date(day) == day
    assert read_date(dt.datetime.combine(day, dt.time())) == day
    assert read_date(f"{day:%d/%m/%Y}") == day
    assert read_date(f" {day.day}/{day.month}/{day.year} ") == day
    assert read_date(f"{day:%d.%m.%Y}") == read_date(f"{day:%d-%m-%Y}") == read_date(day.isoformat()) == day


@given(st.one_of(st.text(max_size=20), st.integers(), st.floats(), st.booleans(), st.none()))
def test_a_date_cell_is_a_date_or_a_french_message(value):
    try:
        result = read_date(value)
    except CellValueError as exc:
        assert "par exemple 15/03/2024" in str(exc)
    else:
        assert isinstance(result, dt.date)


def test_amount_readers_refuse_the_ambiguous_and_keep_the_decimals_for_check_line():
    assert read_amount("1 200,50") == Decimal("1200.50")
    assert read_amount("1.200,50") == Decimal("1200.50")
    assert read_amount("0,125") == Decimal("0.125")  # proofs.check_line says « deux décimales au plus »
    assert read_amount(0.1 + 0.2) == Decimal("0.30")  # a formula's float noise
    assert read_amount(-12.5) == Decimal("-12.5")  # check_line says « doit être positif »
    for ambiguous in ("1.200", "1,200"):
        with pytest.raises(CellValueError, match="ambigu"):
            read_amount(ambiguous)
    with pytest.raises(CellValueError, match="trop élevé"):
        read_amount("1000000000000")


# --- spreadsheet bombs (issue 11, point 3) ---------------------------------------------------------

def test_a_bordereau_with_huge_shared_strings_is_refused_before_openpyxl_parses_it(client, setting, monkeypatch):
    from guichet.core import spreadsheets
    from tests import bombs

    def refuse(*args, **kwargs):
        raise AssertionError("openpyxl was asked to parse a bomb")
    monkeypatch.setattr(spreadsheets, "load_workbook", refuse)
    dossier = setting["dossier"]
    client.force_login(setting["user"])
    response = upload(client, dossier, bombs.huge_shared_strings())
    page = text(response)
    assert "Le texte du classeur occuperait 30 Mo (20 Mo au plus)" in page and "bordereau.xlsx" in page
    assert not InvoiceLine.objects.filter(dossier=dossier).exists()


def test_a_bordereau_sheet_of_a_million_rows_is_refused_at_the_row_limit(setting):
    """One cell on row 1 048 576: openpyxl yields every empty row before it; reading stops at the limit."""
    dossier = setting["dossier"]
    wb = load_workbook(io.BytesIO(bordereau.workbook(dossier)))
    wb[LISIEUX].cell(row=1048576, column=1, value="fin")
    result = bordereau.read(dossier, save(wb))
    assert [e.text for e in result.errors] == [
        f"L'onglet « {LISIEUX} » compte plus de 20000 lignes : supprimez les lignes en trop (ou découpez le "
        "fichier) et déposez-le à nouveau."]


def test_a_bordereau_cell_of_a_novel_is_refused_with_its_position(setting):
    dossier = setting["dossier"]
    wb = load_workbook(io.BytesIO(bordereau.workbook(dossier)))
    row = fill(wb[LISIEUX], "AVENANT-2022-1 / 1", "x" * 6000, "F-1", dt.date(2024, 3, 1), 100, 120)
    result = bordereau.read(dossier, save(wb))
    assert [e.text for e in result.errors] == [
        f"Onglet « {LISIEUX} », cellule G{row} : le texte fait 6000 caractères ; 5000 au plus sont admis."]
