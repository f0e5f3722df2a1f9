"""Exports of the instructor's workspace list (issue 13, « Exports », first step): CSV and XLSX, typed cells,
formula guard, repeated rows, permissions, workspace filters, a bounded number of queries."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from guichet.calls.models import FormVersion
from guichet.dossiers.models import State
from guichet.establishments.models import Establishment, LegalEntity
from guichet.instruction.models import DossierGroup, InstructorGroup
from tests.factories import PARIS, CallFactory, DossierFactory, InstructorFactory, UserFactory, region

pytestmark = pytest.mark.django_db

OLD_SCHEMA = {"sections": [{"key": "projet", "title": "Projet", "fields": [
    {"key": "nom_projet", "type": "text", "label": "Nom du projet"},
    {"key": "ancien_champ", "type": "text", "label": "Champ retiré"},
]}]}
SCHEMA = {"sections": [
    {"key": "projet", "title": "Projet", "fields": [
        {"key": "nom_projet", "type": "text", "label": "Nom du projet"},
        {"key": "description", "type": "textarea", "label": "Description"},
        {"key": "agents", "type": "integer", "label": "Agents concernés"},
        {"key": "etp", "type": "decimal", "label": "ETP", "decimal_places": 2},
        {"key": "part", "type": "percentage", "label": "Part des agents"},
        {"key": "debut", "type": "date", "label": "Début du projet"},
        {"key": "cofinance", "type": "yesno", "label": "Cofinancé"},
        {"key": "statut", "type": "choice", "label": "Statut", "options": ["Public", "Privé"]},
        {"key": "publics", "type": "multichoice", "label": "Publics", "options": ["Soignants", "Administratifs"]},
        {"key": "themes_qvct", "type": "qvct_theme", "label": "Thèmes"},
    ]},
    {"key": "budget", "title": "Budget", "fields": [
        {"key": "finess_partenaire", "type": "finess", "label": "FINESS du partenaire"},
        {"key": "siret_prestataire", "type": "siret", "label": "SIRET du prestataire"},
        {"key": "actions", "type": "repeat", "label": "Actions", "fields": [
            {"key": "intitule", "type": "text", "label": "Intitulé"},
            {"key": "montant_demande", "type": "amount", "label": "Montant"},
        ]},
        {"key": "total_montant_demande", "type": "computed", "label": "Total demandé",
         "expression": "sum(actions.montant_demande)", "format": "amount"},
    ]},
]}


def answers(name, amounts, **extra):
    base = {"nom_projet": name, "description": "Ergonomie des postes", "agents": "42", "etp": "3.5", "part": "12.5",
            "debut": "2025-09-01", "cofinance": True, "statut": "Public", "publics": ["Soignants", "Administratifs"],
            "themes_qvct": ["sante_travail"], "finess_partenaire": "010000123", "siret_prestataire": "01234567800019",
            "actions": [{"intitule": f"Action {i}", "montant_demande": str(a)} for i, a in enumerate(amounts, 1)],
            "total_montant_demande": f"{sum(Decimal(str(a)) for a in amounts):.2f}"}
    return base | extra


def file(dossier, when, state=State.EN_CONSTRUCTION):
    dossier.number = f"2025-44-{dossier.pk:06d}"
    dossier.state = state
    dossier.first_filed_at = dossier.last_filed_at = when
    dossier.save()
    return dossier


def establishment(finess, name, department, sector="sanitaire"):
    entity, _ = LegalEntity.objects.get_or_create(finess="010000024", defaults={"name": "GHT de l'Ain"})
    return Establishment.objects.create(
        finess=finess, name=name, department=department, sector=sector, legal_status="public",
        category="Centre hospitalier", siret="02610000100015", ght="GHT Bresse", legal_entity=entity,
        region=region("44"))


@pytest.fixture
def call():
    c = CallFactory(region=region("44"), year=2025, slug="clact-ge-2025", schema=OLD_SCHEMA)
    FormVersion.objects.create(call=c, number=2, schema=SCHEMA)
    return c


@pytest.fixture
def instructor():
    return InstructorFactory(region=region("44"))


@pytest.fixture
def world(call):
    when = dt.datetime(2025, 3, 1, 10, tzinfo=PARIS)
    old_version = call.form_versions.get(number=1)
    a = file(DossierFactory(call=call, establishment=establishment("010000016", "Centre hospitalier de Bourg", "01"),
                            answers=answers("Projet A", ["1200.50", "300"])), when)
    b = file(DossierFactory(call=call, establishment=establishment("670000017", "EHPAD Les Tilleuls", "67",
                                                                   "medico_social"),
                            answers=answers('=HYPERLINK("http://x.example","clic")', ["99.99"])),
             when + dt.timedelta(days=1), State.EN_INSTRUCTION)
    c = file(DossierFactory(call=call, form_version=old_version,
                            establishment=establishment("570000018", "Clinique ancienne", "57"),
                            answers={"nom_projet": "Ancien", "ancien_champ": "Réponse v1"}),
             when + dt.timedelta(days=2))
    return a, b, c


def follow_score_propose_pay(call, instructor, dossier, criterion=True):
    """The dossier followed by ``instructor``, scored 16/20, proposed 600 € on its latest agenda (900 € on an
    earlier one), granted 750,25 € of which 300 € paid (100 € before the platform, 200 € through an order; 50 €
    only scheduled)."""
    from guichet.commission.models import ActionLine, AgendaItem, Criterion, Score, Session
    from guichet.funding.models import Grant, GrantAction, Payment, PaymentStatus

    dossier.followers.add(instructor)
    found = Criterion.objects.filter(call=call).first()
    if criterion or found is None:
        found = Criterion.objects.create(call=call, label="Diagnostic", scale_max=5)
    Score.objects.create(dossier=dossier, criterion=found, scorer=instructor, value=4)
    for title, day, proposed in (("Séance de mai", 5, "900"), ("Séance de juin", 6, "500")):
        session = Session.objects.create(call=call, title=title, created_by=instructor,
                                         held_on=dt.datetime(2025, day, 10, 14, tzinfo=PARIS))
        item = AgendaItem.objects.create(session=session, dossier=dossier)
        ActionLine.objects.create(item=item, position=1, title="Ergonomie", cost=Decimal("2000"),
                                  eligible_cost=Decimal("2000"), requested=Decimal("1000"), proposed=Decimal(proposed))
    ActionLine.objects.create(item=item, position=2, title="Formation", cost=Decimal("300"),
                              eligible_cost=Decimal("300"), requested=Decimal("150"), proposed=Decimal("100"))
    ActionLine.objects.create(item=item, position=3, title="Sans proposition", cost=Decimal("10"),
                              eligible_cost=Decimal("10"), requested=Decimal("5"))
    grant = Grant.objects.create(region=region("44"), call=call, call_year=2025, dossier=dossier,
                                 beneficiary=dossier.establishment, rate=Decimal("50"), total=Decimal("750.25"),
                                 convention_reference=f"CONV-2025-{dossier.pk}")
    action = GrantAction.objects.create(grant=grant, position=1, title="Ergonomie", ceiling=Decimal("750.25"),
                                        paid_before=Decimal("100"))
    for amount, status in (("200", PaymentStatus.PAID), ("50", PaymentStatus.SCHEDULED)):
        Payment.objects.create(action=action, dossier=dossier, call=call, window_index=0, window_label="Juin",
                               pay_by=dt.date(2025, 6, 30), amount=Decimal(amount), status=status)
    return grant


def url(call, extension, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("reporting:workspace_export", args=[call.slug, extension]) + (f"?{query}" if query else "")


def workbook(response):
    data = b"".join(response.streaming_content)
    return load_workbook(io.BytesIO(data))


def test_csv_is_french_excel_csv_with_the_form_columns(client, call, instructor, world):
    a, b, c = world
    client.force_login(instructor)
    response = client.get(url(call, "csv", onglet="tous"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    data = b"".join(response.streaming_content)
    assert data.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    header = lines[0]
    assert header[:3] == ["Numéro", "État", "Premier dépôt"]
    assert "FINESS EJ" in header and "GHT" in header and "Montant demandé" in header
    # The latest version's fields in its order, then the older version's field it no longer asks.
    assert header.index("Nom du projet") < header.index("Total demandé") < header.index("Champ retiré")
    assert "Intitulé" not in header  # repeated rows are in the XLSX only
    rows = {line[0]: line for line in lines[1:]}
    assert set(rows) == {a.number, b.number, c.number}
    row = dict(zip(header, rows[a.number], strict=True))
    assert row["État"] == "En construction"
    assert row["Premier dépôt"] == "01/03/2025 10:00"
    assert row["Total demandé"] == "1500,50"
    assert row["Montant demandé"] == "1500,50"
    assert row["ETP"] == "3,5"
    assert row["Début du projet"] == "01/09/2025"
    assert row["FINESS ET"] == '="010000016"' and row["FINESS EJ"] == '="010000024"'
    assert row["Secteur"] == "Sanitaire"
    assert row["Cofinancé"] == "Oui"
    assert dict(zip(header, rows[c.number], strict=True))["Champ retiré"] == "Réponse v1"
    assert dict(zip(header, rows[b.number], strict=True))["Secteur"] == "Médico-social"
    # The formula guard: a typed « =… » is text.
    assert dict(zip(header, rows[b.number], strict=True))["Nom du projet"] == "'=HYPERLINK(\"http://x.example\",\"clic\")"


def test_xlsx_has_typed_cells_parts_and_the_repeated_rows_sheet(client, call, instructor, world):
    a, b, c = world
    client.force_login(instructor)
    response = client.get(url(call, "xlsx", onglet="tous"))
    assert response.status_code == 200
    wb = workbook(response)
    main = wb.worksheets[0]
    parts = [cell.value for cell in main[1]]
    header = [cell.value for cell in main[2]]
    assert "Projet" in parts and "Budget" in parts
    assert main.freeze_panes == "B3"
    assert parts[header.index("Nom du projet")] == "Projet"
    assert parts[header.index("FINESS du partenaire")] == "Budget"
    rows = {r[0].value: r for r in main.iter_rows(min_row=3)}
    assert set(rows) == {a.number, b.number, c.number}
    row = {h: cell for h, cell in zip(header, rows[a.number], strict=True)}
    assert row["Total demandé"].value == pytest.approx(1500.50) and row["Total demandé"].data_type == "n"
    assert "€" in row["Total demandé"].number_format
    assert row["Agents concernés"].value == 42
    assert row["Part des agents"].value == pytest.approx(12.5)
    assert row["Début du projet"].value == dt.datetime(2025, 9, 1)
    assert row["Premier dépôt"].value == dt.datetime(2025, 3, 1, 10, 0)
    assert row["FINESS ET"].value == "010000016" and row["FINESS ET"].data_type == "s"
    assert row["FINESS du partenaire"].value == "010000123"
    assert row["SIRET du prestataire"].value == "01234567800019"
    assert row["État"].value == "En construction"
    guarded = {h: cell for h, cell in zip(header, rows[b.number], strict=True)}["Nom du projet"]
    assert guarded.value == '=HYPERLINK("http://x.example","clic")' and guarded.data_type == "s"
    # Repeated rows: their own sheet, keyed by dossier number and row number.
    repeats = wb["Actions"]
    assert [cell.value for cell in repeats[2]] == ["Numéro", "Ligne", "Intitulé", "Montant"]
    lines = [[cell.value for cell in r] for r in repeats.iter_rows(min_row=3)]
    assert [a.number, 1, "Action 1", pytest.approx(1200.50)] in lines
    assert [a.number, 2, "Action 2", 300] in lines
    assert [b.number, 1, "Action 1", pytest.approx(99.99)] in lines
    assert len(lines) == 3


def test_the_export_follows_the_workspace_tab_and_filters(client, call, instructor, world):
    a, b, c = world
    client.force_login(instructor)
    data = b"".join(client.get(url(call, "csv", onglet="tous", departement="67")).streaming_content).decode()
    assert b.number in data and a.number not in data and c.number not in data
    data = b"".join(client.get(url(call, "csv", onglet="tous", etat="en_instruction")).streaming_content).decode()
    assert b.number in data and a.number not in data and c.number not in data
    data = b"".join(client.get(url(call, "csv", onglet="traites")).streaming_content).decode()
    assert a.number not in data and b.number not in data
    data = b"".join(client.get(url(call, "csv", onglet="tous", q="Bourg")).streaming_content).decode()
    assert a.number in data and b.number not in data
    # Each download is in the audit trail: who, which call, which format and list.
    from guichet.core.models import AuditRecord

    taken = AuditRecord.objects.filter(action="export:workspace").order_by("seq")
    assert [(r.actor_id, r.details["call"], r.details["format"]) for r in taken] == [
        (instructor.pk, call.slug, "csv")] * 4
    assert "q=Bourg" in taken.last().details["query"]


@pytest.mark.parametrize("extension", ["csv", "xlsx", "ods"])
def test_nobody_but_the_region_staff_gets_the_data(client, call, world, extension):
    target = url(call, extension, onglet="tous")
    response = client.get(target)
    assert response.status_code == 302 and "/comptes/" in response["Location"]
    applicant = world[0].created_by
    for user in (applicant, UserFactory(), InstructorFactory(region=region("32"))):
        client.force_login(user)
        response = client.get(target)
        assert response.status_code in (403, 404), user
        assert world[0].number.encode() not in response.content


def test_an_unknown_format_is_not_found(client, call, instructor, world):
    client.force_login(instructor)
    assert client.get(url(call, "pdf")).status_code == 404


def test_the_workspace_offers_the_downloads_with_its_querystring(client, call, instructor, world):
    client.force_login(instructor)
    page = client.get(reverse("instruction:workspace", args=[call.slug]) + "?onglet=tous&departement=67")
    html = page.content.decode()
    assert reverse("reporting:workspace_export", args=[call.slug, "xlsx"]) + "?onglet=tous&amp;departement=67" in html
    assert reverse("reporting:workspace_export", args=[call.slug, "csv"]) + "?onglet=tous&amp;departement=67" in html
    assert reverse("reporting:workspace_export", args=[call.slug, "ods"]) + "?onglet=tous&amp;departement=67" in html


@pytest.mark.parametrize("extension", ["csv", "xlsx", "ods"])
def test_queries_do_not_grow_with_the_number_of_dossiers(client, call, instructor, world, extension,
                                                          django_assert_max_num_queries):
    when = dt.datetime(2025, 4, 1, tzinfo=PARIS)
    follow_score_propose_pay(call, instructor, world[0])
    for i in range(12):
        est = establishment(f"0100001{i:02d}", f"Site {i}", "01")
        d = file(DossierFactory(call=call, establishment=est, answers=answers(f"P{i}", ["10", "20"])), when)
        d.partners.add(world[1].establishment)
        follow_score_propose_pay(call, instructor, d, criterion=False)
    client.force_login(instructor)
    # Per batch: the dossiers and their partners, labels and followers; the scores, the proposals, the grants'
    # balances (3); once: the call's criteria; the repeated rows' pass. 3 of them the audit record of the
    # download, 4 on PostgreSQL (its lock); 1 the count that chooses between sending the list at once and a
    # background job.
    with django_assert_max_num_queries(27):
        response = client.get(url(call, extension, onglet="tous"))
        data = b"".join(response.streaming_content)
    assert data


def test_private_annotations_and_the_granted_amount(client, call, instructor, world):
    from guichet.calls.models import FormKind
    from guichet.funding.models import Grant
    from guichet.instruction.workspace import Filters
    from guichet.reporting import exports

    a, b, c = world
    FormVersion.objects.create(call=call, kind=FormKind.ANNOTATIONS, number=1, schema={"sections": [
        {"key": "avis", "title": "Avis", "fields": [
            {"key": "avis_instructeur", "type": "textarea", "label": "Avis de l'instructeur"},
            {"key": "note", "type": "decimal", "label": "Note"}]}]})
    a.annotations = {"avis_instructeur": "Projet solide", "note": "15.5"}
    a.save()
    Grant.objects.create(region=region("44"), call=call, call_year=2025, dossier=a, beneficiary=a.establishment,
                         rate=Decimal("50"), total=Decimal("750.25"), convention_reference="CONV-2025-1")
    group = InstructorGroup.objects.create(call=call, name="Groupe Ain")
    DossierGroup.objects.create(dossier=a, group=group)
    client.force_login(instructor)
    wb = workbook(client.get(url(call, "xlsx", onglet="tous")))
    main = wb.worksheets[0]
    parts, header = [cell.value for cell in main[1]], [cell.value for cell in main[2]]
    assert parts[header.index("Avis de l'instructeur")] == "Annotations privées : Avis"
    row = {h: cell.value for h, cell in zip(header, next(r for r in main.iter_rows(min_row=3)
                                                          if r[0].value == a.number), strict=True)}
    assert row["Avis de l'instructeur"] == "Projet solide" and row["Note"] == pytest.approx(15.5)
    assert row["Montant accordé"] == pytest.approx(750.25)
    assert row["Groupe instructeur"] == "Groupe Ain"
    # Without the ARS' right to them, the annotations are not part of the export.
    export = exports.build(call, instructor, "tous", Filters(), "depot", private=False)
    assert "Avis de l'instructeur" not in [column.header for column in export.main.columns]


ODF = {"table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
       "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
       "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0"}


def ods_sheets(data: bytes) -> dict:
    """{sheet name: rows of (value type, value attribute, text)} read from an ODS file's content.xml."""
    import zipfile

    from defusedxml.ElementTree import fromstring

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.read("mimetype") == b"application/vnd.oasis.opendocument.spreadsheet"
        root = fromstring(archive.read("content.xml"))
    sheets = {}
    for table in root.iter(f"{{{ODF['table']}}}table"):
        rows = []
        for row in table.iter(f"{{{ODF['table']}}}table-row"):
            cells = []
            for cell in row.findall(f"{{{ODF['table']}}}table-cell"):
                assert cell.get(f"{{{ODF['table']}}}formula") is None
                kind = cell.get(f"{{{ODF['office']}}}value-type")
                value = cell.get(f"{{{ODF['office']}}}value") or cell.get(f"{{{ODF['office']}}}date-value")
                cells.append((kind, value, "".join(cell.itertext())))
            rows.append(cells)
        sheets[table.get(f"{{{ODF['table']}}}name")] = rows
    return sheets


