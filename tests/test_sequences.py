"""Follow-up sequences end to end: a real HTTP server takes the submissions, the sender runs with an
injected clock, and a real SMTP server (aiosmtpd) receives the emails."""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from leadmagnet.cli import cli
from leadmagnet.web import services_of
from leadmagnet.web.admin import add_admin
from tests.support.content import csrf_token, write_ebook
from tests.support.servers import start_live_server
from tests.support.smtp import body_text

pytestmark = pytest.mark.both_backends

DATA = b"%PDF-1.4\n%%EOF\n"
SEQUENCE = """sequence:
  - after: 30 minutes
    subject: "Tip 1: start here"
    body: |
      The **first** tip.
  - after: P2D
    subject: "Tip 2: go further"
    body: The second tip.
  - after: 5 days
    subject: "Tip 3: the last one"
    file: _emails/tip-3.md"""


def post(url: str, data: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=urllib.parse.urlencode(data).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


@pytest.fixture
def site(make_app, content_dir, smtp_server):
    (content_dir / "_emails").mkdir()
    (content_dir / "_emails" / "tip-3.md").write_text("The *third* tip, from a file.\n", encoding="utf-8")
    write_ebook(content_dir, "playbook", DATA, extra=SEQUENCE + "\nstop_when: [demo]")
    write_ebook(content_dir, "demo", DATA, filename="demo.pdf")
    app = make_app(RATE_LIMIT="off", SITE_NAME="Acme", **smtp_server.settings())
    server = start_live_server(app)
    try:
        yield server
    finally:
        server.stop()


def at(site, now: datetime) -> None:
    """One pass of the sender at ``now`` (the injected clock); nothing may fail."""
    report = services_of(site.app).deliveries.send_once(now)
    assert report.failed == 0 and report.retried == 0


def subjects(smtp_server, to: str) -> list[str]:
    return [m["Subject"] for m in smtp_server.inbox.messages if m["To"] == to]


def test_the_sequence_arrives_in_order_and_nothing_after_unsubscribing(site, smtp_server) -> None:
    start = datetime.now(UTC)
    assert post(f"{site.url}/playbook", {"email": "ann@example.com", "first_name": "Ann"}) == 200
    assert post(f"{site.url}/playbook", {"email": "bob@example.com"}) == 200
    at(site, datetime.now(UTC))
    assert subjects(smtp_server, "ann@example.com") == ["Your copy of Ebook playbook"]
    at(site, start + timedelta(minutes=29))
    assert len(smtp_server.inbox.messages) == 2  # not due yet
    at(site, start + timedelta(minutes=31))
    assert subjects(smtp_server, "ann@example.com") == ["Your copy of Ebook playbook", "Tip 1: start here"]
    tip = next(m for m in smtp_server.inbox.messages if m["Subject"] == "Tip 1: start here" and m["To"] == "ann@example.com")
    assert "Hi Ann," in body_text(tip) and "The **first** tip." in body_text(tip)
    assert "<strong>first</strong>" in body_text(tip, "html")
    assert tip["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = tip["List-Unsubscribe"].strip()[1:-1]
    assert unsubscribe in body_text(tip)
    at(site, start + timedelta(days=2, minutes=1))
    assert subjects(smtp_server, "ann@example.com")[1:] == ["Tip 1: start here", "Tip 2: go further"]
    # Ann's mail program unsubscribes with one click (RFC 8058): nothing more reaches her.
    assert post(unsubscribe, {"List-Unsubscribe": "One-Click"}) == 200
    at(site, start + timedelta(days=5, minutes=1))
    at(site, start + timedelta(days=30))
    assert subjects(smtp_server, "ann@example.com")[1:] == ["Tip 1: start here", "Tip 2: go further"]
    assert subjects(smtp_server, "bob@example.com")[1:] == ["Tip 1: start here", "Tip 2: go further", "Tip 3: the last one"]
    third = next(m for m in smtp_server.inbox.messages if m["Subject"] == "Tip 3: the last one")
    assert "<em>third</em>" in body_text(third, "html")
    store = services_of(site.app).store
    ann = store.get_contact_by_email("ann@example.com")
    [where] = services_of(site.app).deliveries.sequences.positions(ann["id"])
    assert where["status"] == "stopped" and where["stopped_reason"] == "unsubscribed" and where["sent"] == 2


def test_submitting_a_stop_when_offer_stops_the_sequence(site, smtp_server) -> None:
    start = datetime.now(UTC)
    post(f"{site.url}/playbook", {"email": "cy@example.com"})
    at(site, start + timedelta(minutes=31))
    post(f"{site.url}/demo", {"email": "cy@example.com"})  # asked for a demo: the nurturing has done its job
    at(site, start + timedelta(days=10))
    assert [s for s in subjects(smtp_server, "cy@example.com") if s.startswith("Tip")] == ["Tip 1: start here"]
    contact = services_of(site.app).store.get_contact_by_email("cy@example.com")
    [where] = services_of(site.app).deliveries.sequences.positions(contact["id"])
    assert where["status"] == "stopped" and where["summary"] == "stopped (submitted demo) after 1 sent"
    # Someone who asked for the demo first never starts the sequence.
    post(f"{site.url}/demo", {"email": "dan@example.com"})
    post(f"{site.url}/playbook", {"email": "dan@example.com"})
    at(site, start + timedelta(days=20))
    assert not [s for s in subjects(smtp_server, "dan@example.com") if s.startswith("Tip")]


def test_an_edit_changes_only_the_emails_not_yet_sent(site, smtp_server, content_dir) -> None:
    start = datetime.now(UTC)
    post(f"{site.url}/playbook", {"email": "dee@example.com"})
    at(site, start + timedelta(minutes=31))
    at(site, start + timedelta(days=2, minutes=1))
    assert [s for s in subjects(smtp_server, "dee@example.com") if s.startswith("Tip")] == ["Tip 1: start here", "Tip 2: go further"]
    # The marketer fixes the sent emails' subjects, adds one before Dee's place, one after it, and
    # moves the last one later.
    edited = """sequence:
  - after: 30 minutes
    subject: "Tip 1: start right here"
    body: Edited.
  - after: 1 day
    subject: "Tip 1b: added in between"
    body: New.
  - after: 2 days
    subject: "Tip 2: go further still"
    body: Edited.
  - after: 3 days
    subject: "Tip 2b: added after"
    body: New.
  - after: 6 days
    subject: "Tip 3: the last one"
    file: _emails/tip-3.md"""
    write_ebook(content_dir, "playbook", DATA, extra=edited)
    at(site, start + timedelta(days=5, minutes=1))
    at(site, start + timedelta(days=6, minutes=1))
    assert [s for s in subjects(smtp_server, "dee@example.com") if s.startswith("Tip")] == [
        "Tip 1: start here",
        "Tip 2: go further",
        "Tip 2b: added after",
        "Tip 3: the last one",
    ]
    at(site, start + timedelta(days=60))
    assert len([s for s in subjects(smtp_server, "dee@example.com") if s.startswith("Tip")]) == 4  # nothing twice


def test_erasing_a_person_ends_their_sequence_without_a_trace(site, smtp_server) -> None:
    start = datetime.now(UTC)
    post(f"{site.url}/playbook", {"email": "eve@example.com"})
    at(site, start + timedelta(minutes=31))
    services = services_of(site.app)
    assert services.erasure.erase("eve@example.com") is not None
    assert services.store.query("SELECT * FROM sequence_progress") == []
    assert services.store.query("SELECT * FROM score_events") == []  # their score went with them
    at(site, start + timedelta(days=10))
    assert [s for s in subjects(smtp_server, "eve@example.com") if s.startswith("Tip")] == ["Tip 1: start here"]


def test_a_sequence_waits_for_the_double_opt_in(make_app, content_dir) -> None:
    write_ebook(content_dir, "checked", DATA, extra=SEQUENCE.replace("file: _emails/tip-3.md", "body: Three.") + "\ndouble_opt_in: true")
    app = make_app(RATE_LIMIT="off")
    client = app.test_client()
    client.post("/checked", data={"email": "fay@example.com"})
    services = services_of(app)
    services.deliveries.send_once(datetime.now(UTC) + timedelta(days=10))
    kinds = [row["kind"] for row in services.store.outbox()]
    assert kinds == ["confirm"]  # unconfirmed: no follow-up emails
    assert services.store.query("SELECT * FROM sequence_progress") == []


def test_where_each_person_is_shows_in_the_admin_and_the_cli(site, cli_runner) -> None:
    start = datetime.now(UTC)
    post(f"{site.url}/playbook", {"email": "gus@example.com"})
    at(site, start + timedelta(minutes=31))
    config = site.app.config
    result = cli_runner.invoke(
        cli,
        ["--instance", config["INSTANCE_DIR"], "--content", config["CONTENT_DIR"], "contact", "gus@example.com"],
        env={"LEADMAGNET_DATABASE": config["DATABASE"]},
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    [where] = record["sequences"]
    assert (where["offer_slug"], where["sent"], where["total"], where["next"]) == ("playbook", 1, 3, "Tip 2: go further")
    assert where["summary"].startswith('1 of 3 sent; next "Tip 2: go further" at ')
    assert record["score"]["stage"] == "subscriber" and record["score"]["score"] == 10

    add_admin(services_of(site.app).store, "boss@example.com", "correct horse battery staple")
    client = site.app.test_client()
    token = csrf_token(client.get("/admin/login").get_data(as_text=True))
    client.post("/admin/login", data={"email": "boss@example.com", "password": "correct horse battery staple", "csrf_token": token})
    contact_id = services_of(site.app).store.get_contact_by_email("gus@example.com")["id"]
    page = client.get(f"/admin/contacts/{contact_id}").get_data(as_text=True)
    sequences = re.search(r'<ul id="sequences">(.*?)</ul>', page, flags=re.S).group(1)
    assert "Ebook playbook: 1 of 3 sent; next “Tip 2: go further”" in sequences
