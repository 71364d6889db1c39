"""The dashboard over HTTP: charts as accessible SVG, breakdowns, funnel, cost per lead, CSV downloads,
and views counted with their medium, campaign, referrer and device by real requests."""

from __future__ import annotations

import csv
import io
import re

import pytest

from leadmagnet.web import services_of
from leadmagnet.web.admin import add_admin
from leadmagnet.web.dashboard_views import day_span, percentile

pytestmark = pytest.mark.both_backends  # the admin and page-view paths on SQLite and on PostgreSQL

PASSWORD = "correct horse battery staple"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
CAMPAIGNS = {"spring": {"spend": 120, "currency": "EUR"}, "Autumn": {"spend": "50.5", "currency": "usd"}}


def log_in(app):
    add_admin(services_of(app).store, "boss@example.com", PASSWORD)
    client = app.test_client()
    assert client.post("/admin/login", data={"email": "boss@example.com", "password": PASSWORD}).status_code == 303
    return client


@pytest.fixture
def site(make_app):
    app = make_app(WTF_CSRF_ENABLED=False, ADMIN_LOGIN_LIMIT="off", RATE_LIMIT="off", CAMPAIGNS=CAMPAIGNS)
    store = services_of(app).store
    store.add_page_views(
        {
            ("growth-playbook", "2026-03-01", "news", "email", "spring", "", "phone"): 40,
            ("growth-playbook", "2026-03-03", "", "", "", "google.com", "desktop"): 60,
        }
    )
    for i, day in enumerate(("2026-03-01", "2026-03-01", "2026-03-03")):
        store.record_submission(
            offer_slug="growth-playbook",
            offer_type="ebook",
            email=f"p{i}@example.com",
            fields={},
            meta={"utm_source": "news", "utm_campaign": "spring", "user_agent": IPHONE},
            now=f"{day}T09:00:00.000000+00:00",
        )
    store.record_submission(
        offer_slug="growth-playbook",
        offer_type="ebook",
        email="evil@example.com",
        fields={},
        meta={"utm_campaign": '=HYPERLINK("http://evil.example")'},
        now="2026-03-02T09:00:00.000000+00:00",
    )
    return app, log_in(app)


def test_the_dashboard_draws_accessible_charts_with_their_numbers(site) -> None:
    _app, client = site
    html = client.get("/admin/?since=2026-03-01&until=2026-03-03").get_data(as_text=True)
    charts = re.findall(r'<svg class="chart" id="([^"]+)" role="img" aria-labelledby="\1-title \1-desc"', html)
    kinds = ("views", "submissions", "conversion")
    assert charts == [f"chart-{scope}-{kind}" for scope in ("all", "growth-playbook") for kind in kinds]
    assert '<title id="chart-all-views-title">All offers: views per day</title>' in html
    assert "100 views from 2026-03-01 to 2026-03-03; the most on 2026-03-03." in html
    assert "4 submissions from 2026-03-01 to 2026-03-03; the most on 2026-03-01 (2)." in html
    assert "<script" not in html.split("<body", 1)[1].split("</main>", 1)[0]  # no JavaScript drew them
    daily = re.search(r"<details>\s*<summary>The numbers of All offers, day by day</summary>(.*?)</details>", html, re.S).group(1)
    rows = re.findall(
        r'<tr><th scope="row">([\d-]+)</th><td class="num">(\d+)</td><td class="num">(\d+)</td><td class="num">([^<]+)</td>', daily
    )
    assert rows == [("2026-03-01", "40", "2", "5.0%"), ("2026-03-02", "0", "1", "–"), ("2026-03-03", "60", "1", "1.7%")]


def test_breakdowns_funnel_and_cost_per_lead(site) -> None:
    _app, client = site
    html = client.get("/admin/?since=2026-03-01&until=2026-03-31").get_data(as_text=True)
    for dimension in ("source", "medium", "campaign", "referrer", "device"):
        assert f'<table id="breakdown-{dimension}" class="breakdown">' in html
    campaign = re.search(r'<table id="breakdown-campaign".*?</table>', html, re.S).group(0)
    spring = re.search(r'<tr data-value="spring">(.*?)</tr>', campaign, re.S).group(1)
    assert re.findall(r'data-col="[^"]+">([^<]*)<', spring) == ["40", "3", "7.5%", "120.00 EUR", "40.00 EUR"]
    autumn = re.search(r'<tr data-value="autumn">(.*?)</tr>', campaign, re.S).group(1)  # paid, brought nobody
    assert re.findall(r'data-col="[^"]+">([^<]*)<', autumn) == ["0", "0", "–", "50.50 USD", "–"]
    device = re.search(r'<table id="breakdown-device".*?</table>', html, re.S).group(0)
    assert re.search(r'<tr data-value="phone">\s*<th scope="row">phone</th>\s*<td class="num" data-col="views">40</td>', device)
    store = services_of(site[0]).store
    for sid, seconds in ((1, 30), (2, 90)):
        box = store.enqueue_email(submission_id=sid, contact_id=None, kind="delivery", to_addr="p@example.com", subject="s", now="x")
        made = store.get_submission(sid)["created_at"]
        assert store.mark_attempt(box, at=made.replace("T09:00:00", f"T09:0{seconds // 60}:{seconds % 60:02d}"), ok=True)
    html = client.get("/admin/?since=2026-03-01&until=2026-03-31").get_data(as_text=True)
    funnel = re.search(r'<tr data-funnel="growth-playbook">(.*?)</tr>', html, re.S).group(1)
    assert re.search(r'data-col="response-median">30 s<', funnel) and re.search(r'data-col="response-p95">1.5 min<', funnel)
    assert re.search(r'data-col="submissions">4 ', funnel) and re.search(r'data-col="confirmed">4<', funnel)


