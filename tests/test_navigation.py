"""The header's navigation by role (issue 12): each role sees its own pages, ARS staff never the applicant's."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from guichet.commission.models import Session, SessionMember
from tests.factories import ArsAdminFactory, CallFactory, InstructorFactory, UserFactory

pytestmark = pytest.mark.django_db

APPLICANT_PAGES = ["Mes dossiers", "Mes établissements", "Mes subventions"]
ARS_PAGES = ["Espace instructeur", "Rattachements", "Subventions et paiements", "Statistiques", "Mes exports"]


def nav_labels(client, path="/"):
    """The labels of the main navigation, as the header shows them."""
    page = client.get(path).content.decode()
    start = page.index('aria-label="Menu principal"')
    nav = page[start:page.index("</nav>", start)]
    return [chunk.split("</a>")[0].split(">")[-1] for chunk in nav.split('class="fr-nav__link"')[1:]]


def seat(user):
    session = Session.objects.create(call=CallFactory(), title="Séance de juin", created_by=ArsAdminFactory(),
                                     held_on=timezone.now() + dt.timedelta(days=7))
    SessionMember.objects.create(session=session, user=user)


def test_anonymous_visitor_sees_the_calls_only(client):
    assert nav_labels(client) == ["Appels à projets"]


def test_applicant_sees_their_own_pages(client):
    client.force_login(UserFactory())
    assert nav_labels(client) == ["Appels à projets", *APPLICANT_PAGES]


@pytest.mark.parametrize("factory", [InstructorFactory, ArsAdminFactory])
def test_ars_staff_never_see_the_applicant_pages(client, factory):
    client.force_login(factory())
    labels = nav_labels(client)
    assert labels == ["Appels à projets", *ARS_PAGES, "Administration"]
    assert not set(APPLICANT_PAGES) & set(labels)


def test_superuser_sees_the_ars_pages_and_the_administration(client):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    assert nav_labels(client) == ["Appels à projets", *ARS_PAGES, "Statistiques nationales", "Administration"]


def test_commission_member_sees_their_sessions(client):
    member = UserFactory()
    seat(member)
    client.force_login(member)
    assert nav_labels(client)[-1] == "Mes séances"
    instructor = InstructorFactory()
    seat(instructor)
    client.force_login(instructor)
    assert nav_labels(client) == ["Appels à projets", *ARS_PAGES, "Mes séances", "Administration"]


def test_current_page_is_marked(client):
    client.force_login(InstructorFactory())
    page = client.get(reverse("instruction:calls")).content.decode()
    assert f'href="{reverse("instruction:calls")}" aria-current="page">Espace instructeur' in page
