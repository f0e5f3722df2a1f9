"""Shared fixtures: users of every role, regions, establishments, calls."""

import os

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


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
    if "live_server" in request.fixturenames or "transactional_db" in request.fixturenames:
        from guichet.establishments.regions import ensure_regions

        request.getfixturevalue("transactional_db")
        ensure_regions()
