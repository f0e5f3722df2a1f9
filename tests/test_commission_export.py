"""The arbitration table as an XLSX workbook: typed cells (amounts are numbers equal to the Decimal
amounts, FINESS and SIRET are text with their leading zeros), a totals row, the « Synthèse » sheet;
downloaded by whoever may see the session, on the audit trail, in a fixed number of queries."""

import datetime as dt
from decimal import Decimal
from io import BytesIO
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.shortcuts import resolve_url
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from guichet.commission import arbitration
from guichet.commission.exports import arbitration_workbook, export_filename
from guichet.commission.models import Criterion, Decision, Score
from guichet.core.models import AuditRecord
from guichet.dossiers.models import Dossier, State
from guichet.establishments.models import Establishment
from tests.factories import PARIS, CallFactory, DossierFactory, InstructorFactory, UserFactory, region

pytestmark = pytest.mark.django_db

HEADERS = ["N° dossier", "Établissement", "FINESS", "SIRET", "Action", "Établissements concernés", "Coût total",
           "Coût éligible", "Montant demandé", "Plafond", "Note /20", "Montant proposé", "Montant accordé",
           "Décision", "Motivation"]
EUROS = '#,##0.00 "€"'


def action(title, cost, requested, structures=""):
    return {"intitule": title, "cout_total": str(cost), "montant_demande": str(requested),
            "structures_concernees": structures}


def in_instruction(call, actions, establishment=None) -> Dossier:
    d = DossierFactory(call=call, **({"establishment": establishment} if establishment else {}))
    Dossier.objects.filter(pk=d.pk).update(state=State.EN_INSTRUCTION, number=f"2024-32-{d.pk:06d}",
                                           answers={"actions": actions})
    return Dossier.objects.get(pk=d.pk)


def amount(value) -> Decimal:
    """A numeric cell read back, as the Decimal it was written from."""
    assert isinstance(value, int | float) and not isinstance(value, bool), value
    return Decimal(str(value)).quantize(Decimal("0.01"))


@pytest.fixture
def call():
    return CallFactory(envelope=Decimal("20000.00"), cofinancing_rate=Decimal("50.00"))


@pytest.fixture
def instructor():
    return InstructorFactory()


@pytest.fixture
def session(call, instructor):
    return arbitration.create_session(call, instructor, title="Séance du 12/03 : arbitrage",
                                      held_on=dt.datetime(2025, 3, 12, 14, 30, tzinfo=PARIS), place="Lille")


@pytest.fixture
def table(call, instructor, session):
    """Two dossiers on the agenda: a Corsican establishment (FINESS 2A…, SIRET with a leading zero) with two
    actions, one granted; and an establishment of the Ain (FINESS 01…) refused."""
    corsica = Establishment.objects.create(finess="2A0000024", siret="02345678900017", name="EHPAD D'AJACCIO",
                                           region=region("94"), department="2A")
    ain = Establishment.objects.create(finess="010000024", siret="26010004500012", name="CH DE BOURG-EN-BRESSE",
                                       region=region("84"), department="01")
    first = in_instruction(call, [action("Formation des encadrants", "10000.10", 6000, "EHPAD D'AJACCIO"),
                                  action("=HYPERLINK(\"http://exemple.fr\")", "999.99", 1000)], establishment=corsica)
    second = in_instruction(call, [action("Ergonomie\x0b des postes", 3000, 1500)], establishment=ain)
    (a, b), _ = arbitration.add_to_agenda(session, [first, second], instructor)
    formation, injected = a.lines.all()
    arbitration.set_amounts(formation, instructor, proposed="4500", granted="5000.05")
    arbitration.set_amounts(injected, instructor, granted="499.99")
    arbitration.set_decision(a, instructor, Decision.ACCEPT, "Projet solide.")
    arbitration.set_decision(b, instructor, Decision.REFUSE, "Hors critères.")
    criterion = Criterion.objects.create(call=call, label="Impact", scale_max=4)
    Score.objects.create(dossier=first, criterion=criterion, scorer=instructor, value=3)  # 15.00 /20
    return first, second


def read(content: bytes):
    return load_workbook(BytesIO(content))


