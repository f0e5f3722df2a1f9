"""The suite's own set-up: `make test` installs what the suite drives, and a missing Chromium or clamd is a
failure that says how to fix it, never a silent skip (unless the documented opt-out variable asks for it)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pytest(target: str, **env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_SKIP_")} | env
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", target],
                          cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300)


def test_make_test_and_make_demo_install_the_debian_packages_first():
    """Failed on main: only .ci/run installed Chromium and ClamAV, so `make test` on a fresh machine failed."""
    test = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    demo = subprocess.run(["make", "-n", "demo"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "scripts/system-packages test" in test
    assert test.index("scripts/system-packages test") < test.index("pytest")
    assert "scripts/system-packages demo" in demo
    script = (ROOT / "scripts" / "system-packages").read_text()
    for package in ("chromium", "clamav-daemon", "libmagic1", "libpango-1.0-0", "libharfbuzz-subset0"):
        assert package in script
    assert "apt-get" not in (ROOT / ".ci" / "run").read_text()  # one place installs them: make test


def test_a_missing_chromium_fails_the_browser_tests_with_the_fix():
    """Failed on main: the browser tests were skipped silently when /usr/bin/chromium was absent."""
    target = "tests/browser/test_accessibility_helper.py::test_assert_accessible_passes_a_labelled_form"
    missing = _pytest(target, GUICHET_CHROMIUM="/nonexistent/chromium")
    assert missing.returncode != 0, missing.stdout
    assert "apt-get install -y --no-install-recommends chromium" in missing.stdout
    assert "skipped" not in missing.stdout

    opted_out = _pytest(target, GUICHET_CHROMIUM="/nonexistent/chromium", GUICHET_SKIP_BROWSER_TESTS="1")
    assert opted_out.returncode == 0, opted_out.stdout
    assert "1 skipped" in opted_out.stdout


def test_a_missing_clamd_fails_the_antivirus_tests_with_the_fix():
    target = "tests/test_antivirus.py::test_ping"
    missing = _pytest(target, GUICHET_CLAMD="/nonexistent/clamd")
    assert missing.returncode != 0, missing.stdout
    assert "apt-get install -y --no-install-recommends clamav clamav-daemon" in missing.stdout

    opted_out = _pytest(target, GUICHET_CLAMD="/nonexistent/clamd", GUICHET_SKIP_CLAMAV_TESTS="1")
    assert opted_out.returncode == 0, opted_out.stdout
    assert "1 skipped" in opted_out.stdout
