"""What a visitor sees in a real Chromium: the sample funnel picture on a phone, the referrer kept
across a form shown again."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from leadmagnet.web import services_of

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


def test_the_funnel_picture_fits_a_phone_screen_whole(live_server, browser: Browser) -> None:
    page = browser.new_page(viewport=PHONE)
    try:
        page.goto(f"{live_server.url}/growth-playbook")
        image = page.locator(".pitch img[src$='funnel.svg']")
        image.scroll_into_view_if_needed()
        expect(image).to_be_visible()
        page.wait_for_function("document.querySelector(\".pitch img[src$='funnel.svg']\").complete")
        box = image.bounding_box()
        natural = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
        assert box is not None and natural[0] > 0 and natural[1] > 0
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
        assert abs(box["width"] / box["height"] - natural[0] / natural[1]) < 0.01, (box, natural)  # scaled, not squeezed
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # nothing sticks out sideways

        # The picture itself: every label inside its drawing area, at any font the machine has.
        page.goto(f"{live_server.url}/media/assets/funnel.svg")
        view = page.evaluate(
            "document.documentElement.viewBox.baseVal && [document.documentElement.viewBox.baseVal.width, document.documentElement.viewBox.baseVal.height]"
        )
        assert view, "the SVG needs a viewBox to scale"
        boxes = page.evaluate(
            "[...document.querySelectorAll('text')].map(t => { const b = t.getBBox(); return [t.textContent, b.x, b.y, b.width, b.height]; })"
        )
        assert boxes
        for text, x, y, width, height in boxes:
            assert text.strip(), "an empty label"
            assert x >= 0 and y >= 0 and x + width <= view[0] and y + height <= view[1], (text, x, y, width, height, view)
    finally:
        page.close()


SEO = {"first_name": "Ada", "last_name": "Lovelace", "job_title": "CMO", "country": "UK"}


@pytest.fixture
def app(make_app):
    return make_app(MIN_FILL_SECONDS=0)  # Playwright fills a form in milliseconds


@pytest.mark.parametrize("came_from", ["https://news.example.org/issue-4", None])
def test_the_referrer_is_where_the_visitor_came_from_even_after_a_form_shown_again(live_server, browser: Browser, came_from) -> None:
    page = browser.new_page()
    try:
        page.goto(f"{live_server.url}/seo-checklist", referer=came_from)
        form = page.locator("form.lead")
        for name, value in {**SEO, "email": "not-an-address"}.items():
            form.locator(f"[name={name}]").fill(value)
        form.locator("button[type=submit]").click()
        expect(page.locator("#error-summary")).to_be_visible()  # the 422: document.referrer is now this page
        page.locator("form.lead [name=email]").fill("ada@example.com")
        page.locator("form.lead button[type=submit]").click()
        page.wait_for_url("**/thanks/**")
    finally:
        page.close()
    [row] = services_of(live_server.app).store.submissions()
    if came_from is None:
        assert row["referrer"] in ("", None)
    else:  # the browser may cut a cross-site referrer to its origin
        assert (row["referrer"] or "").startswith("https://news.example.org/")
