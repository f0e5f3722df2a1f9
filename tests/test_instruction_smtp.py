"""Instruction e-mails go out through a real SMTP server on loopback: the correction request to the
applicant (with the instructor's message), the ARS message of the messagerie, the expert's invitation."""

import pytest

from guichet.dossiers import workflow
from guichet.dossiers.models import Dossier
from guichet.experts import services as experts
from guichet.messaging import services as messaging
from tests.factories import DossierFactory, InstructorFactory


@pytest.fixture
def dossier(db):
    d = DossierFactory()
    Dossier.objects.filter(pk=d.pk).update(state="en_instruction", number=f"2024-32-{d.pk:06d}")
    return Dossier.objects.get(pk=d.pk)


def test_instruction_mails_reach_a_real_smtp_server(smtp_email_backend, dossier, django_capture_on_commit_callbacks):
    instructor = InstructorFactory()
    with django_capture_on_commit_callbacks(execute=True):
        workflow.apply(dossier, "demander_correction", instructor, motivation="Merci de joindre le DUERP signé.")
    with django_capture_on_commit_callbacks(execute=True):
        messaging.post_message(dossier, instructor, "Le DUERP peut être envoyé par la messagerie.")
    with django_capture_on_commit_callbacks(execute=True):
        experts.ask(dossier, instructor, email="experte@exemple.fr", question="Le diagnostic est-il partagé ?")
    messages = smtp_email_backend.wait_for(3)
    applicant = dossier.created_by.email
    bodies = {m["To"]: [] for m in messages}
    for m in messages:
        bodies[m["To"]].append(smtp_email_backend.body(m))
    assert any("Merci de joindre le DUERP signé." in b for b in bodies[applicant])
    assert any("Le DUERP peut être envoyé par la messagerie." in b for b in bodies[applicant])
    assert any("Le diagnostic est-il partagé ?" in b for b in bodies["experte@exemple.fr"])
