"""The funnel in a real Chromium against a real server: the thank-you page leads on (delivery,
then the next offer's card, then share links), the index filters by tag with plain links, and
both pass axe-core with zero violations, with JavaScript on and off."""

from __future__ import annotations

from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import sign_up_for_the_playbook

pytestmark = pytest.mark.e2e


@pytest.fixture
def app(make_app, content_dir: Path):
    source = content_dir / "growth-playbook.md"
    source.write_text(source.read_text().replace("stage: tofu", "stage: tofu\nnext: q1-product-demo", 1))
    # Playwright fills a form in milliseconds; the fill timer has its own tests.
    return make_app(MIN_FILL_SECONDS=0)


def axe_violations(page: Page) -> list[str]:
    results = Axe().run(page)
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)" for v in results.response["violations"]]


def register(page: Page, url: str) -> None:
    sign_up_for_the_playbook(page, f"{url}/growth-playbook")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_thank_you_page_leads_to_the_next_offer_and_passes_axe(live_server, browser: Browser, javascript: bool) -> None:
    context = browser.new_context(java_script_enabled=javascript, viewport={"width": 390, "height": 844})
    page = context.new_page()
    csp_errors: list[str] = []
    page.on("console", lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    register(page, live_server.url)
    download = page.locator(".delivery a.download")
    expect(download).to_be_visible()
    card = page.locator("section.next")
    expect(card.locator("h3")).to_have_text("Live product demo for marketing teams")
    share = page.locator("section.share a")
    expect(share).to_have_count(4)
    # Delivery first, then the next offer, then the share links, top to bottom.
    boxes = [loc.bounding_box() for loc in (download, card, share.first)]
    assert all(boxes) and boxes[0]["y"] < boxes[1]["y"] < boxes[2]["y"]
    assert page.locator("script").count() == 0  # plain links: no script of any origin
    if javascript:  # axe-core runs as a script in the page
        assert axe_violations(page) == []
    card.get_by_role("link", name="Save my seat").click()
    page.wait_for_url(f"{live_server.url}/q1-product-demo")
    expect(page.locator("h1")).to_have_text("Live product demo for marketing teams")
    expect(page.locator(".starts-in")).to_contain_text("Starts in")
    assert csp_errors == []
    context.close()


def test_index_filters_by_tag_with_links_and_passes_axe(live_server, browser: Browser) -> None:
    for javascript in (False, True):
        context = browser.new_context(java_script_enabled=javascript)
        page = context.new_page()
        page.goto(live_server.url + "/")
        expect(page.locator(".card")).to_have_count(4)
        page.get_by_role("navigation", name="Filter by tag").get_by_role("link", name="seo (1)").click()
        page.wait_for_url(f"{live_server.url}/tag/seo")
        expect(page.locator(".card")).to_have_count(1)
        expect(page.locator(".card h2")).to_have_text("The SEO Checklist")
        expect(page.locator(".tags a[aria-current=page]")).to_have_text("seo (1)")
        if javascript:
            assert axe_violations(page) == []
            page.goto(live_server.url + "/")
            assert axe_violations(page) == []
        context.close()
