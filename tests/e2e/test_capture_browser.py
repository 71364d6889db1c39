"""Lead capture in a real Chromium against a real server: each sample form filled and submitted,
field errors with focus on the summary, keyboard-only submission, attribution and the fill timer
set by lead.js, and axe-core with zero violations on the error state and the thank-you page."""

from __future__ import annotations

import json

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from leadmagnet.web import services_of
from tests.support.servers import start_live_server

pytestmark = pytest.mark.e2e

# What a person types into each sample form (the past webinar has no form).
FILL = {
    "growth-playbook": {
        "email": "ada@example.com",
        "first_name": "Ada",
        "company": "Analytical Engines",
        "team_size": "2-5",
        "consent": True,
    },
    "seo-checklist": {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "job_title": "CMO", "country": "UK"},
    "q1-product-demo": {
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "company": "Analytical Engines",
        "phone": "+44 20 7946 0000",
        "question": "Can I export to HubSpot?",
        "consent": True,
    },
}


@pytest.fixture
def app(make_app):
    # Playwright fills a form in milliseconds; the fill timer has its own test below.
    return make_app(MIN_FILL_SECONDS=0)


def axe_violations(page: Page) -> list[str]:
    results = Axe().run(page)
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)" for v in results.response["violations"]]


def fill(page: Page, values: dict) -> None:
    form = page.locator("form.lead")
    for name, value in values.items():
        field = form.locator(f"[name={name}]")
        if value is True:
            field.check()
        elif field.evaluate("el => el.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)


def rows(live_server) -> list[dict]:
    return services_of(live_server.app).store.submissions()


@pytest.mark.parametrize("slug", sorted(FILL))
def test_each_sample_form_submits_to_its_thank_you_page(live_server, page: Page, slug: str) -> None:
    page.goto(f"{live_server.url}/{slug}")
    fill(page, FILL[slug])
    page.locator("form.lead button[type=submit]").click()
    page.wait_for_url(f"**/{slug}/thanks/**")
    expect(page.locator("h1")).to_have_text("You're registered" if slug == "q1-product-demo" else "Thank you")
    expect(page.locator("main")).to_contain_text("ada@example.com")
    [row] = rows(live_server)
    assert row["offer_slug"] == slug and row["spam"] == 0
    assert json.loads(row["data"])["first_name"] == "Ada"
    assert row["user_agent"] and "Chrome" in row["user_agent"]


def test_field_errors_show_a_focused_summary_and_pass_axe(live_server, page: Page) -> None:
    page.goto(f"{live_server.url}/growth-playbook")
    page.locator("[name=email]").fill("ada-at-example")
    page.locator("[name=first_name]").fill("<b>Ada</b>")
    page.locator("form.lead button[type=submit]").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(summary.locator("li")).to_have_count(3)
    email = page.locator("#f-email")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_attribute("aria-describedby", "f-email-error")
    expect(page.locator("#f-email-error")).to_contain_text("@-sign")
    expect(email).to_have_value("ada-at-example")
    expect(page.locator("#f-first_name")).to_have_value("<b>Ada</b>")  # kept, as text
    # a summary link moves to its field
    summary.locator("a[href='#f-team_size']").click()
    assert page.evaluate("location.hash") == "#f-team_size"
    assert axe_violations(page) == []
    assert rows(live_server) == []


def test_fixing_the_errors_then_submitting_works(live_server, page: Page) -> None:
    page.goto(f"{live_server.url}/growth-playbook")
    page.locator("form.lead button[type=submit]").click()
    expect(page.locator("#error-summary")).to_be_visible()
    fill(page, FILL["growth-playbook"])
    page.locator("form.lead button[type=submit]").click()
    page.wait_for_url("**/growth-playbook/thanks/**")
    assert len(rows(live_server)) == 1


def test_keyboard_only_submission(live_server, page: Page) -> None:
    page.goto(f"{live_server.url}/growth-playbook")
    focused: list[str] = []
    for _ in range(40):  # Tab from the top of the page to the email field
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.id"))
        if focused[-1] == "f-email":
            break
    assert focused[-1] == "f-email"
    page.keyboard.type("ada@example.com")
    page.keyboard.press("Tab")
    page.keyboard.type("Ada")
    page.keyboard.press("Tab")
    page.keyboard.type("Analytical Engines")
    page.keyboard.press("Tab")  # the team-size select
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")  # the consent box
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.type") == "submit"  # the honeypot is skipped
    page.keyboard.press("Enter")
    page.wait_for_url("**/growth-playbook/thanks/**")
    [row] = rows(live_server)
    data = json.loads(row["data"])
    assert (data["email"], data["company"], data["team_size"]) == ("ada@example.com", "Analytical Engines", "1")
    assert row["consent_text"] and row["spam"] == 0
    assert "f-website" not in focused


def test_thank_you_page_passes_axe(live_server, page: Page) -> None:
    page.goto(f"{live_server.url}/seo-checklist")
    fill(page, FILL["seo-checklist"])
    page.locator("form.lead button[type=submit]").click()
    page.wait_for_url("**/thanks/**")
    assert axe_violations(page) == []


def test_lead_js_sends_utm_values_and_the_referrer(live_server, page: Page) -> None:
    page.goto(
        f"{live_server.url}/seo-checklist?utm_source=linkedin&utm_medium=social&utm_campaign=q1", referer="https://news.example.org/post"
    )
    fill(page, {"email": "ada@example.com"})
    page.locator("form.lead button[type=submit]").click()
    page.wait_for_url("**/thanks/**")
    [row] = rows(live_server)
    assert (row["utm_source"], row["utm_medium"], row["utm_campaign"]) == ("linkedin", "social", "q1")
    assert row["referrer"] == "https://news.example.org/post"


def test_a_form_filled_by_a_script_in_no_time_is_stored_as_spam_but_thanked(make_app, page: Page) -> None:
    server = start_live_server(make_app(MIN_FILL_SECONDS=30))
    try:
        page.goto(f"{server.url}/seo-checklist")
        fill(page, {"email": "bot@example.com"})
        page.locator("form.lead button[type=submit]").click()
        page.wait_for_url("**/thanks/**")
        expect(page.locator("h1")).to_have_text("Thank you")
        [row] = services_of(server.app).store.submissions()
        assert row["spam"] == 1 and row["spam_reason"].startswith("too fast")
    finally:
        server.stop()


def test_a_visitor_without_javascript_submits_the_plain_form_and_is_a_lead(make_app, browser) -> None:
    server = start_live_server(make_app())  # the default fill timer: an untimed form is a person
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/seo-checklist?utm_source=print&utm_campaign=flyer")
        fill(page, FILL["seo-checklist"])
        page.locator("form.lead button[type=submit]").click()
        page.wait_for_url("**/seo-checklist/thanks/**")
        expect(page.locator("h1")).to_have_text("Thank you")
        [row] = services_of(server.app).store.submissions()
        assert row["spam"] == 0
        assert (row["utm_source"], row["utm_campaign"]) == ("print", "flyer")  # from the landing URL
    finally:
        context.close()
        server.stop()


def test_a_visitor_held_back_by_the_rate_limit_keeps_what_they_typed(make_app, page: Page) -> None:
    # Colleagues behind one office address share the limit: the one held back is told how long
    # to wait, with the form still filled in, and sends it again once the wait is over.
    # A day-long window: a shorter one could roll over between the two submissions.
    server = start_live_server(make_app(MIN_FILL_SECONDS=0, RATE_LIMIT="1/day"))
    try:
        store = services_of(server.app).store
        page.goto(f"{server.url}/growth-playbook")
        fill(page, {**FILL["growth-playbook"], "email": "first@example.com"})
        page.locator("form.lead button[type=submit]").click()
        page.wait_for_url("**/thanks/**")
        page.goto(f"{server.url}/growth-playbook")
        fill(page, FILL["growth-playbook"])
        page.locator("form.lead button[type=submit]").click()
        summary = page.locator("#error-summary")
        expect(summary).to_contain_text("Too many sign-ups from your network just now")
        expect(summary).to_be_focused()
        expect(page.locator("#f-email")).to_have_value("ada@example.com")
        expect(page.locator("#f-company")).to_have_value("Analytical Engines")
        expect(page.locator("#f-consent")).to_be_checked()
        assert axe_violations(page) == []
        assert [store.get_contact(s["contact_id"])["email"] for s in store.submissions()] == ["first@example.com"]
        server.app.config["RATE_LIMIT"] = "off"  # the wait is over
        page.locator("form.lead button[type=submit]").click()
        page.wait_for_url("**/growth-playbook/thanks/**")
        expect(page.locator("main")).to_contain_text("ada@example.com")
    finally:
        server.stop()
