"""The Content-Security-Policy in a real browser: the home page loads DSFR and htmx without a violation, and
what the policy forbids is blocked and reported — so the harness's check (``csp_violations`` in conftest.py),
which fails every browser test on a violation, can fail."""

from playwright.sync_api import expect


def test_the_policy_blocks_inline_code_and_the_harness_sees_it(page, live_server, csp_violations):
    response = page.goto("/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "camera=()" in response.headers["permissions-policy"]
    expect(page.locator("html")).to_have_attribute("data-fr-js", "true")  # DSFR's JavaScript ran
    assert page.evaluate("typeof htmx") == "object"  # htmx loaded, from our origin
    assert page.evaluate("document.querySelectorAll('style').length") == 0  # htmx added no <style>
    assert csp_violations == []

    # What an injected page fragment would try: an inline script and an inline style.
    page.evaluate("""() => {
        const s = document.createElement('script'); s.textContent = 'window.injected = true;';
        document.body.appendChild(s);
        document.head.insertAdjacentHTML('beforeend', '<style>body { background: red; }</style>');
    }""")
    assert page.evaluate("window.injected === undefined")  # the script did not run
    for _ in range(100):  # the console events arrive asynchronously: up to 10 s on a loaded machine
        if any("style-src" in v for v in csp_violations) and any("script-src" in v for v in csp_violations):
            break
        page.wait_for_timeout(100)
    assert any("script-src" in v for v in csp_violations), csp_violations
    assert any("style-src" in v for v in csp_violations), csp_violations
    csp_violations.clear()  # provoked on purpose: the harness's check at teardown must not fail this test


def test_the_api_documentation_works_under_the_policy(page, live_server, csp_violations):
    """Swagger UI, served from django-ninja's static files, renders the schema without breaking the policy."""
    response = page.goto("/api/v1/docs")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("API Guichet CLACT")
    expect(page.locator(".opblock").first).to_be_visible()
    assert csp_violations == []
