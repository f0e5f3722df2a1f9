"""Texts a user reads are proper French: counts agree with their number (« 1 ligne », « 8 éléments »,
never « ligne(s) »)."""

import re

import pytest

from guichet.core.text import count
from tests.test_commission_sessions import table  # noqa: F401  (fixture)
from tests.test_payment_pages import example, instructor, proofs_call  # noqa: F401  (fixtures)


@pytest.mark.parametrize("n, expected", [(0, "0 ligne rejetée"), (1, "1 ligne rejetée"),
                                         (2, "2 lignes rejetées"), (8, "8 lignes rejetées")])
def test_count_agrees_the_french_way(n, expected):
    assert count(n, "ligne rejetée") == expected


def test_count_with_an_explicit_plural():
    assert count(3, "élément à compléter", "éléments à compléter") == "3 éléments à compléter"


def test_filing_an_incomplete_dossier_counts_the_missing_items(db):
    from guichet.dossiers import services
    from guichet.establishments.models import EstablishmentAccess
    from tests.factories import CallFactory, DossierFactory, EstablishmentFactory, UserFactory
    from tests.test_dossier_filling import SCHEMA

    user = UserFactory()
    establishment = EstablishmentFactory()
    EstablishmentAccess.objects.create(user=user, establishment=establishment)
    dossier = DossierFactory(call=CallFactory(schema=SCHEMA), establishment=establishment, created_by=user)
    dossier.members.add(user)
    with pytest.raises(services.FilingError) as raised:
        services.file_dossier(dossier, user)
    message = raised.value.messages[0] if hasattr(raised.value, "messages") else str(raised.value)
    assert "(s)" not in message and "éléments à compléter" in message


def test_a_minimum_of_one_row_reads_in_the_singular():
    from guichet.formschema.engine import missing_items
    from guichet.formschema.schema import parse_schema

    schema = parse_schema({"sections": [{"key": "a", "title": "Actions", "fields": [
        {"key": "actions", "type": "repeat", "label": "Actions", "min_rows": 1,
         "fields": [{"key": "intitule", "type": "text", "label": "Intitulé"}]}]}]})
    assert [m.message for m in missing_items(schema, {})] == ["au moins 1 ligne à remplir"]


def test_the_invitation_is_worded_neutrally(db, mailoutbox):
    from guichet.dossiers import notifications
    from guichet.dossiers.models import Invitation
    from tests.factories import DossierFactory

    dossier = DossierFactory()
    invitation = Invitation.objects.create(dossier=dossier, email="collegue@example.fr", invited_by=dossier.created_by)
    notifications.invitation.call(invitation.pk)
    body = mailoutbox[0].body
    assert "avec lui" not in body and "avec elle" not in body
    assert f"{dossier.created_by.email} vous invite à rejoindre le dossier" in body


def test_account_e_mails_name_the_service_not_the_host(client, db, mailoutbox):
    from tests.factories import UserFactory

    client.post("/comptes/signup/", {"email": "nouvelle@example.fr", "password1": "Un-mot-de-passe-2026!",
                                     "password2": "Un-mot-de-passe-2026!"})
    UserFactory(email="connue@example.fr")
    client.post("/comptes/password/reset/", {"email": "connue@example.fr"})
    assert len(mailoutbox) == 2
    for message in mailoutbox:
        assert message.body.startswith("Bonjour,") and "Guichet CLACT" in message.body, message.body
        # The host appears only inside the link, never as the service's name.
        text = re.sub(r"https?://testserver/\S*", "", message.body)
        assert "testserver" not in text and "c'est" not in text and "Hello" not in text, message.body


def test_a_read_only_part_does_not_promise_saving(client, db):
    from django.urls import reverse

    from guichet.dossiers.models import Dossier
    from tests.factories import CallFactory, DossierFactory
    from tests.test_dossier_filling import SCHEMA

    dossier = DossierFactory(call=CallFactory(schema=SCHEMA))
    client.force_login(dossier.created_by)
    url = reverse("dossiers:section", args=[dossier.pk, "identification"])
    assert "enregistrées à chaque champ quitté" in client.get(url).content.decode()
    Dossier.objects.filter(pk=dossier.pk).update(state="en_instruction", number="2024-32-000001")
    html = client.get(url).content.decode()
    assert "ne peut plus être modifié" in html and "enregistrées à chaque champ quitté" not in html


def test_a_money_input_shows_its_amount_grouped_like_the_display(client, db):
    from django.urls import reverse

    from guichet.dossiers.models import Dossier
    from guichet.formschema.values import parse_decimal
    from tests.factories import CallFactory, DossierFactory
    from tests.test_dossier_filling import SCHEMA

    dossier = DossierFactory(call=CallFactory(schema=SCHEMA))
    Dossier.objects.filter(pk=dossier.pk).update(answers={"actions": [{"intitule": "Rails", "cout": "24000.00"}]})
    client.force_login(dossier.created_by)
    html = client.get(reverse("dossiers:section", args=[dossier.pk, "actions"])).content.decode()
    assert 'value="24\u202f000,00"' in html and 'value="24000,00"' not in html
    # What the input shows reads back, as do the other spaces people type.
    for typed in ("24\u202f000,00", "24\u00a0000,00", "24 000,00 €", "24000"):
        assert parse_decimal(typed) == 24000


def test_arbitration_amount_inputs_are_grouped_like_the_totals(client, table):  # noqa: F811
    from django.urls import reverse

    from guichet.commission import arbitration

    _, arbitrator, session, item = table
    arbitration.set_amounts(item.lines.get(position=1), arbitrator, granted="6000")
    client.force_login(arbitrator)
    html = client.get(reverse("commission:session", args=[session.pk])).content.decode()
    line = item.lines.get(position=1)
    assert f'id="granted-{line.pk}" name="granted" inputmode="decimal" value="6\u202f000,00"' in html
    assert f'id="eligible-{line.pk}" name="eligible_cost" inputmode="decimal" value="12\u202f000,00"' in html
    assert 'value="6000,00"' not in html and 'value="6000.00"' not in html


def test_a_validated_invoice_amount_input_is_grouped(client, example):  # noqa: F811
    from django.urls import reverse

    from guichet.funding import payments
    from guichet.funding.models import InvoiceLine, LineStatus

    payments.validate_line(InvoiceLine.objects.get(pk=example["lines"]["a_rails"].pk), example["instructor"],
                           LineStatus.PARTIAL, accepted_amount="5000", reason="Seuls 5 000 € concernent l'action.")
    client.force_login(example["instructor"])
    html = client.get(reverse("payments:validation", args=[example["a"].pk])).content.decode()
    assert 'value="5\u202f000,00"' in html and 'value="5000,00"' not in html
