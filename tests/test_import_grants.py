"""Import of the grants decided before the platform: one workbook row per funded action, checked cell by cell
and against the directory, errors by row and column in French, all or nothing; the command, the ARS page
(upload, preview, confirm) and the template file."""

import datetime as dt
import html as html_module
from decimal import Decimal
from io import BytesIO, StringIO
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from guichet.core.models import AuditRecord
from guichet.core.money import euros
from guichet.establishments.directory import import_sae
from guichet.establishments.models import Establishment, LegalEntity
from guichet.funding.imports import (
    TEMPLATE_COLUMNS,
    ImportFileError,
    import_grants,
    parse_amount,
    parse_rate,
    read_rows,
    template_workbook,
)
from guichet.funding.models import Grant, GrantAction, GrantStatus
from guichet.funding.views_import import FOLDER, SESSION_KEY
from tests.factories import ArsAdminFactory, InstructorFactory, UserFactory, region

pytestmark = pytest.mark.django_db

SAE = Path(__file__).resolve().parent.parent / "guichet" / "establishments" / "data" / "sae_id_2023_extrait.csv"
HEADERS = ["Année de l'appel à projets", "FINESS juridique", "FINESS géographique", "Action", "Plafond (€)",
           "Taux de cofinancement (%)", "Référence de la convention", "Date de la convention", "Déjà versé (€)"]
EUROS = '#,##0.00 "€"'
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Real establishments of the SAE 2023 extract (Normandie, region 28).
LISIEUX = ("140000035", "140000027")  # (FINESS juridique, FINESS géographique)
GRANVILLE = ("500000567", "500000229")  # CRF Le Normandy, two sites of one legal entity
NORMANDY_II = ("500000567", "500021423")
COUTANCES = ("500000393", "500000591")
PARIS_JOSEPH = ("750150120", "750000523")  # Île-de-France
AJACCIO = ("2A0001848", "2A0001988")  # Corse


