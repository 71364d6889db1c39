"""Scores, stages and sequences in the admin, in a real Chromium against a real server: sort the
leads by score, read a contact's score and sequence, mark them sales-qualified with the button."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from leadmagnet.web import services_of
from leadmagnet.web.admin import add_admin

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"


@pytest.fixture
def seeded(app):
    store = services_of(app).store
    add_admin(store, "boss@example.com", PASSWORD)
    for i, points in enumerate((5, 70, 20)):
        store.record_submission(offer_slug="growth-playbook", offer_type="ebook", email=f"p{i}@example.com", fields={})
        contact_id = store.get_contact_by_email(f"p{i}@example.com")["id"]
        store.add_points(contact_id, key="seed", event="download", points=points, now=store.now(), offer_slug="growth-playbook")
    store.raise_stage(store.get_contact_by_email("p1@example.com")["id"], "mql")
    return store


def test_sort_by_score_and_mark_a_contact_sales_qualified(live_server, page: Page, seeded) -> None:
    url = live_server.url
    page.goto(url + "/admin/login")
    page.get_by_label("Email").fill("boss@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Leads").click()
    page.get_by_role("link", name="Score").click()
    expect(page.locator('#leads [data-col="score"]')).to_have_text(["70", "20", "5"])
    expect(page.locator('#leads [data-col="stage"]').first).to_have_text("MQL")
    assert [v["id"] for v in Axe().run(page).response["violations"]] == []

    page.get_by_role("link", name="p1@example.com").click()
    expect(page.locator("#score")).to_have_text("Score 70: Marketing-qualified lead (MQL).")
    expect(page.locator("#sequences")).to_have_text("None.")
    page.get_by_role("button", name="Mark as sales-qualified (SQL)").click()
    expect(page.get_by_role("status")).to_have_text("Marked sales-qualified: exports say so from now on.")
    expect(page.locator("#score")).to_contain_text("Score 70: Sales-qualified lead (SQL)")
    expect(page.get_by_role("button", name="Mark as sales-qualified (SQL)")).to_have_count(0)
    assert [v["id"] for v in Axe().run(page).response["violations"]] == []
    assert seeded.get_contact_by_email("p1@example.com")["lifecycle_stage"] == "sql"
