"""Shared fixtures: users of every role, regions, establishments, calls."""

import os

import pytest

from tests.smtp import smtp_email_backend, smtp_server  # noqa: F401  (fixtures: a real SMTP server on loopback)

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _force_login_passes_mfa(request, monkeypatch):
    """``client.force_login(user)`` stands for a complete login, second factor included: the session is marked
    MFA-verified as allauth marks it after a good code (guichet.accounts.mfa), so that the many tests of ARS
    pages need not type one. Tests of the MFA itself log in through the login page, or mark themselves
    ``@pytest.mark.real_mfa`` to get a session that has passed no second factor."""
    if request.node.get_closest_marker("real_mfa"):
        return
    from django.test import Client

    from guichet.accounts.mfa import mark_session_verified

    original = Client.force_login

    def force_login(self, user, backend=None):
        original(self, user, backend)
        session = self.session
        mark_session_verified(session, user)
        session.save()

    monkeypatch.setattr(Client, "force_login", force_login)


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    """Every test writes uploaded files into its own temporary private directory."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(tmp_path / "files"), "base_url": "/interdit/"}},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _regions_after_flush(request):
    """Transactional tests (live server, browser) flush the database, data migrations included:
    put the 18 regions back for them."""
    marker = request.node.get_closest_marker("django_db")
    transactional = marker is not None and (marker.kwargs.get("transaction") or (marker.args and marker.args[0]))
    if transactional or "live_server" in request.fixturenames or "transactional_db" in request.fixturenames:
        from guichet.establishments.regions import ensure_regions

        request.getfixturevalue("transactional_db")
        ensure_regions()