def test_a_webinars_funnel_counts_attended_once_an_attendee_report_names_its_leads(site) -> None:
    app, client = site
    store = services_of(app).store
    made = [
        store.record_submission(
            offer_slug="q1-product-demo", offer_type="webinar", email=f"w{i}@example.com", fields={}, now="2026-03-02T10:00:00.000000+00:00"
        )["submission"]
        for i in range(3)
    ]

    def delivered() -> str:
        html = client.get("/admin/?since=2026-03-01&until=2026-03-31").get_data(as_text=True)
        return re.search(r'<tr data-funnel="q1-product-demo">.*?data-col="delivered">(.*?)</td>', html, re.S).group(1)

    assert delivered() == "3 <small>seated</small>"  # no attendee report yet: attendance is not known
    store.mark_attendance(made[0]["id"], "attended")
    store.mark_attendance(made[1]["id"], "no-show")
    assert delivered() == '3 <small>seated</small>, <span data-col="attended">1</span> <small>attended</small>'
    rows = list(
        csv.DictReader(io.StringIO(client.get("/admin/dashboard/funnel.csv?since=2026-03-01&until=2026-03-31").get_data(as_text=True)))
    )
    webinar = next(r for r in rows if r["offer"] == "q1-product-demo")
    assert (webinar["delivered"], webinar["delivered_as"], webinar["attended"]) == ("3", "seated", "1")
    assert next(r for r in rows if r["offer"] == "growth-playbook")["attended"] == ""


def test_every_table_downloads_as_csv_with_formulas_made_inert(site) -> None:
    _app, client = site
    response = client.get("/admin/dashboard/campaign.csv?since=2026-03-01&until=2026-03-31")
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="dashboard-campaign.csv"'
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["campaign", "views", "submissions", "conversion", "spend", "currency", "cost_per_lead"]
    assert ["spring", "40", "3", "0.0750", "120.00", "EUR", "40.00"] in rows
    assert ['\'=hyperlink("http://evil.example")', "0", "1", "", "", "", ""] in rows
    daily = list(csv.reader(io.StringIO(client.get("/admin/dashboard/daily.csv?since=2026-03-01&until=2026-03-02").get_data(as_text=True))))
    assert daily[:3] == [
        ["offer", "day", "views", "submissions", "conversion"],
        ["(all offers)", "2026-03-01", "40", "2", "0.0500"],
        ["(all offers)", "2026-03-02", "0", "1", ""],
    ]
    for table in ("source", "medium", "referrer", "device", "funnel"):
        assert client.get(f"/admin/dashboard/{table}.csv").status_code == 200
    assert client.get("/admin/dashboard/contacts.csv").status_code == 404
    assert client.get("/admin/dashboard/daily.csv?since=soon").status_code == 400


def test_a_malformed_campaigns_table_is_named_on_the_dashboard(make_app) -> None:
    app = make_app(WTF_CSRF_ENABLED=False, ADMIN_LOGIN_LIMIT="off", CAMPAIGNS={"spring": {"spend": "lots", "currency": "EUR"}})
    html = log_in(app).get("/admin/").get_data(as_text=True)
    assert "instance/config.toml [campaigns] &#39;spring&#39;: spend must be a number such as 1200 or 350.50, not &#39;lots&#39;" in html


def test_landing_page_views_carry_medium_campaign_referrer_and_device(make_app) -> None:
    app = make_app()
    client, store = app.test_client(), services_of(app).store
    client.get(
        "/growth-playbook?utm_source=News&utm_medium=Email&utm_campaign=Spring",
        headers={"Referer": "https://www.google.com/x", "User-Agent": IPHONE},
    )
    client.get("/growth-playbook", headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64)"})
    client.post(
        "/beacon", data={"slug": "growth-playbook", "utm_medium": "cpc", "referrer": "https://bing.com/"}, headers={"User-Agent": IPHONE}
    )
    assert services_of(app).page_views.flush() == 3
    views = {
        (r["dimension"], r["value"]): r["views"]
        for r in store.query("SELECT dimension, value, sum(views) AS views FROM page_view_details GROUP BY 1, 2")
    }
    assert views == {
        ("medium", "email"): 1,
        ("medium", "cpc"): 1,
        ("medium", ""): 1,
        ("campaign", "spring"): 1,
        ("campaign", ""): 2,
        ("referrer", "google.com"): 1,
        ("referrer", "bing.com"): 1,
        ("referrer", ""): 1,
        ("device", "phone"): 2,
        ("device", "desktop"): 1,
    }
    assert sorted((r["utm_source"], r["views"]) for r in store.page_views()) == [("", 2), ("news", 1)]


def test_the_chart_range_and_percentiles() -> None:
    assert day_span("2026-02-27", "2026-03-02", []) == ["2026-02-27", "2026-02-28", "2026-03-01"]
    assert day_span(None, "2026-01-03", ["2026-01-01"]) == ["2026-01-01", "2026-01-02"]
    assert day_span(None, None, []) == []
    assert len(day_span("2020-01-01", "2026-01-01", [])) == 731  # the last two years of a long range
    assert percentile([5, 1, 3, 2, 4], 0.5) == 3 and percentile(list(range(1, 101)), 0.95) == 95 and percentile([], 0.5) is None
