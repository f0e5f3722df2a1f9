"""Internal codes never reach a reader: the dossier history names states by their French labels, the
commission's minutes and session page state each decision as its outcome (« Accepté », « Refusé »)."""

import pytest
from django.urls import reverse

from guichet.commission.models import Decision
from tests.test_decision_documents import decided, pdf_text  # noqa: F401  (fixture)
from tests.test_instruction_dossier import instructor, make  # noqa: F401  (fixture)


def test_the_history_shows_state_labels(client, instructor, django_capture_on_commit_callbacks):  # noqa: F811
    dossier = make("en_instruction")
    client.force_login(instructor)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("instruction:transition", args=[dossier.pk, "accepter"]), {"accepter-motivation": ""})
    html = client.get(reverse("instruction:dossier", args=[dossier.pk])).content.decode()
    assert "En instruction → Accepté" in html
    assert "(en_instruction" not in html and "→ accepte)" not in html


def test_the_minutes_state_each_outcome(decided):  # noqa: F811
    from guichet.commission.models import Document

    session = decided[0]
    minutes = pdf_text(Document.objects.get(session=session, kind="proces_verbal"))
    assert "Accepté" in minutes and "Refusé" in minutes
    assert "Accepter" not in minutes and "Refuser" not in minutes


@pytest.mark.parametrize("decision, outcome", [(Decision.ACCEPT, "Accepté"), (Decision.REFUSE, "Refusé"),
                                               (Decision.CLOSE, "Classé sans suite"),
                                               (Decision.POSTPONE, "Ajourné"), (Decision.PENDING, "À décider")])
def test_every_decision_has_an_outcome_label(decision, outcome):
    from guichet.commission.models import AgendaItem

    assert AgendaItem(decision=decision).outcome == outcome
