"""Password hashing in production (issue 15, « the deadline rush »): Argon2id with the parameters chosen in
docs/performance.md; accounts hashed with PBKDF2 before still log in, and their hash is upgraded at that login.

The rest of the suite hashes with MD5 (guichet/test_settings.py) for speed: these tests put the production
list back.
"""

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import check_password, identify_hasher, make_password

from guichet import settings as production
from tests.factories import UserFactory

LOGIN = "/comptes/login/"
PASSWORD = "Deadline-rush-2026!"


@pytest.fixture
def production_hashers(settings, db):
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS


def test_new_passwords_are_argon2id_with_the_chosen_parameters(production_hashers):
    encoded = make_password(PASSWORD)
    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert check_password(PASSWORD, encoded) and not check_password("pas-le-bon", encoded)
    assert production.PASSWORD_HASHERS[0] == "guichet.accounts.hashers.Argon2PasswordHasher"


@pytest.mark.parametrize("old_hasher", ["pbkdf2_sha256", "argon2"])
def test_an_older_hash_still_logs_in_and_is_upgraded_at_that_login(client, production_hashers, settings, old_hasher):
    if old_hasher == "argon2":  # Django's own Argon2 defaults (m=100 MiB, p=8): same algorithm, other parameters
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher",
                                     *production.PASSWORD_HASHERS]
        old = make_password(PASSWORD)
        settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    else:
        old = make_password(PASSWORD, hasher=old_hasher)
    user = UserFactory()
    user.password = old
    user.save(update_fields=["password"])
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)

    response = client.post(LOGIN, {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302 and "_auth_user_id" in client.session
    user.refresh_from_db()
    assert user.password != old
    assert user.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert identify_hasher(user.password).algorithm == "argon2"
    assert user.check_password(PASSWORD)


def test_a_wrong_password_neither_logs_in_nor_touches_the_old_hash(client, production_hashers):
    user = UserFactory()
    user.password = old = make_password(PASSWORD, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    response = client.post(LOGIN, {"login": user.email, "password": "Pas-le-bon-2026!"})
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    user.refresh_from_db()
    assert user.password == old
