"""The dashboard in a real Chromium against a real server: a visitor arrives from a campaign link and
signs up, then the admin finds the charts (images named by their titles), their numbers under a
disclosure, the breakdown tables with the campaign's cost per lead, a CSV download, and no axe
violation; a visitor of an offer under an A/B test signs up, and the admin finds the test's section
with the variant they saw and the decision in words."""

from __future__ import annotations

import csv
from datetime import UTC, datetime

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from leadmagnet.web import services_of
from leadmagnet.web.admin import add_admin
from tests.support.browser import sign_up_for_the_playbook
from tests.test_assignment import TITLES, write_test_offer

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"
CAMPAIGN_LINK = "/growth-playbook?utm_source=newsletter&utm_medium=email&utm_campaign=spring"


@pytest.fixture
def app(make_app, content_dir):
    write_test_offer(content_dir)  # an offer under an A/B test too: its section shows on the dashboard
    return make_app(MIN_FILL_SECONDS=0, CAMPAIGNS={"spring": {"spend": 90, "currency": "EUR"}})


def axe_violations(page: Page) -> list[str]:
    return [f"{v['id']}: {v['help']}" for v in Axe().run(page).response["violations"]]


def log_in(page: Page, url: str) -> None:
    page.goto(url + "/admin/")
    page.get_by_label("Email").fill("boss@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("h1")).to_have_text("Dashboard")


def test_the_dashboard_shows_charts_and_breakdowns_of_real_traffic(live_server, page: Page, tmp_path) -> None:
    url, store = live_server.url, services_of(live_server.app).store
    add_admin(store, "boss@example.com", PASSWORD)
    store.add_page_views({("growth-playbook", "2026-03-01", "newsletter", "email", "spring", "", "phone"): 29})
    console_errors: list[str] = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)

    # A visitor comes from the campaign's link and signs up.
    sign_up_for_the_playbook(page, url + CAMPAIGN_LINK)
    assert services_of(live_server.app).page_views.flush() == 1

    log_in(page, url)

    # The charts are images named by their titles; their numbers are a table under a disclosure.
    for name in (
        "All offers: views per day",
        "All offers: submissions per day",
        "All offers: conversion rate per day",
        "The Growth Playbook: views per day",
    ):
        expect(page.get_by_role("img", name=name).first).to_be_visible()
    today = datetime.now(UTC).date().isoformat()
    page.get_by_text("The numbers of All offers, day by day").click()
    row = page.get_by_role("table", name="All offers per day").get_by_role("row", name=today)
    expect(row).to_contain_text("1")  # today's view and lead

    # The breakdowns: the campaign with its cost per lead, the device Chromium reported.
    campaign = page.get_by_role("table", name="By utm_campaign")
    expect(campaign.locator('tr[data-value="spring"] [data-col="views"]')).to_have_text("30")
    expect(campaign.locator('tr[data-value="spring"] [data-col="submissions"]')).to_have_text("1")
    expect(campaign.locator('tr[data-value="spring"] [data-col="cost-per-lead"]')).to_have_text("90.00 EUR")
    for heading in ("utm_source", "utm_medium", "Referrer domain", "Device"):
        expect(page.get_by_role("table", name=f"By {heading}")).to_be_visible()
    expect(page.get_by_role("table", name="By Device").locator('tr[data-value="desktop"] [data-col="submissions"]')).to_have_text("1")
    expect(page.locator('tr[data-funnel="growth-playbook"] [data-col="submissions"]')).to_contain_text("1")
    assert axe_violations(page) == []

    with page.expect_download() as info:
        page.get_by_role("link", name="Download the utm_campaign table as CSV").click()
    path = tmp_path / "campaign.csv"
    info.value.save_as(path)
    rows = list(csv.DictReader(path.open(encoding="utf-8", newline="")))
    assert [(r["campaign"], r["submissions"], r["cost_per_lead"]) for r in rows] == [("spring", "1", "90.00")]
    assert console_errors == []  # no CSP violation on the page with its charts


def test_the_dashboard_shows_an_ab_test_with_the_variant_a_visitor_saw_and_the_decision(live_server, page: Page) -> None:
    url, services = live_server.url, services_of(live_server.app)
    add_admin(services.store, "boss@example.com", PASSWORD)

    # A visitor is drawn a variant of the offer under test, and signs up.
    page.goto(url + "/split-guide")
    seen = "b" if page.locator("h1").inner_text() == TITLES["b"] else "a"
    other = "a" if seen == "b" else "b"
    form = page.locator("form.lead")
    form.locator("[name=email]").fill("grace@example.com")
    form.locator("[name=first_name]").fill("Grace")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/split-guide/thanks/**")
    assert services.variant_views.flush() == 1

    log_in(page, url)
    section = page.get_by_role("region", name="A/B tests")
    table = section.get_by_role("table", name=TITLES["a"])
    expect(table.locator(f'tr[data-variant="{seen}"] [data-col="views"]')).to_have_text("1")
    expect(table.locator(f'tr[data-variant="{seen}"] [data-col="submissions"]')).to_have_text("1")
    expect(table.locator(f'tr[data-variant="{other}"] [data-col="views"]')).to_have_text("0")
    expect(section.locator('p.decision[data-status="waiting"]')).to_contain_text("no winner yet")
    assert axe_violations(page) == []
