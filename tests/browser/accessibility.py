"""Accessibility checks of a page in the browser with axe-core (axe-playwright-python).

``assert_accessible(page)`` runs axe on the current page and fails listing every violation
whose impact is "serious" or "critical" (rule, help text, offending elements). Use it on every
page state worth checking: blank form, form with errors, result page.
"""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe

BLOCKING_IMPACTS = ("serious", "critical")

_axe = Axe()
# axe preloads the page's style sheets to read rules behind an @import (Django admin's forms.css imports
# widgets.css) and does it by writing them into <style> elements, which the Content-Security-Policy refuses as
# inline styles (the harness then reports a violation the page itself never causes). Without the preload,
# only the rule that needs it (css-orientation-lock) reads less.
OPTIONS = {"resultTypes": ["violations"], "preload": False}


def axe_violations(page, context=None, impacts=BLOCKING_IMPACTS, ignore_rules=()) -> list[dict]:
    """The axe violations of ``page`` (optionally within ``context``, a CSS selector) at ``impacts``."""
    results = _axe.run(page, context=context, options=OPTIONS)
    return [
        violation
        for violation in results.response["violations"]
        if violation.get("impact") in impacts and violation["id"] not in ignore_rules
    ]


def format_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']} <{violation['helpUrl']}>")
        for node in violation["nodes"][:10]:
            target = " ".join(str(t) for t in node.get("target", []))
            lines.append(f"    {target}: {node.get('failureSummary', '').splitlines()[-1].strip()}")
            lines.append(f"      {node.get('html', '')[:200]}")
    return "\n".join(lines)


def assert_accessible(page, context=None, impacts=BLOCKING_IMPACTS, ignore_rules=()) -> None:
    """Fail when axe finds violations of impact ``impacts`` ("serious" or "critical") on ``page``."""
    violations = axe_violations(page, context=context, impacts=impacts, ignore_rules=ignore_rules)
    if violations:
        raise AssertionError(
            f"{len(violations)} accessibility violation(s) on {page.url}:\n{format_violations(violations)}"
        )
