"""Every sample page in a real Chromium: it renders, shows its form, and passes axe-core."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

SAMPLE_PAGES = ["growth-playbook", "seo-checklist", "q1-product-demo", "scaling-content-2026"]


def axe_violations(page: Page) -> list[str]:
    results = Axe().run(page)
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)" for v in results.response["violations"]]


@pytest.mark.parametrize("slug", SAMPLE_PAGES)
def test_sample_page_renders_with_form_and_passes_axe(live_server, page: Page, slug: str) -> None:
    console_errors: list[str] = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    response = page.goto(f"{live_server.url}/{slug}")
    assert response is not None and response.status == 200
    expect(page.locator("h1")).to_have_count(1)
    if slug == "scaling-content-2026":
        expect(page.locator(".state-ended")).to_have_count(1)  # a past webinar: ended state, replay offer
    else:
        form = page.locator("form.lead")
        expect(form).to_be_visible()
        expect(form.locator("input[name=email]")).to_be_visible()
        expect(form.locator("button[type=submit]")).to_be_visible()
    assert axe_violations(page) == []
    assert [e for e in console_errors if "Content Security Policy" in e] == []


def test_index_and_error_pages_pass_axe(live_server, page: Page) -> None:
    page.goto(live_server.url + "/")
    expect(page.locator(".card")).to_have_count(4)
    assert axe_violations(page) == []
    response = page.goto(live_server.url + "/no-such-offer")
    assert response is not None and response.status == 404
    expect(page.locator("a[href='/']").first).to_be_visible()
    assert axe_violations(page) == []


def test_form_is_above_the_fold_on_desktop_and_after_hero_on_phone(live_server, browser) -> None:
    desktop = browser.new_page(viewport={"width": 1280, "height": 800})
    desktop.goto(f"{live_server.url}/growth-playbook")
    box = desktop.locator("form.lead button[type=submit]").bounding_box()
    assert box is not None and box["y"] + box["height"] <= 800
    desktop.close()
    phone = browser.new_page(viewport={"width": 375, "height": 740})
    phone.goto(f"{live_server.url}/growth-playbook")
    hero = phone.locator(".hero").bounding_box()
    form = phone.locator("form.lead").bounding_box()
    pitch = phone.locator(".pitch").bounding_box()
    assert hero and form and pitch and hero["y"] < form["y"] < pitch["y"]
    phone.close()


FOCUS_STYLE = """() => {
  const el = document.activeElement;
  const s = getComputedStyle(el);
  return {tag: el.tagName, outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2, shadow: s.boxShadow !== 'none'};
}"""


@pytest.mark.parametrize("slug", ["growth-playbook", "q1-product-demo"])
def test_keyboard_focus_is_always_visible(live_server, page: Page, slug: str) -> None:
    page.goto(f"{live_server.url}/{slug}")
    seen: list[str] = []
    for _ in range(8):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS_STYLE)
        seen.append(focus["tag"])
        assert focus["outline"] or focus["shadow"], f"focus on {focus['tag']} is not visible"
    assert seen[0] == "A" and "INPUT" in seen  # the skip link first, then on to the form


def test_skip_link_moves_focus_to_main(live_server, page: Page) -> None:
    page.goto(f"{live_server.url}/growth-playbook")
    page.keyboard.press("Tab")
    expect(page.locator(".skip")).to_be_focused()
    expect(page.locator(".skip")).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"


@pytest.mark.parametrize("path", [*[f"/{s}" for s in SAMPLE_PAGES], "/", "/no-such-offer"])
def test_one_h1_and_landmarks_on_every_page(live_server, page: Page, path: str) -> None:
    page.goto(live_server.url + path)
    expect(page.locator("h1")).to_have_count(1)
    expect(page.get_by_role("main")).to_have_count(1)
    expect(page.get_by_role("banner")).to_have_count(1)
    expect(page.get_by_role("contentinfo")).to_have_count(1)
    assert page.evaluate("document.documentElement.lang") == "en"
