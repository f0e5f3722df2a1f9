"""A real OpenID Connect provider on loopback for the tests: panva's ``oidc-provider`` (Node.js), run as a
subprocess from ``tests/oidc_provider/server.mjs``, configured as ProConnect behaves (signed userinfo JWT,
its scopes and claims). ``make test`` installs it (``npm ci`` in ``tests/oidc_provider``, pinned by its
package-lock.json); when Node.js or the package is missing the tests that need it FAIL saying how to install.

``oidc_provider(accounts)`` starts one with those accounts (``{sub: claims}``) and yields its issuer URL;
``browse_to_callback`` follows the provider's redirects like a browser until it sends the person back to us.
"""

import json
import shutil
import socket
import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

PROVIDER_DIR = Path(__file__).resolve().parent / "oidc_provider"
CLIENT_ID = "guichet-clact-test"
CLIENT_SECRET = "test-only-client-secret-0123456789-abcdefghijkl"
SERVER_BASE = "https://testserver"  # the Django test client's host; allauth builds https redirect URIs in tests
CALLBACK_PATH = "/comptes/proconnect/login/callback/"  # reverse("proconnect_callback"), checked by the tests


def free_port() -> int:
    """A loopback port nothing listens on (for a provider that cannot be reached)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _missing() -> str | None:
    if shutil.which("node") is None:
        return "Node.js est absent : installez-le (scripts/system-packages test, ou apt-get install nodejs npm)."
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        return ("Le fournisseur OpenID Connect de test n'est pas installé : lancez « make test-oidc-provider » "
                "(npm ci --prefix tests/oidc_provider).")
    return None


@contextmanager
def oidc_provider(accounts: dict):
    problem = _missing()
    if problem:
        pytest.fail(problem)
    config = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
              "redirect_uris": [SERVER_BASE + CALLBACK_PATH], "accounts": accounts}
    process = subprocess.Popen(["node", str(PROVIDER_DIR / "server.mjs")], cwd=PROVIDER_DIR,
                               env={"PATH": "/usr/local/bin:/usr/bin:/bin", "OIDC_TEST_CONFIG": json.dumps(config)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    errors: list[str] = []
    threading.Thread(target=lambda: errors.extend(process.stderr), daemon=True).start()
    try:
        line = process.stdout.readline()
        if not line:
            process.wait(timeout=10)
            pytest.fail(f"Le fournisseur OpenID Connect de test n'a pas démarré : {''.join(errors)}")
        yield json.loads(line)["issuer"]
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def browse_to_callback(url: str, browser: requests.Session | None = None) -> str:
    """Follow the provider's redirects from ``url`` (its authorization endpoint) and return the path and
    query of the redirect back to us."""
    browser = browser or requests.Session()
    for _ in range(10):
        response = browser.get(url, allow_redirects=False, timeout=10)
        assert response.status_code in (302, 303), (response.status_code, response.text[:500])
        url = urljoin(url, response.headers["Location"])
        if url.startswith(SERVER_BASE + "/"):
            return url[len(SERVER_BASE):]
    raise AssertionError("too many redirects at the OpenID Connect provider")
