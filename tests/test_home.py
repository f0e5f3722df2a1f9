"""The home page of each role (issue 12): the applicant's dossiers and what to do next, the instructor's calls with
what is left to handle, the administrator's calls by stage, a commission member's sessions, the public page — each
in a fixed number of queries, whatever the volume."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from guichet.commission.models import Session, SessionMember
from guichet.dossiers.models import State
from guichet.establishments.models import MembershipRequest
from guichet.messaging import services as messaging
from guichet.messaging.models import AwaitedDocument
from tests.factories import (
    ArsAdminFactory,
    CallFactory,
    DossierFactory,
    EstablishmentFactory,
    InstructorFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
HOME = "/"


def filed(call, user=None, state=State.EN_CONSTRUCTION, **fields):
    dossier = DossierFactory(call=call, **({"created_by": user} if user else {}))
    dossier.number = f"2024-32-{dossier.pk:06d}"
    dossier.state = state
    for name, value in fields.items():
        setattr(dossier, name, value)
    dossier.save()
    return dossier


def text(response):
    assert response.status_code == 200
    return response.content.decode()


def test_anonymous_visitor_gets_the_presentation_and_the_open_calls(client):
    CallFactory(title="CLACT-QVCT Hauts-de-France 2026")
    CallFactory(title="Appel clos", closes_at=timezone.now() - dt.timedelta(days=1))
    page = text(client.get(HOME))
    assert "CLACT-QVCT Hauts-de-France 2026" in page and "Appel clos" not in page
    assert "Créer un compte" in page and "Tableau de bord" not in page


def applicant_world(n):
    applicant = UserFactory()
    call = CallFactory(title="CLACT-QVCT 2026")
    instructor = InstructorFactory()
    for i in range(n):
        d = filed(call, applicant, correction_requested=(i == 0))
        messaging.post_message(d, instructor, "Pouvez-vous préciser le budget ?")
        AwaitedDocument.objects.create(dossier=d, label=f"Avis du CSE {i}", part=3)
    DossierFactory(call=call, created_by=applicant)  # a draft
    MembershipRequest.objects.create(user=applicant, establishment=EstablishmentFactory(
        finess="140000076", siret="26140092300015", name="CENTRE HOSPITALIER AUNAY-BAYEUX"))
    return applicant


def test_applicant_home_lists_dossiers_deadlines_and_claims(client):
    applicant = applicant_world(2)
    client.force_login(applicant)
    page = text(client.get(HOME))
    assert "Tableau de bord" in page and "Mes dossiers" in page
    assert "L'ARS demande des corrections" in page
    assert "Avis du CSE 0" in page and "Avis du CSE 1" in page
    assert "Brouillon" in page and " : à déposer " in page  # the draft, with the call's deadline
    assert "CENTRE HOSPITALIER AUNAY-BAYEUX" in page  # the pending claim
    assert "2 messages non lus" in page and "1 message non lu" in page
    assert "Espace instructeur" not in page


def test_applicant_home_takes_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    client.force_login(applicant_world(1))
    with django_assert_max_num_queries(20) as few:
        client.get(HOME)
    client.force_login(applicant_world(6))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(HOME)


def instructor_world(n):
    call = CallFactory(title="CLACT-QVCT Hauts-de-France 2026")
    for i in range(n):
        d = filed(call, state=State.EN_INSTRUCTION if i % 2 else State.EN_CONSTRUCTION)
        messaging.post_message(d, d.created_by, "Une question sur le formulaire.")
    return call


def test_instructor_home_counts_what_is_left_to_handle(client):
    instructor_world(3)
    client.force_login(InstructorFactory())
    page = text(client.get(HOME))
    row = page[page.index("CLACT-QVCT Hauts-de-France 2026"):]
    row = row[:row.index("</tr>")]
    cells = [c.split("</td>")[0] for c in row.split('<td class="fr-cell--right">')[1:]]
    # en construction, en instruction, à traiter, justificatifs à valider, messages non lus
    assert cells == ["2", "1", "3", "0", "3"]
    assert "3 messages non lus" in page
    assert "Mes dossiers" not in page


def test_instructor_home_takes_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    instructor = InstructorFactory()
    instructor_world(1)
    client.force_login(instructor)
    with django_assert_max_num_queries(20) as few:
        client.get(HOME)
    instructor_world(6)
    CallFactory()
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(HOME)


def test_administrator_home_shows_the_calls_by_stage(client):
    now = timezone.now()
    draft = CallFactory(title="Appel en préparation", published=False)
    CallFactory(title="Appel annoncé", opens_at=now + dt.timedelta(days=10), closes_at=now + dt.timedelta(days=40))
    CallFactory(title="Appel ouvert")
    CallFactory(title="Appel terminé", opens_at=now - dt.timedelta(days=60), closes_at=now - dt.timedelta(days=1))
    client.force_login(ArsAdminFactory())
    page = text(client.get(HOME))
    order = ["Brouillons (non publiés)", "Appel en préparation", "Publiés, pas encore ouverts", "Appel annoncé",
             "Ouverts au dépôt", "Appel ouvert", "Clos", "Appel terminé"]
    start = page.index("Mes appels à projets par étape")
    positions = [page.index(label, start) for label in order]
    assert positions == sorted(positions)
    assert reverse("admin:calls_call_change", args=[draft.pk]) in page  # a draft has no public page
    assert client.get(reverse("admin:calls_call_change", args=[draft.pk])).status_code == 200


def test_administrator_home_takes_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    admin = ArsAdminFactory()
    CallFactory()
    client.force_login(admin)
    with django_assert_max_num_queries(20) as few:
        client.get(HOME)
    for _ in range(5):
        CallFactory(published=False)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(HOME)


def test_commission_member_home_shows_their_sessions(client):
    member = UserFactory()
    session = Session.objects.create(call=CallFactory(), title="Séance d’arbitrage de juin",
                                     created_by=ArsAdminFactory(), held_on=timezone.now() + dt.timedelta(days=7))
    SessionMember.objects.create(session=session, user=member)
    client.force_login(member)
    page = text(client.get(HOME))
    assert "Mes séances de commission" in page and "Séance d’arbitrage de juin" in page
    assert reverse("commission:my_sessions") in page