def test_the_table_has_typed_cells_and_a_totals_row(session, table):
    first, second = table
    wb = read(arbitration_workbook(session))
    assert wb.sheetnames == ["Arbitrage", "Synthèse"]
    ws = wb["Arbitrage"]
    rows = list(ws.iter_rows())
    assert [c.value for c in rows[0]] == HEADERS
    assert all(c.font.bold for c in rows[0])
    assert ws.freeze_panes == "A2"
    assert ws.column_dimensions["B"].width > 20 and ws.column_dimensions["O"].width > 40
    assert len(rows) == 1 + 3 + 1  # header, three actions, totals

    formation, injected, ergonomie, totals = rows[1:]
    values = [c.value for c in formation]
    assert values[:6] == [first.number, "EHPAD D'AJACCIO", "2A0000024", "02345678900017",
                          "Formation des encadrants", "EHPAD D'AJACCIO"]
    assert [amount(v) for v in values[6:10]] == [Decimal("10000.10"), Decimal("10000.10"), Decimal("6000.00"),
                                                 Decimal("5000.05")]  # ceiling: 50 % rounded down
    assert amount(values[10]) == Decimal("15.00")
    assert [amount(v) for v in values[11:13]] == [Decimal("4500.00"), Decimal("5000.05")]
    assert values[13:] == ["Accepté", "Projet solide."]
    for cell in formation[6:10] + formation[11:13]:
        assert cell.data_type == "n" and cell.number_format == EUROS
    assert formation[10].number_format == "0.00"

    # FINESS and SIRET are text, leading zeros kept.
    finess, siret = ergonomie[2], ergonomie[3]
    assert (finess.value, siret.value) == ("010000024", "26010004500012")
    assert (formation[3].value, formation[3].data_type, formation[3].number_format) == ("02345678900017", "s", "@")
    for cell in (finess, siret, formation[2]):
        assert cell.data_type == "s" and cell.number_format == "@" and isinstance(cell.value, str)

    # What an applicant typed stays text: no formula, no control character.
    assert injected[4].value == '=HYPERLINK("http://exemple.fr")' and injected[4].data_type == "s"
    assert ergonomie[4].value == "Ergonomie des postes"
    # Not proposed, not granted: empty cells; a refused dossier's amounts are cleared.
    assert injected[11].value is None and ergonomie[12].value is None
    assert [c.value for c in ergonomie[13:]] == ["Refusé", "Hors critères."]
    assert ergonomie[10].value is None  # not scored

    assert totals[0].value == "Total" and totals[0].font.bold
    assert [amount(totals[i].value) for i in (6, 7, 8, 9, 11, 12)] == [
        Decimal("14000.09"), Decimal("14000.09"), Decimal("8500.00"), Decimal("7000.04"), Decimal("4500.00"),
        Decimal("5500.04")]


def test_the_summary_sheet(session, table):
    ws = read(arbitration_workbook(session))["Synthèse"]
    summary = {row[0].value: row[1] for row in ws.iter_rows()}
    assert summary["Séance"].value == "Séance du 12/03 : arbitrage"
    assert summary["Date de la séance"].value == dt.datetime(2025, 3, 12, 14, 30)  # Paris wall-clock time
    assert (summary["Dossiers à l'ordre du jour"].value, summary["Actions"].value) == (2, 3)
    assert amount(summary["Enveloppe de l'appel"].value) == Decimal("20000.00")
    assert amount(summary["Engagé sur l'appel (toutes séances)"].value) == Decimal("5500.04")
    assert amount(summary["Reste disponible"].value) == Decimal("14499.96")
    assert amount(summary["Accordé dans cette séance"].value) == Decimal("5500.04")
    assert summary["Reste disponible"].number_format == EUROS


def test_an_empty_agenda_gives_a_header_and_a_zero_total(session):
    ws = read(arbitration_workbook(session))["Arbitrage"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == tuple(HEADERS) and rows[1][0] == "Total" and amount(rows[1][12]) == Decimal("0.00")


def test_the_file_name_is_french_and_safe(session):
    assert export_filename(session) == "Arbitrage - Séance du 12-03 - arbitrage.xlsx"


# --- the download ------------------------------------------------------------------------------

def url(session):
    return reverse("commission:session_xlsx", args=[session.pk])


def test_the_regions_instructor_downloads_it_on_the_audit_trail(client, session, table):
    colleague = InstructorFactory()
    client.force_login(colleague)
    response = client.get(url(session))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"] == (
        f"attachment; filename*=utf-8''{quote('Arbitrage - Séance du 12-03 - arbitrage.xlsx')}")
    assert response["Cache-Control"] == "private, no-store"
    assert read(response.content)["Arbitrage"]["A2"].value == table[0].number
    record = AuditRecord.objects.get(action="export:arbitration")
    assert (record.actor, record.details) == (colleague, {"session": session.pk})


def test_a_member_of_the_session_downloads_it(client, instructor, session, table):
    member = UserFactory()
    arbitration.add_member(session, instructor, member, "membre", "CFDT")
    client.force_login(member)
    assert client.get(url(session)).status_code == 200


@pytest.mark.parametrize("who", ["other_region", "applicant", "member_elsewhere"])
def test_others_get_404(client, call, instructor, session, table, who):
    if who == "other_region":
        user = InstructorFactory(region=region("44"))
    elif who == "applicant":
        user = table[0].created_by  # even the applicant of a dossier on the agenda
    else:
        user = UserFactory()
        other = arbitration.create_session(call, instructor, title="Autre", held_on=session.held_on)
        arbitration.add_member(other, instructor, user, "membre")
    client.force_login(user)
    assert client.get(url(session)).status_code == 404
    assert not AuditRecord.objects.filter(action="export:arbitration").exists()


def test_anonymous_is_sent_to_login(client, session):
    response = client.get(url(session))
    assert response.status_code == 302
    assert response.url.startswith(resolve_url(settings.LOGIN_URL)) and "next=" in response.url


def test_the_number_of_queries_does_not_depend_on_the_agenda(client, call, instructor, session):
    client.force_login(instructor)
    counts = []
    for size in (3, 10):
        dossiers = [in_instruction(call, [action("A", 1000, 500), action("B", 300, 100)])
                    for _ in range(size - session.items.count())]
        arbitration.add_to_agenda(session, dossiers, instructor)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url(session))
        assert response.status_code == 200
        assert len(list(read(response.content)["Arbitrage"].iter_rows())) == 1 + 2 * size + 1
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
