"""The A/B report (``experiments/report.py``): counts from the store, the daily looks, the period,
the sample-ratio check, ``leadmagnet report`` errors, and the dashboard's section in words."""

from __future__ import annotations

import json

import pytest

from leadmagnet.cli import cli
from leadmagnet.web import services_of
from leadmagnet.web.admin import add_admin
from tests.test_assignment import write_test_offer

PASSWORD = "correct horse battery staple"

pytestmark = pytest.mark.both_backends


@pytest.fixture(autouse=True)
def cli_database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI opens the test's database, on either backend."""
    if "make_app" in request.fixturenames:
        monkeypatch.setenv("LEADMAGNET_DATABASE", request.getfixturevalue("database"))


def record(store, day: str, views: dict[str, int], submissions: dict[str, int]) -> None:
    """One day of a test: views per variant, and that many submissions per variant at noon."""
    store.add_variant_views({("split-guide", day, name): n for name, n in views.items()})
    for name, n in submissions.items():
        for i in range(n):
            store.record_submission(
                offer_slug="split-guide",
                offer_type="ebook",
                email=f"{day}-{name}-{i}@example.com",
                fields={},
                meta={"variant": name},
                now=f"{day}T12:00:00.000000+00:00",
            )


def test_report_counts_per_variant_and_finds_the_winner(content_dir, make_app) -> None:
    write_test_offer(content_dir, weights=(1, 1))
    app = make_app()
    store = services_of(app).store
    record(store, "2026-11-01", {"a": 1500, "b": 1500}, {"a": 150, "b": 200})
    record(store, "2026-11-02", {"a": 1500, "b": 1500}, {"a": 156, "b": 193})
    report = services_of(app).ab.report()
    (offer,) = report["offers"]
    assert [(v["name"], v["views"], v["submissions"]) for v in offer["variants"]] == [("a", 3000, 306), ("b", 3000, 393)]
    b = offer["variants"][1]
    assert b["conversion_rate"] == 0.131 and b["change"]["significant"] and b["change"]["interval"][0] > 0
    assert offer["decision"]["winner"] == "b" and offer["decision"]["reason"].startswith("b converts better: 13.1% vs 10.2% for a")
    assert offer["srm"] is False and offer["status"] == "running"
    # The period: only the first day.
    (first,) = services_of(app).ab.report(since="2026-11-01", until="2026-11-02")["offers"]
    assert [(v["views"], v["submissions"]) for v in first["variants"]] == [(1500, 150), (1500, 200)]


def test_a_split_off_the_weights_blocks_the_decision(content_dir, make_app) -> None:
    write_test_offer(content_dir, weights=(1, 1))
    app = make_app()
    store = services_of(app).store
    record(store, "2026-11-01", {"a": 1000, "b": 1300}, {"a": 100, "b": 300})
    (offer,) = services_of(app).ab.report()["offers"]
    assert offer["srm"] is True and offer["srm_p"] < 0.001
    assert offer["decision"]["winner"] is None and offer["decision"]["status"] == "srm"
    assert "do not match the weights 1:1" in offer["decision"]["reason"]


def test_report_cli_names_a_wrong_offer(cli_runner, content_dir, instance_dir) -> None:
    write_test_offer(content_dir)
    base = ["--content", str(content_dir), "--instance", str(instance_dir), "report"]
    unknown = cli_runner.invoke(cli, [*base, "--offer", "nope"])
    assert unknown.exit_code == 1 and "--offer nope: no offer has that slug (offers with an A/B test: split-guide)" in unknown.output
    untested = cli_runner.invoke(cli, [*base, "--offer", "growth-playbook"])
    assert untested.exit_code == 1 and "content/growth-playbook.md has no variants:" in untested.output
    bad_date = cli_runner.invoke(cli, [*base, "--since", "yesterday"])
    assert bad_date.exit_code == 2 and "is not an ISO 8601 date" in bad_date.output
    empty = cli_runner.invoke(cli, [*base, "--json"])
    assert empty.exit_code == 0 and json.loads(empty.output)["offers"][0]["decision"]["status"] == "waiting"


