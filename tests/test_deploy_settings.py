"""Production settings, as configured from the environment, pass Django's deployment checks."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_check_deploy_passes_with_production_environment(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "AUDIT_"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "guichet.settings",
        "DJANGO_SECRET_KEY": "k" * 20 + "-production-like-secret-0123456789-abcdefghijklmnop",
        "DJANGO_ALLOWED_HOSTS": "clact.example.fr",
        "GUICHET_VAR_DIR": str(tmp_path),
        "AUDIT_HMAC_KEYS": "k2027:" + "n" * 40 + ",k2026:" + "o" * 40,
    })
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_settings_refuse_to_start_without_a_secret_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "AUDIT_"))}
    env.update({"DJANGO_SETTINGS_MODULE": "guichet.settings", "GUICHET_VAR_DIR": str(tmp_path)})
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                            text=True)
    assert result.returncode != 0 and "DJANGO_SECRET_KEY must be set" in result.stderr


def run_check(tmp_path, **variables):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "AUDIT_"))}
    env.update({"DJANGO_SETTINGS_MODULE": "guichet.settings", "GUICHET_VAR_DIR": str(tmp_path),
                "DJANGO_SECRET_KEY": "k" * 20 + "-production-like-secret-0123456789-abcdefghijklmnop", **variables})
    return subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)


def test_production_settings_refuse_to_start_without_the_audit_key(tmp_path):
    result = run_check(tmp_path)
    assert result.returncode != 0 and "AUDIT_HMAC_KEY (or AUDIT_HMAC_KEYS) must be set" in result.stderr
    assert run_check(tmp_path, AUDIT_HMAC_KEY="c" * 32).returncode == 0


def test_audit_keys_are_checked_at_start(tmp_path):
    assert "at least 32 characters" in run_check(tmp_path, AUDIT_HMAC_KEY="court").stderr
    assert "given twice" in run_check(tmp_path, AUDIT_HMAC_KEYS=f"a:{'x' * 32},a:{'y' * 32}").stderr
    assert "each entry is ID:KEY" in run_check(tmp_path, AUDIT_HMAC_KEYS="x" * 40).stderr


def test_development_derives_an_audit_key_when_none_is_set(tmp_path):
    assert run_check(tmp_path, DJANGO_DEBUG="1").returncode == 0
