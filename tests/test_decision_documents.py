"""The documents of a session's decisions, generated after they are applied: the letter of each decided
dossier, the convention or CPOM amendment of each accepted one (its actions, ceilings and total), the
minutes — read back as text from the PDF; and who may download them."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from pypdf import PdfReader

from guichet.commission import arbitration
from guichet.commission.models import Decision, Document
from tests.factories import PARIS, CallFactory, InstructorFactory, UserFactory, region
from tests.test_arbitration import action, in_instruction


def pdf_text(document: Document) -> str:
    with document.file.open("rb") as fh:
        reader = PdfReader(io.BytesIO(fh.read()))
    # Normalise the spaces PDF text extraction turns thin and no-break spaces into.
    text = "\n".join(page.extract_text() for page in reader.pages)
    return " ".join(text.replace("\u202f", " ").replace("\u00a0", " ").split())


@pytest.fixture
def decided(db, django_capture_on_commit_callbacks):
    call = CallFactory(title="CLACT-QVCT 2025 Grand Est", envelope=Decimal("20000.00"))
    instructor = InstructorFactory()
    session = arbitration.create_session(call, instructor, title="Commission d'arbitrage du 12 mars 2025",
                                         held_on=dt.datetime(2025, 3, 12, 14, tzinfo=PARIS), place="Nancy",
                                         signatory_name="Claire Dupont", convention_starts_on=dt.date(2025, 4, 1),
                                         convention_ends_on=dt.date(2026, 12, 31))
    member = UserFactory(first_name="Jean", last_name="Martin")
    arbitration.add_member(session, instructor, member, "membre", "CFDT Santé Sociaux")
    accepted = in_instruction(call, [action("Formation des encadrants", 12000, 6000),
                                     action("Rails de transfert", 8000, 4000)])
    avenant = in_instruction(call, [action("Espace de repos", 3000, 1500)])
    refused = in_instruction(call, [action("Séminaire", 5000, 2500)])
    (a, b, r), _ = arbitration.add_to_agenda(session, [accepted, avenant, refused], instructor)
    arbitration.set_amounts(a.lines.get(position=1), instructor, granted="6000")
    arbitration.set_amounts(a.lines.get(position=2), instructor, granted="3500.50")
    arbitration.set_amounts(b.lines.get(), instructor, granted="1500")
    arbitration.set_decision(a, instructor, Decision.ACCEPT)
    arbitration.set_decision(b, instructor, Decision.ACCEPT, convention_kind="avenant")
    arbitration.set_decision(r, instructor, Decision.REFUSE, "Le diagnostic n'a pas associé les représentants "
                                                             "du personnel.")
    with django_capture_on_commit_callbacks(execute=True):
        arbitration.apply_decisions(session, instructor)
    return session, accepted, avenant, refused, member


def test_letters_conventions_and_minutes_are_generated(decided):
    session, accepted, avenant, refused, _ = decided
    kinds = lambda d: sorted(Document.objects.filter(dossier=d).values_list("kind", flat=True))  # noqa: E731
    assert kinds(accepted) == ["convention", "lettre"]
    assert kinds(avenant) == ["avenant", "lettre"]
    assert kinds(refused) == ["lettre"]
    convention = pdf_text(Document.objects.get(dossier=accepted, kind="convention"))
    for expected in ("CENTRE HOSPITALIER DE LISIEUX", "140000027", "Formation des encadrants", "6 000,00 €",
                     "Rails de transfert", "3 500,50 €", "9 500,50 €", "50 %", f"CLACT-{accepted.number}",
                     "Claire Dupont"):
        assert expected in convention, expected
    assert "avenant" in pdf_text(Document.objects.get(dossier=avenant, kind="avenant")).lower()
    letter = pdf_text(Document.objects.get(dossier=refused, kind="lettre"))
    assert "n'a pas associé les représentants du personnel" in letter.replace("’", "'")
    minutes = pdf_text(Document.objects.get(session=session, kind="proces_verbal"))
    for expected in ("Commission d'arbitrage du 12 mars 2025", "Jean Martin", "CFDT Santé Sociaux",
                     accepted.number, refused.number, "11 000,50 €", "20 000,00 €", "8 999,50 €"):
        assert expected in minutes.replace("’", "'"), expected


def test_who_downloads_the_documents(client, decided):
    session, accepted, _, refused, member = decided
    letter = Document.objects.get(dossier=accepted, kind="lettre")
    minutes = Document.objects.get(session=session, kind="proces_verbal")
    url = lambda d: reverse("commission:document", args=[d.pk])  # noqa: E731
    client.force_login(accepted.created_by)
    response = client.get(url(letter))
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"%PDF")
    assert client.get(url(minutes)).status_code == 404
    assert client.get(url(Document.objects.get(dossier=refused))).status_code == 404
    client.force_login(member)
    assert client.get(url(minutes)).status_code == 200
    assert client.get(url(letter)).status_code == 404
    client.force_login(InstructorFactory(region=region("11")))
    assert client.get(url(letter)).status_code == 404 and client.get(url(minutes)).status_code == 404
    client.force_login(InstructorFactory())
    assert client.get(url(letter)).status_code == 200
    # The applicant finds them on the dossier's page.
    client.force_login(accepted.created_by)
    page = client.get(reverse("dossiers:summary", args=[accepted.pk])).content.decode()
    assert url(letter) in page and "Convention de financement" in page


def test_a_draft_of_the_minutes_is_generated_on_demand(client, db):
    call = CallFactory(envelope=Decimal("10000.00"))
    instructor = InstructorFactory()
    session = arbitration.create_session(call, instructor, title="Séance de printemps",
                                         held_on=dt.datetime(2025, 3, 12, 14, tzinfo=PARIS))
    dossier = in_instruction(call, [action("Formation", 1000, 500)])
    arbitration.add_to_agenda(session, [dossier], instructor)
    client.force_login(instructor)
    url = reverse("commission:minutes", args=[session.pk])
    assert client.get(url).status_code == 302  # none yet
    client.post(reverse("commission:minutes_draft", args=[session.pk]))
    draft = Document.objects.get(session=session, kind="proces_verbal")
    assert "Séance de printemps" in pdf_text(draft) and dossier.number in pdf_text(draft)
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"%PDF")
    client.force_login(UserFactory())
    assert client.post(reverse("commission:minutes_draft", args=[session.pk])).status_code == 404
    assert Document.objects.filter(session=session).count() == 1
