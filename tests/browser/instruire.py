"""The instructor's « Instruire » menu in the browser: open it, choose a decision, type the motivation, confirm."""

from playwright.sync_api import expect


def instruire(page, decision: str, motivation: str | None = None) -> None:
    """On the instructor's dossier page: the menu button (instruire-menu.js), the decision's page, its confirmation.
    Ends on the page the confirmation leads to (the dossier, or the decision's page again with its errors)."""
    menu = page.get_by_role("button", name="Instruire", exact=True)
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    page.locator("#instruire-liste").get_by_role("link", name=decision, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(decision)
    if motivation is not None:
        page.locator("textarea[id^=motivation-]").fill(motivation)
    page.get_by_role("button", name=f"Confirmer : {decision}", exact=True).click()
