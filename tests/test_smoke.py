"""The application starts and its public pages answer."""

import pytest

from guichet.establishments.models import Region


@pytest.mark.django_db
def test_all_eighteen_regions_exist():
    assert Region.objects.count() == 18
    assert Region.objects.get(code="32").name == "Hauts-de-France"


@pytest.mark.django_db
def test_home_page_answers(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "Guichet CLACT" in response.content.decode()
