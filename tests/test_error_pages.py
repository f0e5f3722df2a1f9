"""Error pages in French: a server error, a page not found, an access refused (Django's own are English: an
expert whose page failed read « Server Error (500) »)."""

import html

import pytest
from django.urls import include, path, reverse

from tests.factories import CallFactory, InstructorFactory


def text(response) -> str:
    return html.unescape(response.content.decode())


def broken(request):
    raise RuntimeError("panne")


urlpatterns = [path("panne/", broken), path("", include("guichet.urls"))]  # this module as a URL map


def test_a_server_error_is_a_french_page(client, settings):
    settings.ROOT_URLCONF = __name__
    client.raise_request_exception = False
    response = client.get("/panne/")
    assert response.status_code == 500
    assert "Une erreur est survenue de notre côté" in text(response) and "Server Error" not in text(response)


@pytest.mark.django_db
def test_a_page_not_found_and_an_access_refused_are_french_pages(client):
    response = client.get("/avis/lien-qui-n-existe-pas/")
    assert response.status_code == 404 and "Page introuvable" in text(response)
    client.force_login(InstructorFactory())
    response = client.get(reverse("commission:envelope", args=[CallFactory().slug]))
    assert response.status_code == 403 and "Accès refusé" in text(response) and "403 Forbidden" not in text(response)
    assert "Seul un administrateur de l'ARS modifie l'enveloppe." in text(response)  # the reason, when there is one