def xlsx(rows, headers=HEADERS) -> bytes:
    """A workbook with the header row, then ``rows``; a cell given as (value, number_format) is formatted."""
    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row, start=1):
            number_format = None
            if isinstance(value, tuple):
                value, number_format = value
            cell = ws.cell(row=r, column=c, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
            if number_format:
                cell.number_format = number_format
    buffer = BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def line(ids, title="Formation des encadrants", ceiling=10000, rate=50, reference="CLACT-2022-28-001",
         signed_on=dt.date(2022, 11, 15), paid=0, year=2022):
    ej, et = ids
    return [year, ej, et, title, ceiling, rate, reference, signed_on, paid]


@pytest.fixture
def directory():
    report = import_sae(SAE)
    assert not report.rejected
    return report


@pytest.fixture
def normandie():
    return region("28")


@pytest.fixture
def staff(normandie):
    return InstructorFactory(region=normandie)


# --- the import itself -------------------------------------------------------------------------------

def test_round_trip_creates_grants_and_actions(directory, normandie, staff):
    data = xlsx([
        line(GRANVILLE, "Ergonomie des postes de soins", 12000.5, 50, "CLACT-2021-28-014", dt.date(2021, 12, 3),
             6000, year=2021),
        line(NORMANDY_II, "Formation gestes et postures", "3 500,25 €", "50 %", "CLACT-2021-28-014",
             "03/12/2021", "1 000", year=2021),
        line(LISIEUX, "Prévention des risques psychosociaux", (8000, EUROS), 40, "CLACT-2022-28-007",
             dt.datetime(2022, 6, 30), None),
    ])
    report = import_grants(BytesIO(data), normandie, staff)
    assert report.errors == []
    assert (report.grants_created, report.actions_created) == (2, 3)
    assert report.summary == (f"Import terminé (région Normandie) : 2 subventions et 3 actions créées (plafonds "
                              f"{euros(Decimal('23500.75'))}, déjà versé {euros(Decimal('7000.00'))}).")

    crf = Grant.objects.get(convention_reference="CLACT-2021-28-014")
    assert crf.region == normandie and crf.call is None and crf.dossier is None
    assert crf.beneficiary.finess == "500000229"  # the first row's establishment
    assert crf.legal_entity.finess == "500000567"
    assert (crf.call_year, crf.rate, crf.total) == (2021, Decimal("50.00"), Decimal("15500.75"))
    assert crf.status == GrantStatus.ACTIVE and crf.imported and crf.activated_at is not None
    assert crf.convention_signed_on == dt.date(2021, 12, 3) and crf.convention_kind == "convention"
    first, second = crf.actions.order_by("position")
    assert (first.position, first.title, first.ceiling, first.paid_before) == (
        1, "Ergonomie des postes de soins", Decimal("12000.50"), Decimal("6000.00"))
    assert (second.position, second.ceiling, second.paid_before) == (2, Decimal("3500.25"), Decimal("1000.00"))
    assert [e.finess for e in first.establishments.all()] == ["500000229"]
    assert [e.finess for e in second.establishments.all()] == ["500021423"]
    assert second.establishments_text == "CRF LE NORMANDY II (500021423)"

    lisieux = Grant.objects.get(convention_reference="CLACT-2022-28-007")
    assert (lisieux.rate, lisieux.total, lisieux.convention_signed_on) == (
        Decimal("40.00"), Decimal("8000.00"), dt.date(2022, 6, 30))
    assert lisieux.actions.get().paid_before == Decimal("0.00")  # empty cell: nothing paid

    record = AuditRecord.objects.get(action="grants:import")
    assert record.actor == staff and record.details["grants"] == 2 and record.details["actions"] == 3


def test_headers_in_any_order_case_and_accents_extra_columns_ignored(directory, normandie, staff):
    headers = ["reference de la convention", "Commentaire", "PLAFOND", "finess geographique", "Finess Juridique",
               "ACTION", "Année", "taux", "date de signature", "deja verse"]
    data = xlsx([["CLACT-2023-28-002", "à revoir", 5000, "140000027", "140000035", "Aménagement d'une salle de "
                  "repos", 2023, 50, "15/03/2023", 0]], headers=headers)
    report = import_grants(BytesIO(data), normandie, staff)
    assert report.errors == []
    grant = Grant.objects.get()
    assert (grant.convention_reference, grant.total, grant.call_year) == ("CLACT-2023-28-002", Decimal("5000.00"), 2023)


def test_numeric_finess_cell_gets_its_leading_zero_back():
    ain = region("84")
    ej = LegalEntity.objects.create(finess="010000016", name="CH DE BOURG-EN-BRESSE")
    Establishment.objects.create(finess="010000024", legal_entity=ej, name="CH DE BOURG-EN-BRESSE", region=ain,
                                 department="01")
    data = xlsx([line((10000016, 10000024.0), reference="CLACT-2022-84-003")])
    assert [(r.ej_finess, r.et_finess) for r in read_rows(BytesIO(data))] == [("010000016", "010000024")]
    report = import_grants(BytesIO(data), ain, InstructorFactory(region=ain))
    assert report.errors == []
    assert Grant.objects.get().beneficiary.finess == "010000024"


def test_corsica_finess(directory):
    corse = region("94")
    report = import_grants(BytesIO(xlsx([line(AJACCIO, reference="CLACT-2022-94-001")])), corse,
                           ArsAdminFactory(region=corse))
    assert report.errors == []
    assert Grant.objects.get().beneficiary.finess == "2A0001988"


@pytest.mark.parametrize(("cell", "expected"), [
    ((0.5, "0%"), Decimal("50.00")),
    ((0.335, "0.00%"), Decimal("33.50")),
    (50, Decimal("50.00")),
    ("50 %", Decimal("50.00")),
    ("33,5", Decimal("33.50")),
    ((100, "General"), Decimal("100.00")),
])
def test_rates(directory, normandie, staff, cell, expected):
    report = import_grants(BytesIO(xlsx([line(LISIEUX, rate=cell)])), normandie, staff)
    assert report.errors == []
    assert Grant.objects.get().rate == expected


def test_avenant_from_the_reference_or_the_act_column(directory, normandie, staff):
    headers = [*HEADERS, "Acte"]
    data = xlsx([[*line(LISIEUX, reference="Avenant n° 3 au CPOM 2019-2023"), None],
                 [*line(COUTANCES, reference="CLACT-2022-28-010"), "Avenant"],
                 [*line(GRANVILLE, reference="CLACT-2022-28-011"), "convention"]], headers=headers)
    assert import_grants(BytesIO(data), normandie, staff).errors == []
    kinds = dict(Grant.objects.values_list("convention_reference", "convention_kind"))
    assert kinds == {"Avenant n° 3 au CPOM 2019-2023": "avenant", "CLACT-2022-28-010": "avenant",
                     "CLACT-2022-28-011": "convention"}


def test_dry_run_writes_nothing_but_tells_what_would_be_created(directory, normandie, staff):
    data = xlsx([line(GRANVILLE), line(NORMANDY_II, title="Autre action")])
    report = import_grants(BytesIO(data), normandie, staff, dry_run=True)
    assert report.ok and (report.grant_count, report.action_count) == (1, 2)
    assert (report.grants_created, report.actions_created) == (0, 0)
    assert report.summary.startswith("Simulation, rien n'est enregistré (région Normandie) : 1 subvention et 2 "
                                     "actions seraient créées")
    assert not Grant.objects.exists() and not AuditRecord.objects.filter(action="grants:import").exists()


# --- errors: by row and column, nothing written -----------------------------------------------------

def test_errors_by_row_and_column_and_nothing_written(directory, normandie, staff):
    data = xlsx([
        line(LISIEUX, reference="CLACT-OK-1"),  # row 2: right, but not imported since others are wrong
        line(("140000035", "140000028"), reference="CLACT-2"),  # row 3: bad key
        line(("140000035", "140000076"), reference="CLACT-3"),  # row 4: valid FINESS not in the directory
        line(LISIEUX, ceiling=1000, paid=1500.5, reference="CLACT-4"),  # row 5: paid > ceiling
        line(("500000393", "140000027"), reference="CLACT-5"),  # row 6: ET of another legal entity
        line(PARIS_JOSEPH, reference="CLACT-6"),  # row 7: another region
        line(LISIEUX, ceiling="douze mille", rate=0.5, reference=None, year=2012,
             signed_on="31/02/2022"),  # row 8: every cell wrong
    ])
    report = import_grants(BytesIO(data), normandie, staff)
    assert [str(e) for e in report.errors] == [
        "Ligne 3, colonne « FINESS géographique » : La clé de contrôle du numéro FINESS « 140000028 » est "
        "incorrecte : vérifiez les chiffres saisis.",
        "Ligne 4, colonne « FINESS géographique » : L'établissement de FINESS « 140000076 » n'est pas dans "
        "l'annuaire de la plateforme : importez d'abord l'annuaire des établissements (table SAE), ou faites "
        "saisir l'établissement par son déposant (« Mes établissements »), puis recommencez. Il n'est pas créé "
        "par l'import.",
        f"Ligne 5, colonne « Déjà versé (€) » : Le montant déjà versé ({euros(Decimal('1500.50'))}) dépasse le "
        f"plafond de l'action ({euros(Decimal('1000'))}).",
        "Ligne 6, colonne « FINESS géographique » : L'établissement « CENTRE HOSPITALIER DE LISIEUX » (FINESS "
        "140000027) n'appartient pas à l'entité juridique de FINESS « 500000393 » : dans l'annuaire, il relève "
        "de « CENTRE HOSPITALIER DE LISIEUX » (FINESS 140000035). Vérifiez les deux numéros.",
        "Ligne 7, colonne « FINESS géographique » : L'établissement « GH PARIS SITE SAINT JOSEPH » (FINESS "
        "750000523) relève de la région Île-de-France, pas de la région Normandie : seule l'ARS de sa région "
        "peut importer ses subventions.",
        "Ligne 8, colonne « Année de l'appel à projets » : L'année doit être comprise entre 2015 et 2100 ; "
        "« 2012 » ne l'est pas.",
        "Ligne 8, colonne « Plafond (€) » : « douze mille » n'est pas un montant : indiquez un montant en euros, "
        "par exemple 1 250,50.",
        "Ligne 8, colonne « Taux de cofinancement (%) » : Le taux « 0,5 » est ambigu : indiquez le pourcentage, "
        "par exemple 50 pour 50 % (ou écrivez « 0,5 % » si c'est bien un demi pour cent).",
        "Ligne 8, colonne « Référence de la convention » : Cette cellule est vide ; elle est obligatoire.",
        "Ligne 8, colonne « Date de la convention » : La date « 31/02/2022 » n'existe pas.",
    ]
    assert report.summary == ("Import refusé : 10 erreurs ; aucune subvention n'a été enregistrée. Corrigez le "
                              "fichier et recommencez.")
    assert (report.grants_created, report.grants) == (0, [])
    assert not Grant.objects.exists() and not GrantAction.objects.exists()


def test_errors_are_tuples_of_row_column_message(directory, normandie, staff):
    report = import_grants(BytesIO(xlsx([line(("140000035", "140000028"))])), normandie, staff)
    (row, column, message), = report.errors
    assert (row, column) == (2, "FINESS géographique") and "clé de contrôle" in message


def test_missing_column_is_named(directory, normandie, staff):
    headers = [h for h in HEADERS if h not in ("Plafond (€)", "Date de la convention")]
    data = xlsx([[2022, *LISIEUX, "Action", 50, "CLACT-1", 0]], headers=headers)
    report = import_grants(BytesIO(data), normandie, staff)
    assert [str(e) for e in report.errors] == [
        "Ligne 1, colonne « Plafond (€) » : Colonne obligatoire absente du fichier : ajoutez-la (voir le modèle à "
        "télécharger).",
        "Ligne 1, colonne « Date de la convention » : Colonne obligatoire absente du fichier : ajoutez-la (voir le "
        "modèle à télécharger).",
    ]
    assert not Grant.objects.exists()


def test_unreadable_or_empty_files(directory, normandie, staff):
    report = import_grants(BytesIO(b"ceci n'est pas un classeur"), normandie, staff)
    assert [str(e) for e in report.errors] == [
        "Le fichier n'est pas un classeur Excel (.xlsx) lisible : enregistrez-le au format « Classeur Excel "
        "(.xlsx) » et déposez-le à nouveau."]
    report = import_grants(BytesIO(xlsx([])), normandie, staff)
    assert [str(e) for e in report.errors] == ["Le fichier ne contient aucune ligne de données sous les en-têtes."]
    report = import_grants(BytesIO(xlsx([[1, 2]], headers=["nom", "prénom"])), normandie, staff)
    assert report.errors[0].message.startswith("Aucune ligne d'en-têtes reconnue")


def test_rows_of_one_convention_must_agree(directory, normandie, staff):
    data = xlsx([line(GRANVILLE, reference="CLACT-9"),
                 line(NORMANDY_II, title="Deuxième action", rate=40, reference="CLACT-9"),
                 line(LISIEUX, title="Troisième action", reference="CLACT-9"),
                 line(GRANVILLE, reference="CLACT-9")])
    report = import_grants(BytesIO(data), normandie, staff)
    assert [str(e) for e in report.errors] == [
        "Ligne 3, colonne « Taux de cofinancement (%) » : Cette ligne porte la même référence de convention "
        "« CLACT-9 » que la ligne 2, mais un taux de cofinancement différent (40\u00a0% au lieu de 50\u00a0%) : les "
        "lignes d'une même convention doivent concorder.",
        "Ligne 4, colonne « FINESS juridique » : Cette ligne porte la même référence de convention « CLACT-9 » que "
        "la ligne 2, mais un FINESS juridique différent (« 140000035 » au lieu de « 500000567 ») : les lignes "
        "d'une même convention doivent concorder.",
        "Ligne 5, colonne « Action » : L'action « Formation des encadrants » de cet établissement figure déjà ligne "
        "2 pour la convention « CLACT-9 » : supprimez le doublon.",
    ]
    assert not Grant.objects.exists()


def test_importing_the_same_file_twice_reports_the_duplicates(directory, normandie, staff):
    data = xlsx([line(GRANVILLE, reference="CLACT-A"), line(NORMANDY_II, title="Autre", reference="CLACT-A"),
                 line(LISIEUX, reference="CLACT-B")])
    assert import_grants(BytesIO(data), normandie, staff).errors == []
    again = import_grants(BytesIO(data), normandie, staff)
    assert [str(e) for e in again.errors] == [
        "Ligne 2, colonne « Référence de la convention » : La convention « CLACT-A » est déjà enregistrée sur la "
        "plateforme : elle n'est pas importée une seconde fois. Retirez ses lignes du fichier.",
        "Ligne 4, colonne « Référence de la convention » : La convention « CLACT-B » est déjà enregistrée sur la "
        "plateforme : elle n'est pas importée une seconde fois. Retirez ses lignes du fichier.",
    ]
    assert (Grant.objects.count(), GrantAction.objects.count()) == (2, 3)


def test_a_concurrent_import_of_the_same_reference_rolls_everything_back(directory, normandie, staff, monkeypatch):
    import_grants(BytesIO(xlsx([line(LISIEUX, reference="CLACT-R")])), normandie, staff)
    monkeypatch.setattr("guichet.funding.imports._already_there", lambda *args: None)  # checked, then raced
    data = xlsx([line(GRANVILLE, reference="CLACT-S"), line(LISIEUX, reference="CLACT-R")])
    report = import_grants(BytesIO(data), normandie, staff)
    assert [str(e) for e in report.errors] == [
        "Une des conventions du fichier vient d'être enregistrée par un autre import : rien n'a été enregistré. "
        "Vérifiez à nouveau le fichier."]
    assert (report.grants_created, report.actions_created) == (0, 0)
    assert list(Grant.objects.values_list("convention_reference", flat=True)) == ["CLACT-R"]
    assert GrantAction.objects.count() == 1


def test_applicant_cannot_import(directory, normandie):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        import_grants(BytesIO(xlsx([line(LISIEUX)])), normandie, UserFactory())
    with pytest.raises(PermissionDenied):  # ARS staff of another region
        import_grants(BytesIO(xlsx([line(LISIEUX)])), normandie, InstructorFactory(region=region("32")))


# --- cell parsers ------------------------------------------------------------------------------------

@given(st.decimals(min_value=0, max_value=Decimal("999999999999.99"), places=2))
@settings(max_examples=300, deadline=None)
def test_amount_parser_reads_back_every_amount(amount):
    assert parse_amount(amount) == amount
    assert parse_amount(float(amount)) == amount  # a number cell from Excel
    assert parse_amount(str(amount)) == amount
    assert parse_amount(euros(amount)) == amount  # « 1 234,56 € » as written in French
    assert parse_amount(f"{amount:,.2f}".replace(",", " ").replace(".", ",")) == amount


@given(st.decimals(min_value=Decimal("0.001"), max_value=Decimal("99999"), places=3)
       .filter(lambda d: d != d.quantize(Decimal("0.01"))))
@settings(max_examples=100, deadline=None)
def test_amount_parser_refuses_fractions_of_a_cent(amount):
    for value in (amount, str(amount).replace(".", ","), float(amount)):
        with pytest.raises(ValidationError, match="plus de 2 décimales"):
            parse_amount(value)


def test_amount_parser_edge_cases():
    assert parse_amount(0.1 + 0.2) == Decimal("0.30")  # binary noise from a formula, not a third decimal
    assert parse_amount("") is None and parse_amount(None) is None
    assert parse_amount("-0") == Decimal("0.00")
    for bad in ("-5", -0.01, "12 %", True, dt.date(2022, 1, 1), "1,2,3", float("nan")):
        with pytest.raises(ValidationError):
            parse_amount(bad)


def test_rate_parser():
    assert parse_rate(0.5, "0%") == Decimal("50.00")
    assert parse_rate("0,5 %") == Decimal("0.50")  # explicit
    for bad in (0.5, "0,5", 0, 150, "cinquante", (1 / 3) * 100):
        with pytest.raises(ValidationError):
            parse_rate(bad)


# --- the command -------------------------------------------------------------------------------------

def write(tmp_path, rows, name="subventions.xlsx") -> str:
    path = tmp_path / name
    path.write_bytes(xlsx(rows))
    return str(path)


def test_command_dry_run_then_import(directory, tmp_path):
    path = write(tmp_path, [line(GRANVILLE, reference="CLACT-C"), line(LISIEUX, reference="CLACT-D")])
    out = StringIO()
    call_command("import_grants", path, "--dry-run", stdout=out)
    text = out.getvalue()
    assert "CLACT-C (convention, 2022, signée le 15/11/2022) — CRF  LE NORMANDY  - GRANVILLE (500000229)" in text
    assert "Simulation, rien n'est enregistré (région Normandie) : 2 subventions et 2 actions seraient créées" in text
    assert not Grant.objects.exists()

    out = StringIO()
    call_command("import_grants", path, "--region", "28", stdout=out)
    assert "Import terminé (région Normandie) : 2 subventions et 2 actions créées" in out.getvalue()
    assert Grant.objects.count() == 2
    assert AuditRecord.objects.get(action="grants:import").details["file"] == path


def test_command_errors_by_row_and_column_and_exit_code(directory, tmp_path):
    path = write(tmp_path, [line(LISIEUX), line(("140000035", "140000028"))])
    err = StringIO()
    with pytest.raises(CommandError, match="Import refusé : 1 erreur ; aucune subvention n'a été enregistrée") as exc:
        call_command("import_grants", path, "--region", "28", stderr=err)
    assert exc.value.returncode == 1  # manage.py exits with this status
    assert err.getvalue().strip() == ("Ligne 3, colonne « FINESS géographique » : La clé de contrôle du numéro "
                                      "FINESS « 140000028 » est incorrecte : vérifiez les chiffres saisis.")
    assert not Grant.objects.exists()


def test_command_region_from_the_file_or_required(directory, tmp_path):
    mixed = write(tmp_path, [line(LISIEUX, reference="R1"), line(PARIS_JOSEPH, reference="R2")])
    with pytest.raises(CommandError, match="Indiquez la région avec --region CODE"):
        call_command("import_grants", mixed, stderr=StringIO())
    with pytest.raises(CommandError, match="Import refusé : 1 erreur"):  # the Paris row is not Normandie's
        call_command("import_grants", mixed, "--region", "normandie", stderr=StringIO())
    with pytest.raises(CommandError, match="Région « 99 » inconnue"):
        call_command("import_grants", mixed, "--region", "99")
    with pytest.raises(CommandError, match="fichier introuvable"):
        call_command("import_grants", str(tmp_path / "absent.xlsx"), "--region", "28", stderr=StringIO())
    assert not Grant.objects.exists()


def test_the_conventions_total_from_its_optional_column(directory, normandie, staff):
    """A convention states a ceiling per action and a total, which may be lower than their sum (the CRF Le
    Normandy: 12 000,50 € + 3 500,25 € of ceilings, 14 000 € in all): the optional column sets it; empty, the
    total is the sum of the ceilings; every refusal is at its row and column."""
    headers = [*HEADERS, "Montant total de la convention (€)"]
    rows = [
        [*line(GRANVILLE, "Ergonomie des postes de soins", 12000.5, 50, "CLACT-2021-28-014", dt.date(2021, 12, 3),
               6000, year=2021), "14 000,00"],
        [*line(NORMANDY_II, "Formation gestes et postures", 3500.25, 50, "CLACT-2021-28-014", dt.date(2021, 12, 3),
               1000, year=2021), None],
        [*line(LISIEUX, "Prévention des risques psychosociaux", 8000, 40, "CLACT-2022-28-007",
               dt.date(2022, 6, 30), 0), None],
    ]
    dry = import_grants(BytesIO(xlsx(rows, headers)), normandie, staff, dry_run=True)
    assert dry.errors == [] and [g.total for g in dry.grants] == [Decimal("14000.00"), Decimal("8000.00")]
    assert dry.summary == (f"Simulation, rien n'est enregistré (région Normandie) : 2 subventions et 3 actions "
                           f"seraient créées (plafonds {euros(Decimal('23500.75'))}, montant total des conventions "
                           f"{euros(Decimal('22000.00'))}, déjà versé {euros(Decimal('7000.00'))}).")

    bad = [
        # above the sum of the ceilings
        [*rows[0][:-1], "15 500,76"], rows[1],
        # below what was paid before the platform
        [*line(LISIEUX, "Prévention", 8000, 40, "CLACT-2022-28-007", dt.date(2022, 6, 30), 5000), 4999.99],
        # two rows of one convention that disagree
        [*line(COUTANCES, "Rails", 3000, 50, "CLACT-2022-28-009", dt.date(2022, 6, 30), 0), 2500],
        [*line(COUTANCES, "Salle de repos", 3000, 50, "CLACT-2022-28-009", dt.date(2022, 6, 30), 0), 2600],
        # not an amount, and zero
        [*line(COUTANCES, "Ergonomie", 3000, 50, "CLACT-2022-28-010", dt.date(2022, 6, 30), 0), "beaucoup"],
        [*line(COUTANCES, "Formation", 3000, 50, "CLACT-2022-28-011", dt.date(2022, 6, 30), 0), 0],
    ]
    report = import_grants(BytesIO(xlsx(bad, headers)), normandie, staff)
    column = "Montant total de la convention (€)"
    assert [str(e) for e in report.errors if e.column == column] == [
        f"Ligne 2, colonne « {column} » : Convention « CLACT-2021-28-014 » : le montant total "
        f"({euros(Decimal('15500.76'))}) ne peut pas dépasser la somme des plafonds des actions "
        f"({euros(Decimal('15500.75'))}).",
        f"Ligne 4, colonne « {column} » : Convention « CLACT-2022-28-007 » : le montant total "
        f"({euros(Decimal('4999.99'))}) ne peut pas être inférieur à ce qui est déjà versé ou ordonnancé sur la "
        f"subvention ({euros(Decimal('5000.00'))}).",
        f"Ligne 6, colonne « {column} » : Cette ligne porte la même référence de convention « CLACT-2022-28-009 » "
        f"que la ligne 5, mais un montant total différent ({euros(Decimal('2600.00'))} au lieu de "
        f"{euros(Decimal('2500.00'))}) : les lignes d'une même convention doivent concorder.",
        f"Ligne 7, colonne « {column} » : « beaucoup » n'est pas un montant : indiquez un montant en euros, "
        "par exemple 1 250,50.",
        f"Ligne 8, colonne « {column} » : Convention « CLACT-2022-28-011 » : le montant total de la convention "
        "doit être supérieur à 0.",
    ]
    assert not Grant.objects.exists()

    report = import_grants(BytesIO(xlsx(rows, headers)), normandie, staff)
    assert report.errors == []
    crf = Grant.objects.get(convention_reference="CLACT-2021-28-014")
    assert (crf.total, sum(a.ceiling for a in crf.actions.all())) == (Decimal("14000.00"), Decimal("15500.75"))
    assert Grant.objects.get(convention_reference="CLACT-2022-28-007").total == Decimal("8000.00")


def test_the_command_and_the_page_show_the_conventions_total(client, directory, normandie, staff, tmp_path):
    headers = [*HEADERS, "Montant total de la convention (€)"]
    data = xlsx([[*line(LISIEUX, "Prévention des risques psychosociaux", 8000, 40, "CLACT-2022-28-007",
                        dt.date(2022, 6, 30), 0), 6000]], headers)
    path = tmp_path / "subventions.xlsx"
    path.write_bytes(data)
    out = StringIO()
    call_command("import_grants", str(path), "--region", "28", "--dry-run", stdout=out)
    assert f"total {euros(Decimal('6000.00'))} (plafonds {euros(Decimal('8000.00'))})" in out.getvalue()
    client.force_login(staff)
    text = page(upload(client, data))
    assert f"montant total des conventions : {euros(Decimal('6000.00'))}" in text
    assert f"plafonds {euros(Decimal('8000.00'))} (ligne 2)" in text
    assert import_grants(BytesIO(data), normandie, staff).errors == []
    listed = page(client.get(reverse("funding:list")))
    six, eight = euros(Decimal("6000.00")), euros(Decimal("8000.00"))
    assert f'{six}<br><span class="fr-text--xs">plafonds : {eight}</span>' in listed


# --- the template file -------------------------------------------------------------------------------

def test_template_workbook_headers_and_formats():
    wb = load_workbook(BytesIO(template_workbook()))
    assert wb.sheetnames == ["Subventions", "Mode d'emploi"]
    ws = wb["Subventions"]
    assert [c.value for c in ws[1]] == TEMPLATE_COLUMNS == [*HEADERS, "Acte", "Montant total de la convention (€)"]
    assert ws.column_dimensions["K"].number_format == EUROS
    assert all(c.font.b for c in ws[1])
    assert ws.column_dimensions["B"].number_format == ws.column_dimensions["C"].number_format == "@"
    assert ws.column_dimensions["E"].number_format == ws.column_dimensions["I"].number_format == EUROS
    assert ws.column_dimensions["H"].number_format == "DD/MM/YYYY"
    guide = wb["Mode d'emploi"]
    examples = {row[0].value: row[3] for row in guide.iter_rows(min_row=2) if row[0].value in TEMPLATE_COLUMNS}
    assert set(examples) == set(TEMPLATE_COLUMNS)
    assert examples["FINESS géographique"].value == "140000027" and examples["FINESS géographique"].data_type == "s"
    assert examples["Plafond (€)"].number_format == EUROS and examples["Plafond (€)"].value == 12000
    assert examples["Date de la convention"].is_date
    assert read_rows(BytesIO(template_workbook())) == []  # no example row to import by mistake


def test_the_template_filled_in_imports(directory, normandie, staff):
    wb = load_workbook(BytesIO(template_workbook()))
    wb["Subventions"].append([2022, "140000035", "140000027", "Action", 1000, 50, "CLACT-T", dt.date(2022, 1, 5),
                              0, "convention"])
    buffer = BytesIO()
    wb.save(buffer)
    assert import_grants(BytesIO(buffer.getvalue()), normandie, staff).errors == []


# --- the ARS pages -----------------------------------------------------------------------------------

def page(response) -> str:
    """The page's text, entities decoded (Django escapes the apostrophes)."""
    return html_module.unescape(response.content.decode())


def upload(client, data, name="subventions.xlsx"):
    return client.post(reverse("funding:import"), {"file": SimpleUploadedFile(name, data, content_type=XLSX)})


def test_pages_are_for_ars_staff_only(client, directory):
    urls = [reverse("funding:list"), reverse("funding:import"), reverse("funding:import_template")]
    for url in urls:
        assert client.get(url).status_code == 302  # to the login page
    client.force_login(UserFactory())
    for url in urls:
        assert client.get(url).status_code == 403
    assert upload(client, xlsx([line(LISIEUX)])).status_code == 403
    assert client.post(reverse("funding:import_confirm"), {"token": "x" * 43, "action": "importer"}).status_code == 403
    assert not Grant.objects.exists()


def test_template_download(client, staff):
    client.force_login(staff)
    response = client.get(reverse("funding:import_template"))
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    assert response["Content-Disposition"] == 'attachment; filename="modele-import-subventions.xlsx"'
    assert [c.value for c in load_workbook(BytesIO(response.content))["Subventions"][1]] == TEMPLATE_COLUMNS
    assert reverse("funding:import_template") == "/subventions/import/modele.xlsx"
    form = page(client.get(reverse("funding:import")))
    assert 'href="/subventions/import/modele.xlsx"' in form and 'class="fr-upload"' in form


def test_preview_then_confirm(client, directory, staff):
    client.force_login(staff)
    data = xlsx([line(GRANVILLE, reference="CLACT-W"), line(NORMANDY_II, title="Autre action", ceiling=2000,
                                                             reference="CLACT-W"), line(LISIEUX, reference="CLACT-X")])
    response = upload(client, data)
    assert response.status_code == 200
    html = page(response)
    assert "Aperçu : ce que l'import va créer" in html and "CLACT-W" in html and "CLACT-X" in html
    assert "Importer 2 subventions" in html
    assert not Grant.objects.exists()  # nothing written by the preview
    pending = client.session[SESSION_KEY]
    assert pending["original"] == "subventions.xlsx" and default_storage.exists(pending["name"])
    assert pending["name"].startswith(FOLDER)

    response = client.post(reverse("funding:import_confirm"), {"token": pending["token"], "action": "importer"},
                           follow=True)
    assert response.redirect_chain == [(reverse("funding:list"), 302)]
    assert Grant.objects.count() == 2 and GrantAction.objects.count() == 3
    assert all(g.region_id == staff.region_id and g.imported for g in Grant.objects.all())
    html = page(response)
    assert "Import terminé (région Normandie) : 2 subventions et 3 actions créées" in html
    assert "CLACT-W" in html and "CRF  LE NORMANDY  - GRANVILLE" in html and euros(Decimal("12000")) in html
    assert not default_storage.exists(pending["name"]) and SESSION_KEY not in client.session

    # the same confirmation again: the file is gone, nothing is imported twice
    response = client.post(reverse("funding:import_confirm"), {"token": pending["token"], "action": "importer"},
                           follow=True)
    assert "Le fichier déposé n'est plus disponible" in page(response)
    assert Grant.objects.count() == 2


def test_errors_on_the_page_then_recheck_after_the_directory_is_completed(client, directory, staff, normandie):
    client.force_login(staff)
    data = xlsx([line(LISIEUX, reference="CLACT-Y"), line(("140000035", "140000076"), reference="CLACT-Z")])
    response = upload(client, data)
    assert response.status_code == 400
    html = page(response)
    assert 'role="alert"' in html and "Import refusé : 1 erreur" in html
    assert ("<td>3</td><td>FINESS géographique</td><td>L'établissement de FINESS « 140000076 » "
            "n'est pas") in html
    assert "Vérifier à nouveau « subventions.xlsx »" in html
    token = client.session[SESSION_KEY]["token"]

    # the establishment is entered meanwhile: the same stored file is checked again, not uploaded again
    Establishment.objects.create(finess="140000076", legal_entity=LegalEntity.objects.get(finess="140000035"),
                                 name="CENTRE HOSPITALIER AUNAY-BAYEUX", region=normandie)
    response = client.post(reverse("funding:import_confirm"), {"token": token, "action": "verifier"})
    assert response.status_code == 200 and "Importer 2 subventions" in page(response)
    assert not Grant.objects.exists()


def test_staff_of_another_region_gets_row_errors(client, directory):
    client.force_login(InstructorFactory(region=region("32")))
    response = upload(client, xlsx([line(LISIEUX)]))
    assert response.status_code == 400
    assert "relève de la région Normandie, pas de la région Hauts-de-France" in page(response)
    token = client.session[SESSION_KEY]["token"]
    response = client.post(reverse("funding:import_confirm"), {"token": token, "action": "importer"})
    assert response.status_code == 400 and not Grant.objects.exists()


def test_wrong_token_or_wrong_file(client, directory, staff):
    client.force_login(staff)
    upload(client, xlsx([line(LISIEUX)]))
    response = client.post(reverse("funding:import_confirm"), {"token": "a" * 43, "action": "importer"}, follow=True)
    assert "Le fichier déposé n'est plus disponible" in page(response)
    assert not Grant.objects.exists()
    response = upload(client, b"a,b,c", name="subventions.csv")
    assert response.status_code == 400 and "Déposez un classeur Excel au format .xlsx" in page(response)
    response = upload(client, b"pas un zip", name="subventions.xlsx")
    assert response.status_code == 400 and "pas un classeur Excel (.xlsx) lisible" in page(response)


def test_a_new_upload_replaces_the_pending_file(client, directory, staff):
    client.force_login(staff)
    upload(client, xlsx([line(LISIEUX)]))
    first = client.session[SESSION_KEY]["name"]
    upload(client, xlsx([line(GRANVILLE)]))
    assert not default_storage.exists(first) and default_storage.exists(client.session[SESSION_KEY]["name"])


def test_grant_list_shows_the_region_only(client, directory, normandie, staff):
    import_grants(BytesIO(xlsx([line(LISIEUX, reference="CLACT-N", paid=2500)])), normandie, staff)
    corse = region("94")
    import_grants(BytesIO(xlsx([line(AJACCIO, reference="CLACT-CORSE")])), corse, ArsAdminFactory(region=corse))
    client.force_login(staff)
    html = page(client.get(reverse("funding:list")))
    assert "CLACT-N" in html and "CLACT-CORSE" not in html
    assert euros(Decimal("10000")) in html and euros(Decimal("2500")) in html and "Active" in html


# --- spreadsheet bombs (issue 11, point 3) ---------------------------------------------------------

def test_a_bomb_is_refused_at_the_upload_field_before_openpyxl_parses_it(client, directory, staff, monkeypatch):
    from guichet.core import spreadsheets
    from tests import bombs

    def refuse(*args, **kwargs):
        raise AssertionError("openpyxl was asked to parse a bomb")
    monkeypatch.setattr(spreadsheets, "load_workbook", refuse)
    client.force_login(staff)
    response = upload(client, bombs.deflated_sheet(61 * 1024 * 1024))
    html = page(response)
    assert response.status_code == 400
    assert '<p class="fr-message fr-message--error">Le classeur occuperait 61 Mo une fois décompressé' in html
    assert SESSION_KEY not in client.session  # nothing stored
    response = upload(client, bombs.huge_shared_strings(400 * 1024 * 1024))
    assert "Le texte du classeur occuperait 400 Mo (20 Mo au plus)" in page(response)
    with pytest.raises(ImportFileError, match="Le texte du classeur occuperait 400 Mo"):
        read_rows(bombs.huge_shared_strings(400 * 1024 * 1024))


def test_a_huge_cell_in_any_column_is_refused_with_its_position(directory):
    data = xlsx([[*line(LISIEUX), "x" * 6000]], headers=[*HEADERS, "Notes"])
    with pytest.raises(ImportFileError) as refused:
        read_rows(data)
    assert str(refused.value) == ("Onglet « Sheet », cellule J2 : le texte fait 6000 caractères ; 5000 au plus "
                                  "sont admis.")