def test_dashboard_shows_each_test_with_the_decision_in_words(content_dir, make_app) -> None:
    write_test_offer(content_dir, weights=(1, 1))
    app = make_app(WTF_CSRF_ENABLED=False, ADMIN_LOGIN_LIMIT="off")
    store = services_of(app).store
    add_admin(store, "boss@example.com", PASSWORD)
    record(store, "2026-11-01", {"a": 400, "b": 400}, {"a": 40, "b": 44})
    client = app.test_client()
    assert client.post("/admin/login", data={"email": "boss@example.com", "password": PASSWORD}).status_code == 303
    html = client.get("/admin/").get_data(as_text=True)
    assert 'id="ab-tests"' in html and '<table class="ab" data-offer="split-guide">' in html
    assert '<tr data-variant="b">' in html and '<td class="num" data-col="views">400</td>' in html
    assert "no winner yet: about " in html and "more visitors needed" in html


def test_the_dashboards_ab_section_counts_the_same_utc_days_as_its_charts(content_dir, make_app) -> None:
    write_test_offer(content_dir, weights=(1, 1))
    app = make_app(WTF_CSRF_ENABLED=False, ADMIN_LOGIN_LIMIT="off", ADMIN_TIMEZONE="Europe/Berlin")
    store = services_of(app).store
    add_admin(store, "boss@example.com", PASSWORD)
    record(store, "2026-11-01", {"a": 400, "b": 400}, {"a": 40, "b": 44})
    record(store, "2026-11-02", {"a": 100, "b": 100}, {"a": 10, "b": 10})
    client = app.test_client()
    assert client.post("/admin/login", data={"email": "boss@example.com", "password": PASSWORD}).status_code == 303
    html = client.get("/admin/?since=2026-11-01&until=2026-11-01").get_data(as_text=True)
    table = html.split('<table class="ab" data-offer="split-guide">', 1)[1].split("</table>", 1)[0]
    b = table.split('<tr data-variant="b">', 1)[1].split("</tr>", 1)[0]
    # The day's views and the day's leads: not Berlin's hours, which would take no view of 1 November.
    assert '<td class="num" data-col="views">400</td>' in b and '<td class="num" data-col="submissions">44</td>' in b


def test_leads_per_variant_and_day_come_from_a_roll_up_the_database_keeps(tmp_path) -> None:
    """Built from the submissions on upgrade, then kept by triggers: a lead, spam, "Not spam", an erasure."""
    from leadmagnet.store import Store

    def lead(store: Store, i: int, variant: str | None, day: str, spam: bool = False) -> int:
        return store.record_submission(
            offer_slug="split-guide",
            offer_type="ebook",
            email=f"v{i}@example.com",
            fields={},
            meta={"variant": variant},
            spam_reason="honeypot" if spam else None,
            now=f"{day}T12:00:00.000000+00:00",
        )["submission"]["id"]

    def leads(store: Store) -> dict[tuple[str, str], int]:
        return {(r["day"], r["variant"]): r["submissions"] for r in store.variant_days("split-guide") if r["submissions"]}

    old = Store(tmp_path / "old.db")
    old.migrate(stop_before="m014_variant_rollup")
    for i, (variant, day) in enumerate([("a", "2026-11-01"), ("b", "2026-11-01"), ("b", "2026-11-02"), (None, "2026-11-02")]):
        lead(old, i, variant, day)
    lead(old, 9, "b", "2026-11-02", spam=True)
    assert old.migrate()[0] == "m014_variant_rollup"  # then any later ones
    assert leads(old) == {("2026-11-01", "a"): 1, ("2026-11-01", "b"): 1, ("2026-11-02", "b"): 1}
    spam = lead(old, 10, "a", "2026-11-03", spam=True)
    assert ("2026-11-03", "a") not in leads(old)  # spam is not a lead
    assert old.release_spam(spam, "released") is not None
    assert leads(old)[("2026-11-03", "a")] == 1  # "Not spam" makes it one
    old.erase_contact("v1@example.com")
    assert leads(old) == {("2026-11-01", "a"): 1, ("2026-11-02", "b"): 1, ("2026-11-03", "a"): 1}
    assert old.query("SELECT count(*) AS n FROM variant_lead_days WHERE submissions = 0") == [{"n": 0}]  # no empty rows linger
    assert leads(old) == {  # the same as counting the table
        (r["day"], r["variant"]): r["n"]
        for r in old.query(
            "SELECT substr(created_at, 1, 10) AS day, variant, count(*) AS n FROM submissions WHERE variant IS NOT NULL AND spam = 0 GROUP BY 1, 2"
        )
    }
