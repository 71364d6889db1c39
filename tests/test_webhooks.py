"""Webhooks end to end: events made over HTTP, delivered by the sender to a real receiver on
127.0.0.1 that verifies every Standard Webhooks signature; retries on an injected clock.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from leadmagnet.delivery.endpoints import EVENTS, new_secret
from leadmagnet.delivery.plan import links, unsubscribe_url
from leadmagnet.delivery.webhooks import MAX_BODY, body_of, event_data
from leadmagnet.web import services_of
from tests.support.content import write_ebook, write_webinar
from tests.support.receiver import Receiver

pytestmark = pytest.mark.both_backends

DATA = b"%PDF-1.4\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"
HOUR = timedelta(hours=1)


@pytest.fixture
def receiver():
    started = Receiver(secret=new_secret(), answers=[500, 500, 200]).start()
    yield started
    started.stop()


@pytest.fixture
def hooked(make_app, content_dir, receiver):
    """An app with an ebook, a double opt-in ebook and a one-seat webinar, whose events go to ``receiver``."""
    write_ebook(content_dir, "handbook", DATA, filename="handbook.pdf", extra="tags: [b2b]\nstage: mofu")
    write_ebook(content_dir, "checked", DATA, filename="checked.pdf", extra="double_opt_in: true")
    write_webinar(content_dir, "live-demo", (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0), capacity=1)

    def build(**overrides):
        hook = {"url": receiver.url, "secret": receiver.secret, "events": list(EVENTS)}
        settings = {"RATE_LIMIT": "off", "WEBHOOK_ALLOW_PRIVATE": True, "WEBHOOKS": [hook], **overrides}
        return make_app(**settings)

    return build


def submit(client, slug: str, email: str, **fields: str):
    return client.post(f"/{slug}", data={"email": email, "first_name": "Ada", "company": "Acme", **fields})


def path_of(url: str) -> str:
    return urlsplit(url).path


def deliver_all(services, start: datetime, passes: int = 60) -> int:
    """Run sender passes an hour apart (an injected clock) until nothing is queued; how many passes it took."""
    for n in range(passes):
        services.deliveries.send_once(start + n * HOUR)
        counts = services.store.webhook_counts()
        if not any(c.get("queued") or c.get("sending") for c in counts.values()):
            return n + 1
    raise AssertionError(f"still queued after {passes} passes: {services.store.webhook_counts()}")


def make_every_event(app) -> dict[str, int]:
    """Cause each event over HTTP (except the erasure); return the contact ids by email."""
    services = services_of(app)
    client = app.test_client()
    thanks = submit(client, "handbook", "ada@example.com", utm_source="newsletter", utm_campaign="spring")
    assert thanks.status_code == 303
    page = client.get(thanks.headers["Location"]).get_data(as_text=True)
    download = re.search(r'href="(http://[^"]+/download/[^"]+)"', page).group(1)
    assert client.get(path_of(download)).status_code == 200  # download.completed
    assert submit(client, "checked", "grace@example.com").status_code == 303  # lead.created, pending
    pending = services.store.submissions("checked")[0]
    offer = services.catalog.get("checked").offer
    confirm = links(services.settings, offer, pending)["confirm_url"]
    assert client.post(path_of(confirm)).status_code == 200  # lead.confirmed
    assert submit(client, "live-demo", "linus@example.com").status_code == 303  # registration.created
    assert submit(client, "live-demo", "ken@example.com").status_code == 303  # registration.waitlisted (one seat)
    ken = services.store.get_contact_by_email("ken@example.com")
    assert client.post(path_of(unsubscribe_url(services.settings, ken))).status_code == 200  # contact.unsubscribed
    return {c["email"]: c["id"] for c in services.store.contacts()}


def test_every_event_arrives_signed_with_a_stable_id_after_two_500s_and_is_delivered_once(hooked, receiver) -> None:
    app = hooked(WEBHOOK_RETRY_SECONDS=1, WEBHOOK_DISABLE_AFTER=0)  # 20 failures in a row here, a few hours of the clock
    services = services_of(app)
    ids = make_every_event(app)
    assert submit(app.test_client(), "handbook", "zed@example.com").status_code == 303
    zed = services.store.get_contact_by_email("zed@example.com")["id"]
    services.erasure.erase("zed@example.com")  # contact.erased (zed's undelivered lead.created goes with him)
    deliver_all(services, datetime.now(UTC))

    assert receiver.received and all(r.verified for r in receiver.received)
    arrived = {r.type for r in receiver.received if r.answered == 200}
    assert arrived == set(EVENTS)
    by_id: dict[str, list] = {}
    for r in receiver.received:
        by_id.setdefault(r.id, []).append(r)
    for msg_id, tries in by_id.items():
        assert [t.answered for t in tries] == [500, 500, 200], msg_id  # the same id on each retry, delivered once
        assert len({t.raw for t in tries}) == 1  # the same body each time
        assert len({t.headers["webhook-signature"] for t in tries}) >= 1
    rows = services.store.webhook_deliveries(limit=100)
    assert rows and all(r["status"] == "delivered" and r["attempts"] == 3 and r["last_code"] == 200 for r in rows)
    assert {r["webhook_id"] for r in rows} == set(by_id)

    # Later passes send nothing again.
    before = len(receiver.received)
    services.deliveries.send_once(datetime.now(UTC) + 10 * HOUR)
    assert len(receiver.received) == before

    # The payload: contact, submission with its answers, offer, attribution.
    [created] = [r.body for r in receiver.received if r.type == "lead.created" and r.body["data"]["offer"]["slug"] == "handbook"][:1]
    data = created["data"]
    assert data["contact"]["email"] == "ada@example.com" and data["contact"]["id"] == ids["ada@example.com"]
    assert data["submission"]["answers"]["company"] == "Acme"
    assert data["offer"] == {"slug": "handbook", "title": "Ebook handbook", "type": "ebook", "stage": "mofu", "tags": ["b2b"]}
    assert data["attribution"]["utm_source"] == "newsletter" and data["attribution"]["utm_campaign"] == "spring"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", created["timestamp"])
    download = next(r.body["data"] for r in receiver.received if r.type == "download.completed")
    assert download["download"]["count"] == 1 and download["download"]["file"] == "handbook.pdf"
    waitlisted = next(r.body["data"] for r in receiver.received if r.type == "registration.waitlisted")
    assert waitlisted["submission"]["status"] == "waitlisted"

    # contact.erased carries the id and the time, never the address.
    erased = next(r for r in receiver.received if r.type == "contact.erased")
    assert set(erased.body["data"]) == {"contact", "erased_at"} and erased.body["data"]["contact"] == {"id": zed}
    assert b"@" not in erased.raw and b"zed" not in erased.raw
    assert not any(b"zed@example.com" in r.raw for r in receiver.received)


def test_erasure_deletes_the_queued_payloads_that_hold_the_address(hooked, receiver) -> None:
    app = hooked()
    services = services_of(app)
    client = app.test_client()
    assert submit(client, "handbook", "erase.me@example.com").status_code == 303
    assert submit(client, "handbook", "stays@example.com", referrer="https://mail.example/?from=erase.me@example.com").status_code == 303
    assert len(services.store.webhook_events()) == 2
    services.erasure.erase("erase.me@example.com")

    events = services.store.webhook_events()
    assert [e["type"] for e in events] == ["lead.created", "contact.erased"]
    for table in ("webhook_events", "webhook_deliveries"):
        text = json.dumps(services.store.query(f"SELECT * FROM {table}"))  # noqa: S608
        assert "erase.me@example.com" not in text
    receiver.answers = [200]
    deliver_all(services, datetime.now(UTC))
    assert sorted(r.type for r in receiver.received) == ["contact.erased", "lead.created"]
    assert all(b"erase.me@example.com" not in r.raw for r in receiver.received)
    stays = next(r for r in receiver.received if r.type == "lead.created")
    assert stays.body["data"]["contact"]["email"] == "stays@example.com"


def test_private_addresses_are_refused_by_default(hooked, receiver) -> None:
    app = hooked(WEBHOOK_ALLOW_PRIVATE=False)
    services = services_of(app)
    assert submit(app.test_client(), "handbook", "ada@example.com").status_code == 303
    services.deliveries.send_once(datetime.now(UTC))
    assert receiver.received == []
    [row] = services.store.webhook_deliveries()
    assert row["status"] == "queued" and row["attempts"] == 1
    assert "127.0.0.1 is a loopback address" in row["last_error"] and "LEADMAGNET_WEBHOOK_ALLOW_PRIVATE" in row["last_error"]


def test_410_disables_the_endpoint_and_the_admin_says_so(hooked, receiver) -> None:
    from leadmagnet.web.admin import add_admin

    receiver.answers = [410]
    app = hooked(WTF_CSRF_ENABLED=False, ADMIN_LOGIN_LIMIT="off")
    services = services_of(app)
    client = app.test_client()
    assert submit(client, "handbook", "ada@example.com").status_code == 303
    assert submit(client, "handbook", "bob@example.com").status_code == 303
    report = services.deliveries.send_once(datetime.now(UTC))
    assert report.webhooks.disabled == [receiver.url] and len(receiver.received) == 1
    services.deliveries.send_once(datetime.now(UTC) + HOUR)
    assert len(receiver.received) == 1  # disabled: nothing more is sent
    statuses = sorted(r["status"] for r in services.store.webhook_deliveries())
    assert statuses == ["failed", "queued"]  # the other event waits for the endpoint to be enabled

    add_admin(services.store, "boss@example.com", "correct horse battery staple")
    client.post("/admin/login", data={"email": "boss@example.com", "password": "correct horse battery staple"})
    dashboard = client.get("/admin/").get_data(as_text=True)
    assert 'id="webhooks-disabled"' in dashboard and receiver.url in dashboard
    page = client.get("/admin/webhooks").get_data(as_text=True)
    assert 'data-state="disabled"' in page and "410 Gone" in page
    receiver.answers = [200]
    assert client.post("/admin/webhooks/1/enable").status_code == 303
    assert services.webhooks.disabled() == []
    services.deliveries.send_once(datetime.now(UTC) + 2 * HOUR)
    assert [r.answered for r in receiver.received] == [410, 200]


def test_retry_after_is_honoured_and_other_4xx_are_final(hooked, receiver) -> None:
    receiver.answers = [429]
    receiver.extra_headers = {"Retry-After": "7200"}
    app = hooked(WEBHOOK_RETRY_SECONDS=1, WEBHOOK_DISABLE_AFTER=0)  # 20 failures in a row here, a few hours of the clock
    services = services_of(app)
    assert submit(app.test_client(), "handbook", "ada@example.com").status_code == 303
    now = datetime.now(UTC)
    services.deliveries.send_once(now)
    [row] = services.store.webhook_deliveries()
    assert row["status"] == "queued" and row["last_code"] == 429
    assert datetime.fromisoformat(row["next_attempt_at"]) >= now + timedelta(seconds=7200)
    services.deliveries.send_once(now + HOUR)  # before the Retry-After: nothing is sent
    assert len(receiver.received) == 1

    receiver.answers, receiver.extra_headers = [400], {}
    services.deliveries.send_once(now + 3 * HOUR)
    [row] = services.store.webhook_deliveries()
    assert row["status"] == "failed" and row["last_code"] == 400 and row["attempts"] == 2
    services.deliveries.send_once(now + 30 * HOUR)
    assert len(receiver.received) == 2  # final: never retried


def test_consecutive_failures_disable_the_endpoint_and_retry_now_brings_it_back(
    hooked, receiver, cli_runner, instance_dir, content_dir
) -> None:
    receiver.answers = [503]
    app = hooked(WEBHOOK_RETRY_SECONDS=1, WEBHOOK_DISABLE_AFTER=3)
    services = services_of(app)
    assert submit(app.test_client(), "handbook", "ada@example.com").status_code == 303
    start = datetime.now(UTC)
    for n in range(6):
        services.deliveries.send_once(start + n * HOUR)
    assert len(receiver.received) == 3
    assert services.webhooks.disabled() == [receiver.url]
    assert services.store.webhook_endpoint_states()[receiver.url]["disabled_reason"] == "3 consecutive failed attempts"

    receiver.answers = [200]
    count, enabled = services.webhooks.retry_now(receiver.url)
    assert (count, enabled) == (1, True)
    services.deliveries.send_once(start + 7 * HOUR)
    assert [r.answered for r in receiver.received] == [503, 503, 503, 200]
    assert services.store.webhook_endpoint_states()[receiver.url]["consecutive_failures"] == 0


def test_events_go_only_to_endpoints_that_want_them(hooked, receiver) -> None:
    app = hooked(
        WEBHOOKS=[
            {"url": receiver.url, "secret": receiver.secret, "events": ["lead.created"], "tags": ["b2b"]},
            {"url": receiver.url + "/webinars", "secret": receiver.secret, "events": ["registration.created"], "offers": ["live-demo"]},
        ]
    )
    services = services_of(app)
    client = app.test_client()
    for slug, email in (("handbook", "a@example.com"), ("checked", "b@example.com"), ("live-demo", "c@example.com")):
        assert submit(client, slug, email).status_code == 303
    rows = services.store.webhook_deliveries()
    assert sorted((r["type"], r["endpoint"]) for r in rows) == [
        ("lead.created", receiver.url),
        ("registration.created", receiver.url + "/webinars"),
    ]


def test_no_endpoints_writes_no_events(make_app, content_dir) -> None:
    write_ebook(content_dir, "handbook", DATA, filename="handbook.pdf")
    app = make_app(RATE_LIMIT="off")
    assert submit(app.test_client(), "handbook", "ada@example.com").status_code == 303
    assert services_of(app).store.webhook_events() == []


def test_payload_carries_score_and_stage_from_the_contacts_columns() -> None:
    contact = {"id": 3, "email": "ada@example.com", "custom": "{}", "score": 42, "lifecycle_stage": "mql"}
    data = event_data(contact)
    assert data["contact"]["score"] == 42 and data["contact"]["stage"] == "mql"
    assert "lifecycle_stage" not in data["contact"]
    assert "score" not in event_data({"id": 3, "email": "ada@example.com"})["contact"]


def test_a_huge_submission_is_shortened_under_20_kb() -> None:
    submission = {"id": 1, "data": json.dumps({"email": "a@example.com", "essay": "x" * 60_000, "short": "kept"})}
    body = body_of("lead.created", datetime.now(UTC), event_data({"id": 1, "email": "a@example.com"}, submission))
    assert len(body.encode()) <= MAX_BODY
    parsed = json.loads(body)
    assert parsed["data"]["truncated"] is True and parsed["data"]["submission"]["answers"]["short"] == "kept"


def test_an_endpoint_removed_from_the_config_fails_its_events_and_old_events_are_forgotten(hooked, receiver, make_app) -> None:
    app = hooked()
    assert submit(app.test_client(), "handbook", "ada@example.com").status_code == 303
    without = services_of(make_app(RATE_LIMIT="off"))  # the same instance, the [[webhooks]] table removed
    without.deliveries.send_once(datetime.now(UTC))
    [row] = without.store.webhook_deliveries()
    assert row["status"] == "failed" and row["last_error"] == "the endpoint is no longer in config.toml"
    assert receiver.received == []
    without.deliveries.send_once(datetime.now(UTC) + timedelta(days=29))
    assert len(without.store.webhook_events()) == 1  # kept WEBHOOK_KEEP_DAYS
    without.deliveries.send_once(datetime.now(UTC) + timedelta(days=31))
    assert without.store.webhook_events() == [] and without.store.webhook_deliveries() == []


def test_the_event_is_written_in_the_submissions_transaction(hooked) -> None:
    """Writing the event fails (a trigger refuses it): the lead is not stored either, and the visitor is told to retry."""
    app = hooked()
    services = services_of(app)
    if services.store.backend == "postgresql":
        services.store.conn.execute("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE 'disk says no'; END $$")
        services.store.conn.execute(
            "CREATE TRIGGER refuse_events BEFORE INSERT ON webhook_deliveries FOR EACH ROW EXECUTE FUNCTION refuse()"
        )
    else:
        services.store.conn.execute(
            "CREATE TRIGGER refuse_events BEFORE INSERT ON webhook_deliveries BEGIN SELECT RAISE(ABORT, 'disk says no'); END"
        )
    response = submit(app.test_client(), "handbook", "ada@example.com")
    assert response.status_code >= 500
    assert services.store.submissions() == [] and services.store.contacts() == [] and services.store.outbox() == []
    assert services.store.webhook_events() == []
    services.store.conn.execute("DROP TRIGGER refuse_events" + (" ON webhook_deliveries" if services.store.backend == "postgresql" else ""))
    assert submit(app.test_client(), "handbook", "ada@example.com").status_code == 303
    assert [e["type"] for e in services.store.webhook_events()] == ["lead.created"]


def test_a_confirmed_lead_carries_the_score_of_its_submission_and_of_its_confirmation(hooked) -> None:
    """Under double opt-in a submission scores when it is confirmed: ``lead.confirmed`` carries both (10 + 5: a lead)."""
    app = hooked()
    services = services_of(app)
    client = app.test_client()
    assert submit(client, "checked", "grace@example.com").status_code == 303
    pending = services.store.submissions("checked")[0]
    confirm = links(services.settings, services.catalog.get("checked").offer, pending)["confirm_url"]
    assert client.post(path_of(confirm)).status_code == 200
    data = {event["type"]: json.loads(event["body"])["data"] for event in services.store.webhook_events()}
    assert (data["lead.created"]["contact"]["score"], data["lead.created"]["contact"]["stage"]) == (0, "subscriber")
    assert (data["lead.confirmed"]["contact"]["score"], data["lead.confirmed"]["contact"]["stage"]) == (15, "lead")
    assert data["lead.confirmed"]["submission"]["confirmed_at"] is not None


def test_retries_double_with_jitter_and_give_up_after_about_three_days(hooked, receiver) -> None:
    receiver.answers = [503]
    app = hooked(WEBHOOK_RETRY_SECONDS=60, WEBHOOK_DISABLE_AFTER=0)
    services = services_of(app)
    assert submit(app.test_client(), "handbook", "ada@example.com").status_code == 303
    [event] = services.store.webhook_events()
    made = now = datetime.fromisoformat(event["created_at"])
    waits = []
    for _ in range(100):  # each pass at the moment the row and its endpoint are due again (an injected clock)
        services.deliveries.send_once(now)
        [row] = services.store.webhook_deliveries()
        if row["status"] == "failed":
            break
        retry_at = datetime.fromisoformat(row["next_attempt_at"])
        waits.append((retry_at - now).total_seconds())
        paused = services.store.webhook_endpoint_states()[receiver.url]["paused_until"]
        now = max(retry_at, datetime.fromisoformat(paused))
    assert row["status"] == "failed" and "gave up: not delivered within 3 days" in row["last_error"]
    assert len(receiver.received) == row["attempts"] == len(waits) + 1
    assert len({r.id for r in receiver.received}) == 1 and all(r.verified for r in receiver.received)
    assert 60 <= waits[0] <= 72  # WEBHOOK_RETRY_SECONDS, plus up to 20% jitter
    for n, wait in enumerate(waits):
        assert 60 * 2**n <= wait <= 1.2 * 60 * 2**n or wait == 6 * 3600, (n, wait)  # doubling, capped at six hours
    assert all(wait > 60 * 2**n for n, wait in enumerate(waits) if wait < 6 * 3600)  # jittered, not the bare doubling
    assert timedelta(days=2.5) < now - made <= timedelta(days=3)
