"""Lead scoring and lifecycle stages: a contact moved from subscriber to MQL (and SQL) by real events,
over HTTP, an attendee report and the admin, and found at each stage in the CRM exports and in the
webhook payloads a real receiver on 127.0.0.1 gets."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest

from leadmagnet.cli import cli
from leadmagnet.delivery.endpoints import EVENTS, new_secret
from leadmagnet.delivery.scoring import score_and_stage
from leadmagnet.export import writer as export
from leadmagnet.leads.attendance import read_report
from leadmagnet.leads.scoring import DEFAULTS, ScoringError, ScoringRules
from leadmagnet.store.reports import Filters
from leadmagnet.web import services_of
from leadmagnet.web.admin import add_admin
from tests.support.content import csrf_token, write_ebook, write_webinar
from tests.support.receiver import Receiver

pytestmark = pytest.mark.both_backends

PASSWORD = "correct horse battery staple"
SCORING = """[scoring]
submission_tofu = 10
download = 5
submission_mofu = 20
webinar_registration = 10
further_offer = 10
attended = 25
lead_at = 15
mql_at = 60
"""


@pytest.fixture
def receiver():
    started = Receiver(secret=new_secret(), answers=[200]).start()
    yield started
    started.stop()


@pytest.fixture
def app(make_app, content_dir, instance_dir, receiver):
    instance_dir.mkdir(parents=True, exist_ok=True)
    (instance_dir / "config.toml").write_text(SCORING, encoding="utf-8")
    write_ebook(content_dir, "playbook", b"%PDF-1.4\n%%EOF\n", extra="stage: tofu")
    write_webinar(content_dir, "demo", (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0), replay=True, extra="stage: mofu")
    hook = {"url": receiver.url, "secret": receiver.secret, "events": list(EVENTS)}
    app = make_app(RATE_LIMIT="off", WTF_CSRF_ENABLED=True, ADMIN_LOGIN_LIMIT="off", WEBHOOK_ALLOW_PRIVATE=True, WEBHOOKS=[hook])
    add_admin(services_of(app).store, "boss@example.com", PASSWORD)
    return app


def exported(app, preset: str) -> dict[str, str]:
    """Ada's row in a contacts export with ``preset``, header to cell."""
    buf = io.StringIO()
    export.export(services_of(app).store, export.ExportRequest(preset=preset, split=0, filters=Filters()), buf)
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    return next(row for row in rows if "ada@example.com" in row.values())


def stage(app) -> tuple[int, str]:
    store = services_of(app).store
    found = score_and_stage(store, store.get_contact_by_email("ada@example.com")["id"])
    return found["score"], found["stage"]


def test_a_contact_moves_from_subscriber_to_mql_and_every_export_says_so(app, receiver, tmp_path) -> None:
    client = app.test_client()
    page = client.post("/playbook", data={"email": "ada@example.com", "first_name": "Ada"}, follow_redirects=True).get_data(as_text=True)
    assert stage(app) == (10, "subscriber")
    assert exported(app, "hubspot")["Lifecycle Stage"] == "subscriber"
    assert exported(app, "salesforce")["Rating"] == "Cold"

    download = re.search(r'href="http://127\.0\.0\.1:5000(/download/[^"]+)"', page).group(1)
    assert client.get(download).status_code == 200
    assert client.get(download).status_code == 200  # a second download of the same file scores nothing more
    assert stage(app) == (15, "lead")
    assert exported(app, "hubspot")["Lifecycle Stage"] == "lead"
    assert exported(app, "salesforce")["Rating"] == "Warm"

    client.post("/demo", data={"email": "ada@example.com"})  # mofu 20 + registration 10 + a further offer 10
    assert stage(app) == (55, "lead")

    report = tmp_path / "zoom.csv"
    report.write_text("Attended,User Name (Original Name),Email\nYes,Ada,ADA@example.com\n", encoding="utf-8")
    after = datetime.now(UTC) + timedelta(hours=4)
    done = services_of(app).deliveries.record_attendance(services_of(app).catalog.get("demo").offer, read_report(report), now=after)
    assert (done.attended, done.no_shows) == (1, 0)
    assert stage(app) == (80, "mql")

    hubspot, salesforce, mailchimp = (exported(app, name) for name in ("hubspot", "salesforce", "mailchimp"))
    assert hubspot["Lifecycle Stage"] == "marketingqualifiedlead" and hubspot["Lead magnet score"] == "80"
    assert (salesforce["Rating"], salesforce["Lead Status"]) == ("Hot", "Open - Not Contacted")
    assert "stage: MQL" in mailchimp["Tags"].split(", ")
    generic = exported(app, "generic")
    assert (generic["score"], generic["lifecycle_stage"]) == ("80", "mql")

    # Each webhook event carries the score and stage as they were when it happened.
    assert client.get(download).status_code == 200  # an event after the attendance: its payload says MQL
    services_of(app).deliveries.send_once()
    assert all(r.verified and r.answered == 200 for r in receiver.received)
    assert [(r.type, r.body["data"]["contact"]["score"], r.body["data"]["contact"]["stage"]) for r in receiver.received] == [
        ("lead.created", 10, "subscriber"),
        ("download.completed", 15, "lead"),
        ("download.completed", 15, "lead"),
        ("lead.created", 55, "lead"),
        ("registration.created", 55, "lead"),
        ("download.completed", 80, "mql"),
    ]

    # The marketer marks Ada sales-qualified in the admin (a CSRF-protected form).
    token = csrf_token(client.get("/admin/login").get_data(as_text=True))
    client.post("/admin/login", data={"email": "boss@example.com", "password": PASSWORD, "csrf_token": token})
    contact_id = services_of(app).store.get_contact_by_email("ada@example.com")["id"]
    assert client.post(f"/admin/contacts/{contact_id}/sales-qualified").status_code == 400  # no token: nothing happens
    assert stage(app) == (80, "mql")
    page = client.get(f"/admin/contacts/{contact_id}").get_data(as_text=True)
    assert "Score 80: Marketing-qualified lead (MQL)" in page
    token = csrf_token(page)
    assert client.post(f"/admin/contacts/{contact_id}/sales-qualified", data={"csrf_token": token}).status_code == 303
    assert stage(app) == (80, "sql")
    hubspot, salesforce = exported(app, "hubspot"), exported(app, "salesforce")
    assert hubspot["Lifecycle Stage"] == "salesqualifiedlead"
    assert (salesforce["Rating"], salesforce["Lead Status"]) == ("Hot", "Working - Contacted")
    assert "stage: SQL" in exported(app, "mailchimp")["Tags"]
    assert services_of(app).store.audit_entries(limit=1)[0]["action"] == "sales_qualified"


