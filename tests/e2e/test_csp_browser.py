"""The Content-Security-Policy in a real Chromium: no violation on any sample page, its error
state or its thank-you page; an injected inline script is blocked; and an exported page served by
another server submits its form to, and counts its view at, the live leadmagnet server."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from leadmagnet.build import build
from leadmagnet.web import services_of
from tests.support.servers import static_server

pytestmark = pytest.mark.e2e

SAMPLE_PAGES = ["/", "/growth-playbook", "/seo-checklist", "/q1-product-demo", "/scaling-content-2026", "/no-such-offer"]

# Collects every violation the page reports, from before its first script runs.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def watch(page: Page) -> list[str]:
    """Console messages that mention the CSP (Chromium logs every violation there)."""
    messages: list[str] = []
    page.on("console", lambda msg: messages.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.add_init_script(RECORD_VIOLATIONS)
    return messages


def violations(page: Page, console: list[str]) -> list[str]:
    return console + page.evaluate("window.__csp || []")


@pytest.fixture
def app(make_app):
    return make_app(MIN_FILL_SECONDS=0, RATE_LIMIT="off")


@pytest.mark.parametrize("path", SAMPLE_PAGES)
def test_no_csp_violation_on_sample_pages(live_server, page: Page, path: str) -> None:
    console = watch(page)
    response = page.goto(live_server.url + path)
    assert response is not None and "content-security-policy" in response.headers
    page.wait_for_load_state("load")
    expect(page.locator("h1")).to_have_count(1)
    assert violations(page, console) == []


def test_no_csp_violation_on_error_state_and_thank_you_page(live_server, page: Page) -> None:
    console = watch(page)
    page.goto(live_server.url + "/seo-checklist")
    page.locator("form.lead button[type=submit]").click()
    expect(page.locator("#error-summary")).to_be_visible()
    assert page.evaluate("document.title").startswith("Error:")
    assert violations(page, console) == []

    page.locator("#f-email").fill("csp@example.com")
    with page.expect_navigation():
        page.locator("form.lead button[type=submit]").click()
    assert "/seo-checklist/thanks/" in page.url
    page.wait_for_load_state("load")
    assert violations(page, console) == []


def test_the_policy_blocks_injected_inline_script(live_server, page: Page) -> None:
    console = watch(page)
    page.goto(live_server.url + "/growth-playbook")
    page.evaluate(
        """() => { const s = document.createElement("script"); s.textContent = "window.__injected = 1";
                 document.body.appendChild(s); }"""
    )
    page.wait_for_function("window.__csp.some((v) => v.startsWith('script-src'))")  # the violation event has fired
    assert page.evaluate("window.__injected") is None
    assert any("script-src" in v for v in violations(page, console))


def test_exported_page_on_another_server_posts_to_and_beacons_the_live_server(live_server, page: Page, tmp_path) -> None:
    app = live_server.app
    build(app.config, tmp_path / "out")  # BASE_URL is the live server's address
    with static_server(tmp_path / "out") as static_url:
        console = watch(page)
        beacons: list[str] = []
        page.on("request", lambda r: beacons.append(r.url) if r.url.endswith("/beacon") else None)
        with page.expect_response(f"{live_server.url}/beacon") as beacon:  # sendBeacon is asynchronous
            page.goto(f"{static_url}/seo-checklist?utm_source=partner")
        assert beacon.value.status == 204
        assert page.locator("form.lead").get_attribute("action") == f"{live_server.url}/seo-checklist"
        page.wait_for_load_state("load")
        assert beacons == [f"{live_server.url}/beacon"]

        page.locator("#f-email").fill("exported@example.com")
        page.locator("#f-first_name").fill("Ex")
        with page.expect_navigation():
            page.locator("form.lead button[type=submit]").click()
        assert re.match(re.escape(live_server.url) + r"/seo-checklist/thanks/", page.url)
        assert violations(page, console) == []

    store = services_of(app).store
    (submission,) = store.submissions()
    assert (submission["offer_slug"], submission["utm_source"], submission["spam"]) == ("seo-checklist", "partner", 0)
    services_of(app).page_views.flush()
    assert [(r["utm_source"], r["views"]) for r in store.page_views("seo-checklist")] == [("partner", 1)]
