"""Error pages in French: a server error, a page not found, an access refused (Django's own are English: an
expert whose page failed read « Server Error (500) »)."""

import html
import logging
import re

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import include, path, reverse

from guichet import urls as guichet_urls
from tests.factories import CallFactory, InstructorFactory


def text(response) -> str:
    return html.unescape(response.content.decode())


def broken(request):
    raise RuntimeError("panne")


urlpatterns = [path("panne/", broken), path("", include("guichet.urls"))]  # this module as a URL map
handler500 = guichet_urls.handler500  # the site's handler, which this module stands for


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


def refused(request):
    raise PermissionDenied


urlpatterns.insert(0, path("refus/", refused))


@pytest.mark.django_db
def test_a_server_error_is_a_dsfr_page_with_a_reference_written_in_the_log(client, settings, caplog):
    settings.ROOT_URLCONF = __name__
    settings.DEBUG = False
    client.raise_request_exception = False
    with caplog.at_level(logging.ERROR):
        response = client.get("/panne/")
    page = text(response)
    assert response.status_code == 500 and 'class="fr-header' in page and "Revenir à l'accueil" in page
    match = re.search(r"Référence de l'erreur : <strong[^>]*>([A-Z0-9-]{6,12})</strong>", page)
    assert match, "the page gives a reference the user can quote"
    logged = [r for r in caplog.records if match.group(1) in r.getMessage()]
    assert logged and logged[0].exc_info and "panne" in str(logged[0].exc_info[1]), "the log ties it to the exception"
    again = text(client.get("/panne/"))
    assert match.group(1) not in again, "each error has its own reference"


def test_a_server_error_page_survives_a_failing_layout(client, settings, monkeypatch):
    """When the site's layout cannot render (the database is what failed), the page is plain but keeps the
    reference."""
    settings.ROOT_URLCONF = __name__
    settings.DEBUG = False
    client.raise_request_exception = False
    from guichet.core import errors

    def failing(*args, **kwargs):
        raise RuntimeError("gabarit")

    monkeypatch.setattr(errors, "render", failing)
    page = text(client.get("/panne/"))
    assert "Une erreur est survenue de notre côté" in page and re.search(r"Référence de l'erreur : <strong", page)


@pytest.mark.django_db
def test_permission_denied_raised_in_a_view_is_a_french_403(client, settings):
    settings.ROOT_URLCONF = __name__
    settings.DEBUG = False
    response = client.get("/refus/")
    page = text(response)
    assert response.status_code == 403 and "Accès refusé" in page and "Page introuvable" not in page
    assert 'class="fr-header' in page and "Revenir à l'accueil" in page


@pytest.mark.django_db
def test_a_csrf_failure_is_a_french_page(settings):
    settings.DEBUG = False
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("account_login"), {"login": "a@example.org", "password": "x"})
    page = text(response)
    assert response.status_code == 403 and "CSRF verification failed" not in page and "Forbidden" not in page
    assert "Le formulaire a expiré" in page and 'class="fr-header' in page and "Revenir à l'accueil" in page


@pytest.mark.django_db
def test_the_not_found_page_is_a_dsfr_page_with_a_way_back(client, settings):
    settings.DEBUG = False
    page = text(client.get("/nulle-part/"))
    assert 'class="fr-header' in page and "Page introuvable" in page and "Revenir à l'accueil" in page