def test_the_leads_list_sorts_by_score(app) -> None:
    client = app.test_client()
    store = services_of(app).store
    for name in ("low", "high", "mid"):
        client.post("/playbook", data={"email": f"{name}@example.com"})
    for name, points in (("high", 50), ("mid", 20)):
        store.add_points(store.get_contact_by_email(f"{name}@example.com")["id"], key="test", event="test", points=points, now=store.now())
    token = csrf_token(client.get("/admin/login").get_data(as_text=True))
    client.post("/admin/login", data={"email": "boss@example.com", "password": PASSWORD, "csrf_token": token})
    page = client.get("/admin/leads?sort=score").get_data(as_text=True)
    assert re.findall(r">(\w+)@example\.com</a>", page) == ["high", "mid", "low"]
    assert re.findall(r'data-col="score">(\d+)<', page) == ["60", "30", "10"]
    newest = client.get("/admin/leads").get_data(as_text=True)
    assert re.findall(r">(\w+)@example\.com</a>", newest) == ["mid", "high", "low"]


def test_pages_sorted_by_score_follow_on_without_a_gap(app) -> None:
    store = services_of(app).store
    for i in range(7):
        store.record_submission(offer_slug="playbook", offer_type="ebook", email=f"p{i}@example.com", fields={})
        store.add_points(store.get_contact_by_email(f"p{i}@example.com")["id"], key="k", event="e", points=i % 3, now=store.now())
    seen, before, score = [], None, None
    while True:
        rows = store.list_leads(Filters(), before_id=before, limit=3, by_score=True, below_score=score)
        if not rows:
            break
        seen += [(row["score"], row["id"]) for row in rows]
        before, score = rows[-1]["id"], rows[-1]["score"]
    assert seen == sorted(seen, reverse=True) and len(seen) == 7


def test_decay_takes_whole_days_off_but_never_the_stage(make_app, instance_dir) -> None:
    instance_dir.mkdir(parents=True, exist_ok=True)
    (instance_dir / "config.toml").write_text("[scoring]\ndecay_per_day = 2\nlead_at = 10\n", encoding="utf-8")
    app = make_app()
    store = services_of(app).store
    store.record_submission(offer_slug="x", offer_type="ebook", email="d@example.com", fields={})
    contact = store.get_contact_by_email("d@example.com")
    start = datetime(2027, 1, 1, tzinfo=UTC)
    store.add_points(contact["id"], key="a", event="a", points=12, now=start.isoformat(timespec="microseconds"), decay_per_day=2)
    store.raise_stage(contact["id"], "lead")
    deliveries = services_of(app).deliveries
    assert deliveries.decay_scores(start + timedelta(hours=23)) == 0
    assert deliveries.decay_scores(start + timedelta(days=3, hours=1)) == 1
    assert store.get_contact(contact["id"])["score"] == 6
    assert deliveries.decay_scores(start + timedelta(days=3, hours=1, minutes=30)) == 0  # at most once an hour
    store.add_points(
        contact["id"], key="b", event="b", points=1, now=(start + timedelta(days=20)).isoformat(timespec="microseconds"), decay_per_day=2
    )
    after = store.get_contact(contact["id"])
    assert (after["score"], after["lifecycle_stage"]) == (1, "lead")  # decayed to 0, then +1; a stage never moves back


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"downlaod": 5}, "unknown key 'downlaod' (did you mean 'download'?)"),
        ({"download": -1}, "download = -1 is not a whole number of 0 or more (such as download = 5)"),
        ({"attended": "lots"}, "attended = 'lots' is not a whole number"),
        ({"lead_at": 90, "mql_at": 50}, "lead_at (90) is above mql_at (50)"),
    ],
)
def test_a_bad_scoring_table_says_which_key_and_what_to_write(table, message) -> None:
    with pytest.raises(ScoringError, match=re.escape(message)):
        ScoringRules.from_config(table)


def test_defaults_and_a_bad_config_stops_the_cli_with_its_message(cli_runner, content_dir, instance_dir) -> None:
    assert ScoringRules.from_config(None).values == DEFAULTS
    rules = ScoringRules()
    assert [rules.stage_for(s) for s in (0, 14, 15, 49, 50)] == ["subscriber", "subscriber", "lead", "lead", "mql"]
    instance_dir.mkdir(parents=True, exist_ok=True)
    (instance_dir / "config.toml").write_text("[scoring]\nmql_at = 'high'\n", encoding="utf-8")
    result = cli_runner.invoke(cli, ["--instance", str(instance_dir), "--content", str(content_dir), "contact", "a@example.com"])
    assert result.exit_code == 1 and "instance/config.toml [scoring]: mql_at = 'high' is not a whole number" in result.output
