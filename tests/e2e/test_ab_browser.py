"""An offer under an A/B test in a real Chromium: each variant renders, passes axe-core without a
CSP violation, keeps the visitor on one variant across reloads, and a submission made by clicking
is attributed to the variant shown."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Browser, Page, expect

from leadmagnet.web import services_of
from tests.e2e.test_pages_browser import axe_violations
from tests.test_assignment import TITLES, write_test_offer

pytestmark = pytest.mark.e2e


@pytest.fixture
def app(make_app, content_dir):
    write_test_offer(content_dir)
    return make_app(RATE_LIMIT="off")


@pytest.mark.parametrize("variant", ["a", "b"])
def test_each_variant_passes_axe_and_a_click_is_attributed_to_it(live_server, browser: Browser, variant: str) -> None:
    context = browser.new_context()
    context.add_cookies([{"name": "ab-split-guide", "value": variant, "url": f"{live_server.url}/split-guide"}])
    page: Page = context.new_page()
    console: list[str] = []
    page.on("console", lambda msg: console.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.goto(f"{live_server.url}/split-guide")
    expect(page.locator("h1")).to_have_text(TITLES[variant])
    assert axe_violations(page) == []
    page.fill("input[name=email]", f"clicker-{variant}@example.com")
    page.fill("input[name=first_name]", "Ada")
    page.click("button[type=submit]")
    page.wait_for_url("**/split-guide/thanks/**")
    assert console == []
    (submission,) = services_of(live_server.app).store.submissions("split-guide")
    assert submission["variant"] == variant and json.loads(submission["data"])["email"] == f"clicker-{variant}@example.com"
    context.close()


def test_a_new_visitor_keeps_their_variant_across_reloads(live_server, browser: Browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}/split-guide")
    first = page.locator("h1").inner_text()
    for _ in range(5):
        page.reload()
        assert page.locator("h1").inner_text() == first
    (cookie,) = [c for c in context.cookies() if c["name"] == "ab-split-guide"]
    assert cookie["value"] == ("b" if first == TITLES["b"] else "a") and cookie["httpOnly"]
    context.close()
