"""The accessibility helper itself: axe runs in the page and blocking violations fail the test."""

import pytest

from tests.browser.accessibility import assert_accessible, axe_violations


@pytest.mark.browser
def test_assert_accessible_reports_serious_and_critical_violations(page):
    page.set_content(
        '<!doctype html><html lang="fr"><head><title>Essai</title></head><body><main>'
        '<h1>Essai</h1><form><input type="text" name="sans-etiquette"></form>'
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
        "</main></body></html>"
    )
    rules = {violation["id"] for violation in axe_violations(page)}
    assert {"label", "image-alt"} <= rules
    with pytest.raises(AssertionError, match=r"label \(critical\)"):
        assert_accessible(page)
    assert_accessible(page, ignore_rules=("label", "image-alt"))


@pytest.mark.browser
def test_assert_accessible_passes_a_labelled_form(page):
    page.set_content(
        '<!doctype html><html lang="fr"><head><title>Essai</title></head><body><main>'
        '<h1>Essai</h1><form><label for="nom">Nom</label><input id="nom" type="text" name="nom"></form>'
        "</main></body></html>"
    )
    assert_accessible(page)
