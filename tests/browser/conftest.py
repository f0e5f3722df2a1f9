"""Browser tests: headless Debian Chromium driven by Playwright against pytest-django's live server.

The fixtures of pytest-playwright (``page``, ``context``, ``browser``…) are configured here:

- ``browser_type_launch_args``: Debian's ``/usr/bin/chromium`` (never ``playwright install``),
  headless unless ``--headed``, without background networking;
- ``base_url``: the live server (``live_server.url``), so ``page.goto("/comptes/signup/")`` works;
- ``browser_context_args``: French locale, Paris time zone, a desktop viewport.

A browser test therefore only asks for ``page`` (and ``live_server`` when it needs its URL), is
marked ``@pytest.mark.browser``, and checks accessibility with
``tests.browser.accessibility.assert_accessible(page)``. ``failed_requests`` lists the requests of
the page that failed or answered ≥ 400 (a missing stylesheet, a broken script…).
Every browser test fails on a Content-Security-Policy violation (``csp_violations``, automatic): a blocked
inline script or style, or a resource from elsewhere, is a broken page under the real policy.
Run only these tests with ``pytest -m browser``, skip them with ``pytest -m "not browser"``.
"""

import os
from pathlib import Path

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Debian's Chromium; GUICHET_CHROMIUM points elsewhere (the suite's own test of a missing browser uses it).
CHROMIUM = os.environ.get("GUICHET_CHROMIUM", "/usr/bin/chromium")
# The explicit opt-out for a quick run: without it, a missing Chromium fails every browser test with the fix.
SKIP_VARIABLE = "GUICHET_SKIP_BROWSER_TESTS"
MISSING_MESSAGE = (f"{CHROMIUM} est introuvable : `make test` l'installe (scripts/system-packages test), ou en root "
                   "`apt-get install -y --no-install-recommends chromium fonts-liberation`. Pour une exécution rapide "
                   f"sans navigateur, {SKIP_VARIABLE}=1.")


def _skip_requested() -> bool:
    return os.environ.get(SKIP_VARIABLE, "") not in ("", "0")
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def _django_order(item) -> int:
    """pytest-django's order: plain database tests (0), then transactional ones (1), then the rest (2)."""
    marker = item.get_closest_marker("django_db")
    fixtures = getattr(item, "fixturenames", ())
    if (marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences"))) or (
        "transactional_db" in fixtures or "live_server" in fixtures
    ):
        return 1
    if marker or "db" in fixtures:
        return 0
    return 2


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Mark the browser tests, and keep Django's test order over the whole session.

    Every test of this folder is a browser test, skipped only when ``GUICHET_SKIP_BROWSER_TESTS`` asks for it
    (a missing Chromium otherwise fails each of them, see ``browser_type_launch_args``). The live
    server needs committed data, so these tests run in transactional mode, which empties the
    tables after each test; ``serialized_rollback`` puts back the rows written by the migrations
    (the 18 regions…) before each of them. A test that sets its own ``django_db`` marker keeps it.

    pytest-playwright parametrizes every test that uses its fixtures (``page``…) with the
    session-scoped ``browser_name``, and pytest then regroups those tests *after* pytest-django
    has put transactional tests last: plain database tests could then run after a flush and
    miss the migrations' data. Sorting again (stable) restores Django's order.
    """
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            if item.get_closest_marker("django_db") is None:
                item.add_marker(pytest.mark.django_db(transaction=True, serialized_rollback=True))
            if _skip_requested():
                item.add_marker(pytest.mark.skip(reason=f"{SKIP_VARIABLE} est défini : tests du navigateur ignorés"))
    items.sort(key=_django_order)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.fail(MISSING_MESSAGE, pytrace=False)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def base_url(live_server):
    return live_server.url


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {
        **browser_context_args,
        "locale": "fr-FR",
        "timezone_id": "Europe/Paris",
        "viewport": {"width": 1280, "height": 900},
    }


@pytest.fixture
def failed_requests(page):
    """Requests of ``page`` that failed or answered with an HTTP error, as "STATUS URL" strings."""
    failures = []
    page.on("requestfailed", lambda request: failures.append(f"failed {request.url}"))

    def on_response(response):
        if response.status >= 400:
            failures.append(f"{response.status} {response.url}")

    page.on("response", on_response)
    return failures


# A page reports each violation of its Content-Security-Policy as a ``securitypolicyviolation`` event, and
# Chromium logs it on the console too ("Refused to … because it violates the following Content Security Policy
# directive"). The init script is injected by Playwright itself, so the policy does not block it.
CSP_REPORTER = """document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.effectiveDirective + " blocked " + (e.blockedURI || "inline") +
                " at " + e.sourceFile + ":" + e.lineNumber);
});"""


def watch_csp(context, violations):
    """Record every Content-Security-Policy violation of the pages of ``context`` into ``violations``."""
    context.add_init_script(CSP_REPORTER)

    def on_console(message):
        text = message.text
        if text.startswith("CSP violation") or "Content Security Policy" in text:
            violations.append(f"{message.page.url if message.page else '?'}: {text}")

    context.on("console", on_console)


@pytest.fixture(autouse=True)
def csp_violations(request, monkeypatch):
    """The Content-Security-Policy violations of the test's pages (its ``page`` and any context it opens).

    The test fails at teardown if any is left: a test that provokes one on purpose empties the list.
    """
    violations = []
    if "browser" in request.fixturenames or "page" in request.fixturenames:
        browser = request.getfixturevalue("browser")
        new_context = browser.new_context

        def watched_new_context(*args, **kwargs):
            context = new_context(*args, **kwargs)
            watch_csp(context, violations)
            return context

        monkeypatch.setattr(browser, "new_context", watched_new_context)
    if "page" in request.fixturenames:
        watch_csp(request.getfixturevalue("page").context, violations)
    yield violations
    assert not violations, "Violations de la Content-Security-Policy :\n" + "\n".join(violations)