def test_ods_has_typed_cells_parts_and_the_repeated_rows_sheet(client, call, instructor, world):
    a, b, c = world
    client.force_login(instructor)
    response = client.get(url(call, "ods", onglet="tous"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.oasis.opendocument.spreadsheet"
    assert "attachment" in response["Content-Disposition"] and ".ods" in response["Content-Disposition"]
    sheets = ods_sheets(b"".join(response.streaming_content))
    main = sheets["Dossiers"]
    parts, header = [cell[2] for cell in main[0]], [cell[2] for cell in main[1]]
    assert parts[header.index("Nom du projet")] == "Projet"
    rows = {r[0][2]: dict(zip(header, r, strict=True)) for r in main[2:]}
    assert set(rows) == {a.number, b.number, c.number}
    row = rows[a.number]
    assert row["Total demandé"][:2] == ("float", "1500.50")
    assert row["Début du projet"][:2] == ("date", "2025-09-01")
    assert row["Premier dépôt"][:2] == ("date", "2025-03-01T10:00:00")
    assert row["FINESS ET"] == ("string", None, "010000016")
    assert rows[b.number]["Nom du projet"] == ("string", None, '=HYPERLINK("http://x.example","clic")')
    lines = [[cell[2] for cell in r] for r in sheets["Actions"][2:]]
    assert [a.number, "2", "Action 2", "300.00"] in lines and len(lines) == 3


# --- followers, score, proposed and paid amounts (issue 13, « exports: columns ») ---------------------------------

def test_followers_score_and_the_four_amounts(client, call, instructor, world):
    a, b, c = world
    follow_score_propose_pay(call, instructor, a)
    instructor.first_name, instructor.last_name = "Inès", "Martin"
    instructor.save()
    b.followers.add(InstructorFactory(region=region("44"), first_name="", last_name="", email="paul@ars.example"))
    client.force_login(instructor)
    main = workbook(client.get(url(call, "xlsx", onglet="tous"))).worksheets[0]
    header = [cell.value for cell in main[2]]
    amounts = ["Montant demandé", "Montant proposé", "Montant accordé", "Montant versé"]
    assert [header.index(h) for h in amounts] == sorted(header.index(h) for h in amounts)
    assert header.index("Étiquettes") < header.index("Suivi par") < header.index("Note moyenne (sur 20)")
    rows = {r[0].value: {h: cell for h, cell in zip(header, r, strict=True)} for r in main.iter_rows(min_row=3)}
    row = rows[a.number]
    assert row["Suivi par"].value == "Inès Martin"
    assert row["Note moyenne (sur 20)"].value == 16 and row["Note moyenne (sur 20)"].data_type == "n"
    # The latest agenda's proposals (500 + 100; the action without one counts nothing), not the earlier 900.
    assert row["Montant proposé"].value == 600 and "€" in row["Montant proposé"].number_format
    assert row["Montant accordé"].value == pytest.approx(750.25)
    # Paid: before the platform (100) and through payments marked paid (200); the scheduled 50 is not paid.
    assert row["Montant versé"].value == 300 and "€" in row["Montant versé"].number_format
    assert rows[b.number]["Suivi par"].value == "paul@ars.example"
    assert rows[b.number]["Note moyenne (sur 20)"].value is None
    assert rows[b.number]["Montant proposé"].value is None and rows[b.number]["Montant versé"].value is None
    # CSV: the same, French numbers.
    lines = list(csv.reader(io.StringIO(b"".join(client.get(url(call, "csv", onglet="tous")).streaming_content)
                                        .decode("utf-8-sig")), delimiter=";"))
    line = dict(zip(lines[0], next(li for li in lines if li[0] == a.number), strict=True))
    assert (line["Note moyenne (sur 20)"], line["Montant proposé"], line["Montant versé"]) == (
        "16,00", "600,00", "300,00")
    # ODS: typed numbers.
    sheet = ods_sheets(b"".join(client.get(url(call, "ods", onglet="tous")).streaming_content))["Dossiers"]
    ods_row = dict(zip([cell[2] for cell in sheet[1]], next(r for r in sheet[2:] if r[0][2] == a.number),
                       strict=True))
    assert ods_row["Montant versé"][:2] == ("float", "300.00") and ods_row["Note moyenne (sur 20)"][:2] == ("float",
                                                                                                           "16.00")


def test_score_and_annotations_are_for_the_ars_only(call, instructor, world):
    from guichet.calls.models import FormKind
    from guichet.instruction.workspace import Filters
    from guichet.reporting import exports

    FormVersion.objects.create(call=call, kind=FormKind.ANNOTATIONS, number=1, schema={"sections": [
        {"key": "avis", "title": "Avis", "fields": [{"key": "avis_instructeur", "type": "text", "label": "Avis"}]}]})
    follow_score_propose_pay(call, instructor, world[0])
    public = [e.key for e in exports.catalogue(call, private=False)]
    assert "dossier.note" not in public and not [k for k in public if k.startswith("annotation.")]
    assert "dossier.montant_verse" in public and "champ.nom_projet" in public
    private = [e.key for e in exports.catalogue(call, private=True)]
    assert "dossier.note" in private and "annotation.avis_instructeur" in private
    export = exports.build(call, instructor, "tous", Filters(), "depot", private=False)
    headers = [column.header for column in export.main.columns]
    assert "Note moyenne (sur 20)" not in headers and "Avis" not in headers
    assert all(len(row) == len(headers) for row in export.main.rows)


FORMULAS = ["=1+1", "+33 6 12 34 56 78", "-2+3", "@SOMME(A1:A2)"]


def test_formula_like_text_stays_text_in_every_format_and_column(client, call, instructor, world):
    """Answers, the new columns (followers, labels, group, partners) and headers: never a formula."""
    from guichet.instruction.models import Label

    a = world[0]
    a.answers = a.answers | {"nom_projet": FORMULAS[0], "description": FORMULAS[1], "statut": FORMULAS[2]}
    a.save()
    a.labels.add(Label.objects.create(call=call, name=FORMULAS[3]))
    a.followers.add(InstructorFactory(region=region("44"), first_name="=HYPERLINK(1)", last_name=""))
    DossierGroup.objects.create(dossier=a, group=InstructorGroup.objects.create(call=call, name="+Groupe"))
    client.force_login(instructor)
    expected = {"Nom du projet": FORMULAS[0], "Description": FORMULAS[1], "Statut": FORMULAS[2],
                "Étiquettes": FORMULAS[3], "Suivi par": "=HYPERLINK(1)", "Groupe instructeur": "+Groupe"}

    lines = list(csv.reader(io.StringIO(b"".join(client.get(url(call, "csv", onglet="tous")).streaming_content)
                                        .decode("utf-8-sig")), delimiter=";"))
    row = dict(zip(lines[0], next(li for li in lines if li[0] == a.number), strict=True))
    assert {h: row[h] for h in expected} == {h: "'" + v for h, v in expected.items()}

    main = workbook(client.get(url(call, "xlsx", onglet="tous"))).worksheets[0]
    header = [cell.value for cell in main[2]]
    cells = dict(zip(header, next(r for r in main.iter_rows(min_row=3) if r[0].value == a.number), strict=True))
    for h, v in expected.items():
        assert (cells[h].value, cells[h].data_type) == (v, "s"), h

    sheet = ods_sheets(b"".join(client.get(url(call, "ods", onglet="tous")).streaming_content))["Dossiers"]
    ods_row = dict(zip([cell[2] for cell in sheet[1]], next(r for r in sheet[2:] if r[0][2] == a.number),
                       strict=True))  # ods_sheets asserts no cell carries a table:formula
    for h, v in expected.items():
        assert ods_row[h] == ("string", None, v), h


# --- « Télécharger la sélection » -----------------------------------------------------------------------------

def selection_url(call, extension):
    return reverse("reporting:selection_export", args=[call.slug, extension])


@pytest.mark.parametrize("extension", ["csv", "xlsx", "ods"])
def test_the_selection_holds_the_checked_dossiers_of_the_call_only(client, call, instructor, world, extension):
    from guichet.core.models import AuditRecord

    a, b, c = world
    other_call = CallFactory(region=region("44"), year=2025, slug="autre-appel-2025")
    elsewhere = file(DossierFactory(call=other_call, answers={"nom_projet": "Autre appel"}),
                     dt.datetime(2025, 3, 5, tzinfo=PARIS))
    other_region = file(DossierFactory(call=CallFactory(region=region("32"), slug="hdf-2025"),
                                       answers={"nom_projet": "Autre région"}), dt.datetime(2025, 3, 5, tzinfo=PARIS))
    client.force_login(instructor)
    response = client.post(selection_url(call, extension),
                           {"dossier": [str(a.pk), str(c.pk), str(elsewhere.pk), str(other_region.pk), "x", "-1"],
                            "action": "", "next": "/"})
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    data = b"".join(response.streaming_content) if response.streaming else b"".join(response)
    if extension == "xlsx":
        numbers = [r[0].value for r in load_workbook(io.BytesIO(data)).worksheets[0].iter_rows(min_row=3)]
    elif extension == "ods":
        numbers = [r[0][2] for r in ods_sheets(data)["Dossiers"][2:]]
    else:
        numbers = [line[0] for line in csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";")][1:]
    assert numbers == [a.number, c.number]
    record = AuditRecord.objects.get(action="export:workspace")
    assert (record.actor_id, record.details["tab"], record.details["dossiers"]) == (instructor.pk, "selection", 2)


def test_an_empty_or_foreign_selection_is_a_french_message(client, call, instructor, world):
    other_region = file(DossierFactory(call=CallFactory(region=region("32"), slug="hdf-2025")),
                        dt.datetime(2025, 3, 5, tzinfo=PARIS))
    client.force_login(instructor)
    for posted in ({}, {"dossier": [str(other_region.pk)]}, {"dossier": ["abc"]}):
        response = client.post(selection_url(call, "xlsx"), posted)
        assert response.status_code == 400
        assert "Sélectionnez au moins un dossier de la liste." in response.content.decode()
    assert client.get(selection_url(call, "xlsx")).status_code == 405
    assert client.post(selection_url(call, "pdf"), {"dossier": [str(world[0].pk)]}).status_code == 404


def test_nobody_but_the_region_staff_downloads_a_selection(client, call, world):
    a = world[0]
    response = client.post(selection_url(call, "csv"), {"dossier": [str(a.pk)]})
    assert response.status_code == 302 and "/comptes/" in response["Location"]
    for user in (a.created_by, UserFactory(), InstructorFactory(region=region("32"))):
        client.force_login(user)
        response = client.post(selection_url(call, "csv"), {"dossier": [str(a.pk)]})
        assert response.status_code == 404, user
        assert a.number.encode() not in response.content


def test_the_workspace_offers_the_selection_downloads_in_the_batch_form(client, call, instructor, world):
    client.force_login(instructor)
    html = client.get(reverse("instruction:workspace", args=[call.slug]) + "?onglet=tous").content.decode()
    batch_form = html[html.index('id="batch-form"'):]
    batch_form = batch_form[:batch_form.index("</form>")]
    for extension in ("xlsx", "ods", "csv"):
        assert f'formaction="{selection_url(call, extension)}"' in batch_form
    assert f'name="dossier" value="{world[0].pk}" form="batch-form"' in html
    assert reverse("reporting:templates", args=[call.slug]) + "?onglet=tous" in html
