"""E-mails really leave the application: sign-up verification and password reset go through
Django's SMTP backend to a real SMTP server on loopback (tests/smtp.py), and the links they
carry complete each journey."""

from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.cache import cache

from guichet.accounts.models import User
from tests import smtp
from tests.factories import UserFactory

# The SMTP fixtures (tests/smtp.py), until they are registered in tests/conftest.py.
smtp_server = smtp.smtp_server
smtp_email_backend = smtp.smtp_email_backend

pytestmark = pytest.mark.django_db

EMAIL = "directrice@ch-exemple.fr"
PASSWORD = "Une-phrase-de-passe-solide-2025"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """allauth rate-limits e-mails per address in the cache: each test starts afresh."""
    cache.clear()
    yield
    cache.clear()


def link_path(mailbox, message, fragment: str) -> str:
    """The path of the only link of ``message`` containing ``fragment``."""
    links = [link for link in mailbox.links(message) if fragment in link]
    assert len(links) == 1, mailbox.body(message)
    assert urlsplit(links[0]).netloc == "testserver"
    return urlsplit(links[0]).path


def signed_in_user(client):
    return client.get("/").context["user"]


def test_sign_up_sends_a_french_verification_email_whose_link_confirms_and_signs_in(client, smtp_email_backend):
    mailbox = smtp_email_backend
    response = client.post("/comptes/signup/", {"email": EMAIL, "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/comptes/confirm-email/"
    sent_page = client.get(response["Location"]).content.decode()
    assert "Vérifiez votre adresse" in sent_page or "Vérifier votre adresse" in sent_page
    assert not signed_in_user(client).is_authenticated, "no access before the address is verified"

    message = mailbox.last_to(EMAIL)
    subject = message["Subject"].strip()
    assert subject.startswith("[Guichet CLACT] ")
    assert "adresse" in subject.lower() and "confirm" in subject.lower(), subject
    assert message["From"] == settings.DEFAULT_FROM_EMAIL
    assert message["To"] == EMAIL
    assert "Bonjour" in mailbox.body(message)
    path = link_path(mailbox, message, "/comptes/confirm-email/")

    confirm_page = client.get(path)
    assert confirm_page.status_code == 200
    html = confirm_page.content.decode()
    assert EMAIL in html and "Confirmer" in html
    assert not EmailAddress.objects.get(email=EMAIL).verified, "a GET (mail scanner) does not confirm"

    response = client.post(path)
    assert response.status_code == 302 and response["Location"] == "/"
    assert EmailAddress.objects.get(email=EMAIL).verified
    assert signed_in_user(client).email == EMAIL

    client.logout()
    response = client.post("/comptes/login/", {"login": EMAIL, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert signed_in_user(client).email == EMAIL


def test_no_sign_in_before_the_address_is_verified(client, smtp_email_backend):
    client.post("/comptes/signup/", {"email": EMAIL, "password1": PASSWORD, "password2": PASSWORD})
    assert len(smtp_email_backend.to(EMAIL)) == 1
    client.logout()
    response = client.post("/comptes/login/", {"login": EMAIL, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/comptes/confirm-email/"
    assert not signed_in_user(client).is_authenticated


def test_password_reset_by_email_then_sign_in_with_the_new_password(client, smtp_email_backend):
    mailbox = smtp_email_backend
    user = UserFactory(email=EMAIL)
    EmailAddress.objects.create(user=user, email=EMAIL, primary=True, verified=True)

    response = client.post("/comptes/password/reset/", {"email": EMAIL})
    assert response.status_code == 302 and response["Location"] == "/comptes/password/reset/done/"
    assert "Nous vous avons envoyé un e-mail" in client.get(response["Location"]).content.decode()

    message = mailbox.last_to(EMAIL)
    # (Python folds a non-ASCII subject as "Subject: \n =?utf-8?q?...": the parser keeps a leading space.)
    assert message["Subject"].strip() == "[Guichet CLACT] E-mail de réinitialisation de mot de passe"
    path = link_path(mailbox, message, "/comptes/password/reset/key/")

    # allauth moves the key into the session and redirects to a key-less URL.
    response = client.get(path)
    assert response.status_code == 302
    form_url = response["Location"]
    page = client.get(form_url)
    assert page.status_code == 200 and 'type="password"' in page.content.decode()

    new_password = "Nouveau-mot-de-passe-robuste-77"
    response = client.post(form_url, {"password1": new_password, "password2": new_password})
    assert response.status_code == 302 and response["Location"] == "/comptes/password/reset/key/done/"
    assert "modifié" in client.get(response["Location"]).content.decode()

    user.refresh_from_db()
    assert user.check_password(new_password)
    response = client.post("/comptes/login/", {"login": EMAIL, "password": "motdepasse-de-test-2024"})
    assert response.status_code == 200, "the old password no longer works"
    response = client.post("/comptes/login/", {"login": EMAIL, "password": new_password})
    assert response.status_code == 302
    assert signed_in_user(client) == user


def test_password_reset_for_an_unknown_address_reveals_nothing_on_screen(client, smtp_email_backend):
    response = client.post("/comptes/password/reset/", {"email": "inconnu@exemple.fr"})
    assert response.status_code == 302 and response["Location"] == "/comptes/password/reset/done/"
    assert not User.objects.filter(email="inconnu@exemple.fr").exists()
