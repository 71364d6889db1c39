"""Delivery in a real Chromium: fill an ebook form, click the download link and receive the file's
exact bytes; register for a webinar and download its .ics. The thank-you pages pass axe-core.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from icalendar import Calendar
from playwright.sync_api import Page, expect

from leadmagnet.web import services_of
from tests.support.content import JOIN_URL, write_ebook, write_webinar
from tests.support.servers import start_live_server

pytestmark = pytest.mark.e2e

DATA = b"%PDF-1.4\n" + bytes(range(256)) * 16 + b"\n%%EOF\n"


@pytest.fixture
def server(make_app, content_dir):
    write_ebook(content_dir, "browser-guide", DATA, filename="browser-guide.pdf")
    write_webinar(content_dir, "browser-demo", (datetime.now(UTC) + timedelta(days=5)).replace(microsecond=0))
    live = start_live_server(make_app(RATE_LIMIT="off", MIN_FILL_SECONDS=0))
    try:
        yield live
    finally:
        live.stop()


def axe_violations(page: Page) -> list[str]:
    return [f"{v['id']}: {v['help']}" for v in Axe().run(page).response["violations"]]


def test_submit_ebook_form_then_download_the_exact_bytes(server, page: Page, tmp_path) -> None:
    page.goto(f"{server.url}/browser-guide")
    page.get_by_label("Work email").fill("reader@example.com")
    page.get_by_label("First name").fill("Rea")
    page.get_by_role("button", name="Get the free ebook").click()
    expect(page.locator("h1")).to_have_text("Thank you")
    link = page.get_by_role("link", name="Download browser-guide.pdf")
    expect(link).to_be_visible()
    assert axe_violations(page) == []
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "browser-guide.pdf"
    saved = tmp_path / "got.pdf"
    download.save_as(saved)
    assert saved.read_bytes() == DATA


def test_register_for_a_webinar_and_download_the_ics(server, page: Page, tmp_path) -> None:
    page.goto(f"{server.url}/browser-demo")
    assert JOIN_URL not in page.content()
    page.get_by_label("Work email").fill("attendee@example.com")
    page.get_by_role("button", name="Save my seat").click()
    expect(page.locator("h1")).to_have_text("You're registered")
    expect(page.get_by_role("link", name=JOIN_URL)).to_be_visible()
    expect(page.locator(".delivery .when")).to_contain_text("Europe/Paris, UTC+0")
    assert axe_violations(page) == []
    with page.expect_download() as info:
        page.get_by_role("link", name="Add to calendar (.ics)").click()
    download = info.value
    assert download.suggested_filename == "browser-demo.ics"
    saved = tmp_path / "event.ics"
    download.save_as(saved)
    [event] = Calendar.from_ical(saved.read_bytes()).walk("VEVENT")
    assert str(event["URL"]) == JOIN_URL and str(event["SUMMARY"]) == "Webinar browser-demo"


def test_double_opt_in_and_unsubscribe_buttons(make_app, content_dir, page: Page, tmp_path) -> None:
    import re

    write_ebook(content_dir, "browser-checked", DATA, filename="checked.pdf", extra="double_opt_in: true")
    app = make_app(RATE_LIMIT="off", MIN_FILL_SECONDS=0)
    live = start_live_server(app)
    try:
        page.goto(f"{live.url}/browser-checked")
        page.get_by_label("Work email").fill("dora@example.com")
        page.get_by_role("button", name="Get the free ebook").click()
        expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
        services_of(app).deliveries.send_once()  # no SMTP configured: the confirmation is written as an .eml file
        [row] = services_of(app).store.outbox()
        confirm = re.search(rb"/confirm/[A-Za-z0-9_.-]+", row["message"]).group(0).decode()
        unsubscribe = re.search(rb"/unsubscribe/[A-Za-z0-9_.-]+", row["message"]).group(0).decode()

        page.goto(live.url + confirm)
        assert axe_violations(page) == []
        page.get_by_role("button", name="Confirm my email").click()
        expect(page.locator("h1")).to_have_text("Thank you, you're confirmed")
        with page.expect_download() as info:
            page.get_by_role("link", name="Download checked.pdf").click()
        saved = tmp_path / "checked.pdf"
        info.value.save_as(saved)
        assert saved.read_bytes() == DATA

        page.goto(live.url + unsubscribe)
        assert axe_violations(page) == []
        page.get_by_role("button", name="Unsubscribe").click()
        expect(page.locator("h1")).to_have_text("You're unsubscribed")
        assert services_of(app).store.get_contact_by_email("dora@example.com")["unsubscribed_at"]
    finally:
        live.stop()
