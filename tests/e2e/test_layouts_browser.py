"""Each landing-page layout in a real Chromium, at phone (390 x 844) and desktop (1280 x 800)
width, with every section: axe-core finds nothing (also in the error state), the CSP is never
violated, the first screen of a phone shows the title and a way to the form, the FAQ opens without
script, the proof line shows the real count rounded down, the brand colours are applied, and the
form works with JavaScript off. ``leadmagnet check`` refuses a brand colour that fails contrast."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from leadmagnet.web import services_of
from tests.support.content import ROOT

pytestmark = pytest.mark.e2e

LAYOUTS = {"split": "growth-playbook", "centered": "q1-product-demo", "longform": "seo-checklist"}
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
RECORD_CSP = """window.__csp = []; document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective));"""


@pytest.fixture
def app(make_app, instance_dir: Path, content_dir: Path):
    instance_dir.mkdir(parents=True, exist_ok=True)
    (instance_dir / "config.toml").write_text(
        '[brand]\nname = "Acme"\nprimary = "#5a189a"\naccent = "#9d0208"\nprivacy_url = "/privacy"\nimprint_url = "/imprint"\n',
        encoding="utf-8",
    )
    made = make_app(MIN_FILL_SECONDS=0, RATE_LIMIT="off")
    store = services_of(made).store
    with store.transaction() as tx:  # real sign-ups, so every proof line shows
        for slug, count in (("growth-playbook", 1240), ("q1-product-demo", 64), ("seo-checklist", 130)):
            offer = services_of(made).catalog.get(slug).offer
            for n in range(count):
                tx.record_submission(offer_slug=slug, offer_type=offer.type, email=f"r{n}@example.com", fields={})
    return made


def axe_violations(page: Page) -> list[str]:
    results = Axe().run(page)
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)" for v in results.response["violations"]]


def open_page(browser: Browser, url: str, viewport: dict, javascript: bool = True) -> Page:
    context = browser.new_context(viewport=viewport, java_script_enabled=javascript)
    page = context.new_page()
    page.add_init_script(RECORD_CSP)
    page.goto(url)
    page.wait_for_load_state("load")
    return page


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_each_layout_renders_every_section_and_passes_axe(live_server, browser: Browser, layout: str, viewport: dict) -> None:
    page = open_page(browser, f"{live_server.url}/{LAYOUTS[layout]}", viewport)
    expect(page.locator(f".layout-{layout}")).to_have_count(1)
    expect(page.locator("h1")).to_have_count(1)
    for section in (".proof", ".logos", ".benefits", ".testimonials", ".faq", "form.lead"):
        expect(page.locator(section)).to_have_count(1)
    # Nothing wider than the screen (no sideways scrolling on a phone).
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    # Images below the first screen are lazy; every image has its box before it loads. (Images
    # inside the Markdown pitch are lazy but sized by CSS only: their files are the author's.)
    for img in page.locator("main img:not(.pitch img)").all():
        assert img.get_attribute("width") and img.get_attribute("height")
        if img.bounding_box()["y"] > viewport["height"]:
            assert img.get_attribute("loading") == "lazy"
    assert axe_violations(page) == []
    assert page.evaluate("window.__csp") == []
    page.context.close()


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_the_error_state_of_each_layout_passes_axe(live_server, browser: Browser, layout: str) -> None:
    page = open_page(browser, f"{live_server.url}/{LAYOUTS[layout]}", PHONE)
    page.locator("#f-email").fill("not-an-address")
    page.locator("form.lead button[type=submit]").click()
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator("#error-summary")).to_be_in_viewport()
    assert axe_violations(page) == []
    assert page.evaluate("window.__csp") == []
    page.context.close()


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_the_first_screen_of_a_phone_shows_the_title_and_a_way_to_the_form(live_server, browser: Browser, layout: str) -> None:
    page = open_page(browser, f"{live_server.url}/{LAYOUTS[layout]}", PHONE)
    title = page.locator("h1").bounding_box()
    assert title is not None and title["y"] + title["height"] <= PHONE["height"]
    first_field = page.locator("form.lead .field").first.bounding_box()
    jump = page.locator(".jump a")
    if first_field is None or first_field["y"] + first_field["height"] > PHONE["height"]:
        box = jump.bounding_box()
        assert box is not None and box["y"] + box["height"] <= PHONE["height"], f"{layout}: neither the form nor its button on screen"
    # The button is an in-page link to the form: it works without script.
    assert jump.get_attribute("href") == "#get"
    jump.click()
    expect(page.locator("#get form.lead")).to_have_count(1)
    expect(page.locator("#f-email")).to_be_in_viewport()
    page.context.close()


def test_faq_opens_without_javascript(live_server, browser: Browser) -> None:
    page = open_page(browser, f"{live_server.url}/growth-playbook", PHONE, javascript=False)
    answer = page.locator(".faq details").nth(1).locator("div")
    expect(answer).to_be_hidden()
    page.locator(".faq summary", has_text="Who is it for?").click()
    expect(answer).to_be_visible()
    expect(answer).to_contain_text("one to five people")
    page.context.close()


def test_proof_shows_the_real_count_rounded_down_and_hides_below_the_minimum(live_server, browser: Browser) -> None:
    page = open_page(browser, f"{live_server.url}/growth-playbook", DESKTOP)
    expect(page.locator(".proof")).to_have_text("Join 1,200+ marketers who read it")  # 1,240 leads
    page.goto(f"{live_server.url}/seo-checklist")
    expect(page.locator(".proof")).to_have_text("130+ marketers ticked every box")
    page.context.close()
    source = Path(live_server.app.config["CONTENT_DIR"]) / "seo-checklist.md"
    source.write_text(source.read_text().replace("proof:", "proof_min: 500\nproof:", 1), encoding="utf-8")
    page = open_page(browser, f"{live_server.url}/seo-checklist", DESKTOP)
    expect(page.locator("h1")).to_have_text("The SEO Checklist")
    expect(page.locator(".proof")).to_have_count(0)  # 130 leads, below proof_min 500
    page.context.close()


def test_brand_colours_are_applied(live_server, browser: Browser) -> None:
    page = open_page(browser, f"{live_server.url}/growth-playbook", DESKTOP)
    button = page.locator("form.lead button[type=submit]")
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(90, 24, 154)"  # #5a189a
    assert page.locator(".kicker").evaluate("k => getComputedStyle(k).color") == "rgb(157, 2, 8)"  # #9d0208
    expect(page.locator("footer a[href='/imprint']")).to_have_text("Imprint")
    expect(page.locator("form.lead a[href='/privacy']")).to_be_visible()  # next to the consent box
    page.goto(f"{live_server.url}/seo-checklist")  # the offer's own primary: for a campaign
    assert page.locator(".jump a").evaluate("a => getComputedStyle(a).backgroundColor") == "rgb(31, 111, 67)"  # #1f6f43
    assert page.evaluate("window.__csp") == []
    page.context.close()


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_the_form_of_each_layout_works_without_javascript(live_server, browser: Browser, layout: str) -> None:
    page = open_page(browser, f"{live_server.url}/{LAYOUTS[layout]}", PHONE, javascript=False)
    page.locator("#f-email").fill(f"nojs-{layout}@example.com")
    for checkbox in page.locator("form.lead input[type=checkbox]").all():
        checkbox.check()
    for select in page.locator("form.lead select").all():
        select.select_option(index=1)
    with page.expect_navigation():
        page.locator("form.lead button[type=submit]").click()
    assert f"/{LAYOUTS[layout]}/thanks/" in page.url
    page.context.close()


def test_check_refuses_a_brand_colour_that_fails_contrast(tmp_path: Path) -> None:
    env = {**os.environ, "LEADMAGNET_BRAND_ACCENT": "#aaaaaa"}
    result = subprocess.run(
        [sys.executable, "-m", "leadmagnet.cli", "--content", str(ROOT / "content"), "--instance", str(tmp_path / "i"), "check"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 1
    assert "brand: LEADMAGNET_BRAND_ACCENT: #aaaaaa on #ffffff (small text and icons): contrast 2.32:1" in result.stdout
