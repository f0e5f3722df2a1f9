"""`make demo` loads demo data twice without error and shows a commission ready to arbitrate."""

import io

from django.core.management import call_command

from guichet.commission.models import Session
from guichet.dossiers.models import State


def test_seed_demo_is_idempotent_and_prepares_a_commission(db):
    for _ in range(2):
        out = io.StringIO()
        call_command("seed_demo", stdout=out)
    assert "membre.commission@guichet-clact.localhost" in out.getvalue()
    session = Session.objects.get()
    assert session.items.count() == 3
    assert {i.dossier.state for i in session.items.select_related("dossier")} == {State.EN_INSTRUCTION}
    assert session.members.get().user.email == "membre.commission@guichet-clact.localhost"
    assert session.call.criteria.count() == 4 and session.call.envelope == 60000
