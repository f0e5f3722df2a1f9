"""A session's decisions are not applied before the session sits unless a reason is recorded (the letters say
« après avis de la commission »); and the convention prints its parties cleanly: no empty identifiers, one
signatory, one signature."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from guichet.commission import arbitration
from guichet.commission.arbitration import ArbitrationError
from guichet.commission.models import Decision, Document, Session
from guichet.core.models import AuditRecord
from guichet.dossiers.models import Dossier, State
from guichet.establishments.models import Establishment, LegalEntity
from tests.factories import PARIS, CallFactory, InstructorFactory
from tests.test_arbitration import action, in_instruction
from tests.test_decision_documents import pdf_text


@pytest.fixture
def upcoming(db, monkeypatch):
    from guichet.commission import documents

    monkeypatch.setattr(documents, "enqueue_decision_documents", lambda session: None)
    call = CallFactory(envelope=Decimal("10000.00"))
    instructor = InstructorFactory()
    session = arbitration.create_session(call, instructor, title="Commission de juin",
                                         held_on=timezone.now() + dt.timedelta(days=10))
    dossier = in_instruction(call, [action("Ergonomie", 2000, 1000)])
    [item] = arbitration.add_to_agenda(session, [dossier], instructor)[0]
    arbitration.set_amounts(item.lines.get(), instructor, granted="1000")
    arbitration.set_decision(item, instructor, Decision.ACCEPT)
    return session, instructor, dossier


def test_applying_before_the_session_needs_a_reason(upcoming):
    session, instructor, dossier = upcoming
    with pytest.raises(ArbitrationError) as raised:
        arbitration.apply_decisions(session, instructor)
    assert "La séance est prévue le" in raised.value.message_dict["early_reason"][0]
    assert Dossier.objects.get(pk=dossier.pk).state == State.EN_INSTRUCTION
    arbitration.apply_decisions(session, instructor, early_reason="Avis recueilli par écrit le 2 juin.")
    assert Dossier.objects.get(pk=dossier.pk).state == State.ACCEPTE
    record = AuditRecord.objects.filter(action="session:apply").latest("pk")
    assert "Avis recueilli par écrit" in str(record.details)


def test_the_page_asks_for_the_reason_at_the_field(client, upcoming):
    session, instructor, dossier = upcoming
    client.force_login(instructor)
    page = client.get(reverse("commission:session", args=[session.pk])).content.decode()
    assert 'for="early-reason"' in page
    response = client.post(reverse("commission:apply", args=[session.pk]), {"early_reason": "  "})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="early-reason-messages"' in html and "La séance est prévue le" in html and 'aria-invalid="true"' in html
    assert Dossier.objects.get(pk=dossier.pk).state == State.EN_INSTRUCTION
    response = client.post(reverse("commission:apply", args=[session.pk]), {"early_reason": "Urgence budgétaire"})
    assert response.status_code == 302
    assert Session.objects.get(pk=session.pk).decided_at is not None


def test_a_past_session_needs_no_reason(upcoming):
    session, instructor, dossier = upcoming
    Session.objects.filter(pk=session.pk).update(held_on=dt.datetime(2025, 3, 12, 14, tzinfo=PARIS))
    arbitration.apply_decisions(Session.objects.get(pk=session.pk), instructor)
    assert Dossier.objects.get(pk=dossier.pk).state == State.ACCEPTE


def test_the_convention_omits_empty_identifiers_and_names_its_signatory_once(db, django_capture_on_commit_callbacks):
    call = CallFactory(envelope=Decimal("20000.00"))
    instructor = InstructorFactory()
    session = arbitration.create_session(call, instructor, title="Commission", place="Nancy",
                                         held_on=dt.datetime(2025, 3, 12, 14, tzinfo=PARIS),
                                         signatory_name="Claire Dupont",
                                         signatory_title="La directrice générale de l'ARS Grand Est")
    dossier = in_instruction(call, [action("Formation des encadrants", 12000, 6000)])
    LegalEntity.objects.filter(pk=dossier.establishment.legal_entity_id).update(siren="")
    Establishment.objects.filter(pk=dossier.establishment_id).update(siret="", city="")
    [item] = arbitration.add_to_agenda(session, [dossier], instructor)[0]
    arbitration.set_amounts(item.lines.get(), instructor, granted="6000")
    arbitration.set_decision(item, instructor, Decision.ACCEPT)
    with django_capture_on_commit_callbacks(execute=True):
        arbitration.apply_decisions(session, instructor)
    convention = pdf_text(Document.objects.get(dossier=dossier, kind="convention"))
    assert "SIREN" not in convention and "SIRET" not in convention and " , " not in convention
    assert ", ," not in convention
    assert "représentée par Claire Dupont, directrice générale de l'ARS Grand Est" in convention.replace("’", "'")
    assert convention.count("Claire Dupont") == 2  # the parties, then above the signature
    assert convention.count("directrice générale de l'ARS Grand Est") == 2
