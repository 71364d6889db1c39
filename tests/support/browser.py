"""What browser tests do as a visitor: fill in and send the sample growth playbook's form."""

from __future__ import annotations

from playwright.sync_api import Page


def sign_up_for_the_playbook(page: Page, address: str, email: str = "ada@example.com") -> None:
    """Open ``address`` (the playbook's landing page, with any campaign query), fill its form as a
    visitor would, send it and wait for the thank-you page."""
    page.goto(address)
    form = page.locator("form.lead")
    form.locator("[name=email]").fill(email)
    form.locator("[name=first_name]").fill("Ada")
    form.locator("[name=company]").fill("Analytical Engines")
    form.locator("[name=team_size]").select_option("2-5")
    form.locator("[name=consent]").check()
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/growth-playbook/thanks/**")
