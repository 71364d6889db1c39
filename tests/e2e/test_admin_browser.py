"""The admin in a real Chromium against a real server: log in, dashboard numbers, filter leads,
download a CSV, erase a contact after typing its address (with real CSRF tokens throughout)."""

from __future__ import annotations

import csv
import io

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
    store.add_page_views({("growth-playbook", "2026-03-01", ""): 80, ("q1-product-demo", "2026-03-01", ""): 30})
    for i in range(6):
        store.record_submission(
            offer_slug="growth-playbook",
            offer_type="ebook",
            email=f"reader{i}@example.com",
            fields={"first_name": f"Reader{i}", "company": "Acme" if i < 2 else "Globex"},
            meta={"utm_source": "newsletter"},
            tags=["ebook"],
        )
    store.record_submission(offer_slug="growth-playbook", offer_type="ebook", email="bot@example.com", fields={}, spam_reason="honeypot")
    for i in range(3):
        store.record_submission(
            offer_slug="q1-product-demo",
            offer_type="webinar",
            email=f"viewer{i}@example.com",
            fields={"last_name": f"Viewer{i}"},
            tags=["webinar"],
        )
    return store


def axe_violations(page: Page) -> list[str]:
    return [f"{v['id']}: {v['help']}" for v in Axe().run(page).response["violations"]]


def log_in(page: Page, url: str) -> None:
    page.goto(url + "/admin/")
    expect(page).to_have_url(url + "/admin/login?next=/admin/")
    page.get_by_label("Email").fill("boss@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("h1")).to_have_text("Dashboard")


def test_admin_journey(live_server, page: Page, seeded, tmp_path) -> None:
    url = live_server.url
    console_errors: list[str] = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    log_in(page, url)

    # Dashboard numbers match the database.
    for slug in ("growth-playbook", "q1-product-demo"):
        row = page.locator(f'tr[data-offer="{slug}"]')
        expect(row.locator('[data-col="submissions"]')).to_have_text(str(seeded.count_submissions(slug)))
    expect(page.locator('tr[data-offer="growth-playbook"] [data-col="views"]')).to_have_text("80")
    expect(page.locator('tr[data-offer="growth-playbook"] [data-col="conversion"]')).to_have_text("7.5%")  # 6 / 80
    expect(page.locator('tr[data-offer="q1-product-demo"] [data-col="registrations"]')).to_have_text("3")
    expect(page.locator('tr[data-offer="total"] [data-col="submissions"]')).to_have_text("9")  # the bot is not a lead
    assert axe_violations(page) == []

    # Filter the leads.
    page.get_by_role("link", name="Leads").click()
    expect(page.locator("#leads tbody tr")).to_have_count(9)
    page.get_by_label("Search").fill("acme")
    page.get_by_label("Offer").select_option("growth-playbook")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#leads tbody tr")).to_have_count(2)
    expect(page.locator("#leads")).to_contain_text("reader0@example.com")
    expect(page.locator("#leads")).not_to_contain_text("reader3@example.com")
    assert axe_violations(page) == []

    # Download a CSV and check its rows.
    page.get_by_role("link", name="Export").click()
    page.get_by_label("Format").select_option("hubspot")
    page.get_by_label("Offer").select_option("q1-product-demo")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download").click()
    path = tmp_path / "export.csv"
    info.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    assert [(r["Email"], r["Last name"], r["Lifecycle Stage"]) for r in rows] == [
        (f"viewer{i}@example.com", f"Viewer{i}", "subscriber") for i in range(3)
    ]

    # Erase a contact.
    page.get_by_role("link", name="Leads").click()
    page.get_by_role("link", name="reader5@example.com").click()
    expect(page.locator("h1")).to_have_text("reader5@example.com")
    assert axe_violations(page) == []
    # Erasing asks for the address: the button on the contact page only opens the confirmation.
    page.get_by_role("link", name="Erase reader5@example.com").click()
    expect(page.locator("h1")).to_have_text("Erase reader5@example.com?")
    assert axe_violations(page) == []
    page.get_by_label("Type reader5@example.com to confirm").fill("reader4@example.com")
    page.get_by_role("button", name="Erase for good").click()
    expect(page.get_by_role("alert")).to_contain_text("nothing was erased")
    assert seeded.get_contact_by_email("reader5@example.com") is not None
    assert [e for e in console_errors if "422" not in e] == []  # the refused form answered 422, as it should
    console_errors.clear()
    page.get_by_label("Type reader5@example.com to confirm").fill("reader5@example.com")
    page.get_by_role("button", name="Erase for good").click()
    expect(page.locator(".notice")).to_have_text("The contact was erased.")
    expect(page.locator("#leads")).not_to_contain_text("reader5@example.com")
    assert seeded.get_contact_by_email("reader5@example.com") is None

    # The audit log says who did it, and the export before it.
    page.get_by_role("link", name="Audit log").click()
    rows = page.locator("#audit tbody tr")
    expect(rows.nth(0)).to_contain_text("Erased a contact")
    expect(rows.nth(1)).to_contain_text("Downloaded an export")
    expect(page.locator("#audit")).not_to_contain_text("reader5@example.com")
    assert axe_violations(page) == []

    # Log out: the admin is closed again.
    page.get_by_role("button", name="Log out boss@example.com").click()
    expect(page.locator("h1")).to_have_text("Admin log in")
    page.goto(url + "/admin/leads")
    expect(page).to_have_url(url + "/admin/login?next=/admin/leads")
    assert console_errors == []  # no CSP violation or script error on any admin page
