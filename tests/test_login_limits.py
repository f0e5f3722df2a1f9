"""Login limits (issue 11, point 2): the admin's login goes through the site's limited login, and failed
logins are counted in a cache every worker shares (the database by default, Redis by CACHE_URL), so that
N workers do not allow N × 5 tries and a restart does not reset them.

The sharing is shown with a second process: ``manage.py shell`` run against the same database (and Redis),
as a second gunicorn worker would be.
"""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import connection
from django.test import override_settings

from guichet.settings import cache_settings
from tests.factories import PASSWORD, ArsAdminFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent
LOGIN = "/comptes/login/"
TOO_MANY = "Trop de tentatives de connexion échouées"
REDIS_URL = os.environ.get("GUICHET_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def account(factory=UserFactory, **fields):
    user = factory(**fields)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.django_db
def test_the_admin_login_checks_no_password_and_sends_to_the_limited_login(client):
    """On main, /admin/login/ checked 30 wrong passwords in a row, then let the right one in."""
    staff = account(ArsAdminFactory, email="admin.hdf@ars.sante.fr")
    for _ in range(30):
        response = client.post("/admin/login/?next=/admin/", {"username": staff.email, "password": "pas-le-bon"})
        assert response.status_code == 302 and response.url == "/comptes/login/?next=/admin/"
    response = client.post("/admin/login/?next=/admin/", {"username": staff.email, "password": PASSWORD})
    assert response.status_code == 302 and response.url == "/comptes/login/?next=/admin/"
    assert not logged_in(client)
    # Opening the admin leads to the site's login page, which comes back to the admin.
    page = client.get("/admin/", follow=True)
    assert page.redirect_chain[-1][0] == "/comptes/login/?next=/admin/"
    assert "Se connecter à Guichet CLACT" in page.content.decode()


@pytest.mark.django_db
def test_the_admin_login_lets_staff_in_and_refuses_other_accounts(client):
    staff, applicant = account(ArsAdminFactory), account()
    client.force_login(staff)
    assert client.get("/admin/login/?next=/admin/calls/").url == "/admin/calls/"
    assert client.get("/admin/login/?next=https://ailleurs.example/").url == "/admin/"
    client.force_login(applicant)
    assert client.get("/admin/login/").status_code == 403


@pytest.mark.django_db
def test_the_site_login_is_limited_after_five_failures(client):
    assert settings.ACCOUNT_RATE_LIMITS["login_failed"] == "10/m/ip,5/5m/key"
    user = account()
    for _ in range(5):
        response = client.post(LOGIN, {"login": user.email, "password": "pas-le-bon"})
        assert response.status_code == 200 and not logged_in(client)
    response = client.post(LOGIN, {"login": user.email, "password": PASSWORD})
    assert response.status_code == 200 and TOO_MANY in response.content.decode()
    assert not logged_in(client)


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def fail_logins_in_another_process(email: str, times: int, address: str, cache_url: str = "") -> None:
    """``times`` failed logins for ``email`` from ``address``, made by a separate ``manage.py shell``
    on the same database (and cache)."""
    code = ("from django.test import Client\n"
            f"c = Client(REMOTE_ADDR={address!r})\n"
            f"for _ in range({times}):\n"
            f"    r = c.post({LOGIN!r}, {{'login': {email!r}, 'password': 'pas-le-bon'}})\n"
            "    assert r.status_code == 200, r.status_code\n")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "guichet.test_settings", "DATABASE_URL": _database_url(),
           "CACHE_URL": cache_url}
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db(transaction=True)
def test_failures_counted_by_another_process_lock_the_login_here(client):
    """The database cache: a second worker's failures count here (on main, each worker had its own count)."""
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    user = account(email=f"{uuid.uuid4().hex[:8]}@exemple.fr")
    fail_logins_in_another_process(user.email, 5, "10.1.2.3")
    response = client.post(LOGIN, {"login": user.email, "password": PASSWORD}, REMOTE_ADDR="10.1.2.3")
    assert TOO_MANY in response.content.decode() and not logged_in(client)
    # Another account is not locked by them.
    other = account()
    client.post(LOGIN, {"login": other.email, "password": PASSWORD}, REMOTE_ADDR="10.9.9.9")
    assert logged_in(client)


@pytest.mark.django_db(transaction=True)
def test_with_redis_failures_counted_by_another_process_lock_the_login_here(client):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError:
        pytest.fail(f"Redis ne répond pas sur {REDIS_URL} : lancez `redis-server` (paquet Debian redis-server) "
                    "ou indiquez-en un autre dans GUICHET_TEST_REDIS_URL.", pytrace=False)
    user = account(email=f"{uuid.uuid4().hex[:8]}@exemple.fr")
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"  # its own per-address count in Redis
    fail_logins_in_another_process(user.email, 5, address, cache_url=REDIS_URL)
    with override_settings(CACHES={"default": cache_settings(REDIS_URL)}):
        response = client.post(LOGIN, {"login": user.email, "password": PASSWORD}, REMOTE_ADDR=address)
        assert TOO_MANY in response.content.decode() and not logged_in(client)
    # The database cache never saw those failures: the count above came from Redis.
    response = client.post(LOGIN, {"login": user.email, "password": PASSWORD}, REMOTE_ADDR=address)
    assert logged_in(client)


def test_cache_url_chooses_the_cache():
    assert cache_settings("") == {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                                  "LOCATION": "guichet_cache"}
    assert cache_settings("redis://127.0.0.1:6379/1")["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    with pytest.raises(RuntimeError, match="CACHE_URL"):
        cache_settings("memcached://127.0.0.1:11211")


def test_migrate_alone_creates_the_cache_table(tmp_path):
    """A fresh instance needs no `createcachetable`: the cache works right after `migrate`."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "guichet.test_settings",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'neuve.sqlite3'}", "CACHE_URL": ""}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=600)
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "from django.core.cache import cache; cache.set('k', 'v'); print(cache.get('k'))"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("v")


@pytest.mark.django_db
def test_behind_a_trusted_proxy_the_limits_count_each_client_not_the_proxy(client, settings):
    """Issue 15 (deadline rush): behind a reverse proxy every login comes from the proxy's address; allauth is
    told the same number of trusted proxies as the audit trail, so one client's failures do not lock out the
    others (nor a rush of 200 logins hit « 30 a minute per address »)."""
    from guichet import settings as production

    assert production.ALLAUTH_TRUSTED_PROXY_COUNT == production.GUICHET_TRUSTED_PROXY_COUNT
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = settings.GUICHET_TRUSTED_PROXY_COUNT = 1
    users = [account() for _ in range(11)]
    for user in users[:10]:
        client.post(LOGIN, {"login": user.email, "password": "pas-le-bon"}, HTTP_X_FORWARDED_FOR="203.0.113.7")
    page = client.post(LOGIN, {"login": users[10].email, "password": PASSWORD}, HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert TOO_MANY in page.content.decode() and not logged_in(client)
    page = client.post(LOGIN, {"login": users[10].email, "password": PASSWORD}, HTTP_X_FORWARDED_FOR="198.51.100.4")
    assert page.status_code == 302 and logged_in(client)
