"""Webinars: seats under concurrency, the registration window, the replay switch, the .ics file,
the Google Calendar link, and the join link kept off every public response.

Every test writes its own webinar with times relative to now, so nothing depends on the samples'
dates.
"""

from __future__ import annotations

import gzip
import re
import threading
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import brotli
import pytest
from icalendar import Calendar

from leadmagnet.content import webinar
from leadmagnet.content.offer import Offer
from leadmagnet.web import services_of
from tests.support.content import JOIN_URL, REPLAY_URL, submit, write_webinar
from tests.support.servers import start_live_server
from tests.support.smtp import body_text

pytestmark = pytest.mark.both_backends

PARIS = ZoneInfo("Europe/Paris")


def _future(days: int = 7) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(hour=15, minute=0, second=0, microsecond=0)


def send_once(app, now: datetime | None = None):
    """One pass of the app's sender (``leadmagnet send``)."""
    return services_of(app).deliveries.send_once(now)


def _thanks(client, response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    return page.get_data(as_text=True)


def _offer(start: datetime, minutes: int = 60, **extra) -> Offer:
    """A webinar offer built directly (no content file), for the time arithmetic."""
    return Offer(slug="w", type="webinar", title="W", source="w.md", starts_at=start, duration_minutes=minutes, join_url=JOIN_URL, **extra)


# -- seats -----------------------------------------------------------------------------------


def test_fifty_concurrent_registrations_for_the_last_ten_seats_over_http(make_app, content_dir) -> None:
    write_webinar(content_dir, "seats", _future(), capacity=15)
    app = make_app(RATE_LIMIT="off")
    client = app.test_client()
    for n in range(5):  # five seats already taken: ten left
        assert submit(client, "seats", f"early{n}@example.com").status_code == 303
    server = start_live_server(app)
    pages: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(50)

    def register(n: int) -> None:
        body = urllib.parse.urlencode({"email": f"racer{n}@example.com"}).encode()
        try:
            start.wait(timeout=30)
            with urllib.request.urlopen(f"{server.url}/seats", data=body, timeout=60) as response:  # follows the 303
                html = response.read().decode()
            with lock:
                pages.append(html)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=register, args=(n,)) for n in range(50)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        server.stop()
    assert errors == []
    store = services_of(app).store
    assert store.count_by_status("seats") == {"ok": 15, "waitlisted": 40}
    assert sum("Your seat" in p for p in pages) == 10
    assert sum("This webinar is full" in p for p in pages) == 40
    # every registration is stored, and each got its own email (registered or waitlist)
    kinds = [row["subject"].split(":")[0].split(" for ")[0] for row in store.outbox()]
    assert kinds.count("You're registered") == 15 and kinds.count("You're on the waitlist") == 40


def test_claim_seat_is_exact_with_threads_on_the_store(make_app, content_dir) -> None:
    write_webinar(content_dir, "store-seats", _future(), capacity=10)
    app = make_app()
    store = services_of(app).store
    offer = services_of(app).catalog.get("store-seats").offer
    statuses: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(50)

    deliveries = services_of(app).deliveries

    def register(n: int) -> None:
        plan = deliveries.plan(offer)
        barrier.wait(timeout=30)
        recorded = deliveries.record(plan, email=f"p{n}@example.com", fields={}, meta={}, consented=False)
        with lock:
            statuses.append(recorded.submission["status"])

    threads = [threading.Thread(target=register, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(statuses).count("ok") == 10 and statuses.count("waitlisted") == 40
    assert store.seats_taken("store-seats") == 10


# -- the registration window and the replay switch ------------------------------------------


def test_registration_state_over_time() -> None:
    start = datetime(2030, 5, 1, 14, 0, tzinfo=UTC)
    offer = _offer(start)
    assert webinar.registration_state(offer, start - timedelta(seconds=1)) == "open"
    assert webinar.registration_state(offer, start) == "started"
    assert webinar.registration_state(offer, start + timedelta(minutes=59)) == "started"
    assert webinar.registration_state(offer, start + timedelta(minutes=60)) == "ended"
    with_replay = Offer(**{**offer.__dict__, "replay_url": REPLAY_URL})
    assert webinar.registration_state(with_replay, start + timedelta(minutes=60)) == "replay"


def test_registration_closes_when_the_webinar_starts(make_app, content_dir) -> None:
    write_webinar(content_dir, "running", datetime.now(UTC) - timedelta(minutes=5), duration=60)
    write_webinar(content_dir, "upcoming", datetime.now(UTC) + timedelta(minutes=5), duration=60)
    app = make_app(RATE_LIMIT="off")
    client = app.test_client()
    closed = submit(client, "running", "late@example.com")
    assert closed.status_code == 410
    assert "Registration has closed" in closed.get_data(as_text=True)
    store = services_of(app).store
    assert store.count_submissions("running") == 0
    assert submit(client, "upcoming", "early@example.com").status_code == 303


def _published_page(make_app, content_dir, slug: str, starts: timedelta) -> tuple[Any, Any, str]:
    """``(app, client, html)`` of a one-hour webinar with a replay that starts ``starts`` from now; the page answers 200."""
    write_webinar(content_dir, slug, datetime.now(UTC) + starts, duration=60, replay=True)
    app = make_app(RATE_LIMIT="off")
    client = app.test_client()
    page = client.get(f"/{slug}")
    assert page.status_code == 200
    return app, client, page.get_data(as_text=True)


def test_while_the_webinar_runs_its_page_says_registration_closed(make_app, content_dir) -> None:
    _app, client, html = _published_page(make_app, content_dir, "running", -timedelta(minutes=5))
    assert "This webinar is under way" in html and "registration has closed" in html
    assert 'form class="lead"' not in html and "lead.js" not in html
    assert JOIN_URL not in html and REPLAY_URL not in html
    assert "under way" in client.get("/").get_data(as_text=True)


def test_after_the_end_the_page_offers_the_replay_gated_by_the_form(make_app, content_dir) -> None:
    app, client, html = _published_page(make_app, content_dir, "past-replay", -timedelta(hours=3))
    assert "This webinar has ended: watch the replay" in html and 'form class="lead"' in html and "Send me the replay" in html
    assert REPLAY_URL not in html and JOIN_URL not in html
    thanks = _thanks(client, submit(client, "past-replay", "viewer@example.com"))
    assert f'href="{REPLAY_URL}"' in thanks and JOIN_URL not in thanks
    assert send_once(app).sent == 1  # written as an .eml file: no SMTP configured
    [row] = services_of(app).store.outbox()
    assert row["subject"] == "The recording of Webinar past-replay" and REPLAY_URL.encode() in row["message"]


def test_after_the_end_without_replay_the_page_says_ended(make_app, content_dir) -> None:
    write_webinar(content_dir, "past", datetime.now(UTC) - timedelta(hours=3), duration=60)
    app = make_app(RATE_LIMIT="off")
    client = app.test_client()
    html = client.get("/past").get_data(as_text=True)
    assert "This webinar has ended" in html and 'form class="lead"' not in html
    assert submit(client, "past", "late@example.com").status_code == 410


# -- the .ics file and the Google Calendar link ---------------------------------------------


def test_ics_parsed_back_field_by_field(make_app, content_dir) -> None:
    starts = _future().astimezone(PARIS).replace(hour=16)
    write_webinar(content_dir, "ical-demo", starts, duration=45)
    app = make_app(RATE_LIMIT="off")
    client = app.test_client()
    thanks = _thanks(client, submit(client, "ical-demo", "ann@example.com"))
    [ics_url] = re.findall(r'href="http://127\.0\.0\.1:5000(/calendar/[^"]+\.ics)"', thanks)
    response = client.get(ics_url)
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert response.headers["Content-Disposition"] == 'attachment; filename="ical-demo.ics"'
    assert "no-store" in response.headers["Cache-Control"]

    cal = Calendar.from_ical(response.data)
    [event] = cal.walk("VEVENT")
    [sid] = [r["id"] for r in services_of(app).store.submissions("ical-demo")]
    assert str(event["UID"]) == f"ical-demo-{sid}@127.0.0.1"
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    assert start == starts and end == starts + timedelta(minutes=45)
    assert str(start.tzinfo) == "Europe/Paris" and event["DTSTART"].params["TZID"] == "Europe/Paris"
    assert event["DTEND"].params["TZID"] == "Europe/Paris"
    assert str(event["SUMMARY"]) == "Webinar ical-demo"
    assert JOIN_URL in str(event["DESCRIPTION"])
    assert str(event["URL"]) == JOIN_URL
    [alarm] = event.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY" and alarm.decoded("TRIGGER") == timedelta(minutes=-15)
    [vtz] = cal.walk("VTIMEZONE")
    assert str(vtz["TZID"]) == "Europe/Paris"
    # the UID is stable: the same registration's file again updates the same calendar entry
    again = Calendar.from_ical(client.get(ics_url).data)
    assert str(again.walk("VEVENT")[0]["UID"]) == str(event["UID"])


def test_ics_link_is_tamper_proof_and_needs_a_seat(make_app, content_dir) -> None:
    write_webinar(content_dir, "full", _future(), capacity=1)
    app = make_app(RATE_LIMIT="off")
    client = app.test_client()
    thanks = _thanks(client, submit(client, "full", "first@example.com"))
    [ics_url] = re.findall(r'(/calendar/[^"]+\.ics)"', thanks)
    assert client.get(ics_url.replace(".ics", "x.ics")).status_code == 404
    full = _thanks(client, submit(client, "full", "second@example.com"))
    assert "This webinar is full" in full and "/calendar/" not in full and JOIN_URL not in full


def test_google_calendar_link_has_utc_times_and_the_timezone() -> None:
    offer = _offer(datetime(2030, 3, 5, 16, 0, tzinfo=PARIS), 90, timezone="Europe/Paris")
    offer = Offer(**{**offer.__dict__, "title": "Growth & more"})
    url = urllib.parse.urlsplit(webinar.google_calendar_url(offer))
    params = dict(urllib.parse.parse_qsl(url.query))
    assert url.netloc == "calendar.google.com"
    assert params["action"] == "TEMPLATE" and params["text"] == "Growth & more"
    assert params["dates"] == "20300305T150000Z/20300305T163000Z"
    assert params["ctz"] == "Europe/Paris" and JOIN_URL in params["details"]


def test_thank_you_page_shows_time_timezone_and_offset(make_app, content_dir) -> None:
    starts = datetime(2031, 1, 15, 16, 0, tzinfo=PARIS)
    write_webinar(content_dir, "winter", starts)
    app = make_app(RATE_LIMIT="off")
    client = app.test_client()
    thanks = _thanks(client, submit(client, "winter", "ann@example.com"))
    assert "Wednesday 15 January 2031, 16:00 (Europe/Paris, UTC+01:00)" in thanks
    assert f'href="{JOIN_URL}"' in thanks and "calendar.google.com" in thanks


# -- the join link stays private -------------------------------------------------------------


def test_join_url_absent_from_every_public_response(make_app, content_dir) -> None:
    write_webinar(content_dir, "open-w", _future(), capacity=3, replay=True)
    write_webinar(content_dir, "running-w", datetime.now(UTC) - timedelta(minutes=5))
    write_webinar(content_dir, "ended-w", datetime.now(UTC) - timedelta(hours=3), replay=True)
    app = make_app(RATE_LIMIT="off")
    client = app.test_client()
    public = ["/", "/sitemap.xml", "/robots.txt", "/open-w", "/running-w", "/ended-w", "/q1-product-demo", "/no-such-page"]
    responses = [client.get(path) for path in public]
    responses.append(client.post("/open-w", data={"email": "not-an-email"}))  # the 422 re-render
    responses.append(client.post("/running-w", data={"email": "late@example.com"}))  # registration closed
    for response in responses:
        body = response.get_data(as_text=True)
        assert JOIN_URL not in body and "meet.example.com/j/q1-demo" not in body, response.request.path
        assert REPLAY_URL not in body and "replays/q1-demo" not in body, response.request.path
        assert JOIN_URL not in str(response.headers)


def test_join_url_absent_from_the_static_export(make_app, content_dir, instance_dir, tmp_path, cli_runner) -> None:
    write_webinar(content_dir, "exported-w", _future(), replay=True)
    write_webinar(content_dir, "exported-past", datetime.now(UTC) - timedelta(hours=3), replay=True)
    from leadmagnet.cli import cli

    out = tmp_path / "site"
    result = cli_runner.invoke(cli, ["--content", str(content_dir), "--instance", str(instance_dir), "build", str(out)])
    assert result.exit_code == 0, result.output
    files = [p for p in out.rglob("*") if p.is_file()]
    assert any("exported-w" in str(p) for p in files)
    for path in files:
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        elif path.suffix == ".br":
            data = brotli.decompress(data)
        assert JOIN_URL.encode() not in data and REPLAY_URL.encode() not in data, path
        assert b"meet.example.com/j/q1-demo" not in data, path


# -- found in review: one seat a person, confirmations after the start, DST, offsets -----------


def test_a_person_registering_twice_holds_one_seat_and_gets_one_reminder(make_app, content_dir) -> None:
    starts = _future()
    write_webinar(content_dir, "two-seats", starts, capacity=2)
    app = make_app(RATE_LIMIT="off", DUPLICATE_WINDOW=0)  # every registration is stored
    client, store = app.test_client(), services_of(app).store
    first = _thanks(client, submit(client, "two-seats", "a@example.com"))
    again = _thanks(client, submit(client, "two-seats", "a@example.com"))  # to find the join link again
    assert JOIN_URL in first and JOIN_URL in again and "full" not in again
    assert store.seats_taken("two-seats") == 1
    assert JOIN_URL in _thanks(client, submit(client, "two-seats", "b@example.com"))  # the second seat is b's
    assert "This webinar is full" in _thanks(client, submit(client, "two-seats", "c@example.com"))
    send_once(app, starts - timedelta(minutes=30))  # in the reminder window

    def reminded() -> list[str]:
        return sorted(row["to_addr"] for row in store.outbox() if row["kind"].startswith("reminder"))

    assert reminded() == ["a@example.com", "b@example.com"]
    send_once(app, starts - timedelta(minutes=20))
    assert reminded() == ["a@example.com", "b@example.com"]


def test_a_double_opt_in_confirmed_during_the_webinar_still_needs_a_seat(make_app, content_dir) -> None:
    starts = datetime.now(UTC) + timedelta(minutes=1)
    write_webinar(content_dir, "live-now", starts, capacity=1, extra="double_opt_in: true")
    app = make_app(RATE_LIMIT="off")
    client, store = app.test_client(), services_of(app).store
    for who in ("a@example.com", "b@example.com"):
        assert submit(client, "live-now", who).status_code == 303
    offer = services_of(app).catalog.get("live-now").offer
    a, b = store.submissions()
    for sub, when in ((a, starts - timedelta(seconds=30)), (b, starts + timedelta(minutes=30))):
        assert services_of(app).deliveries.confirm(offer, sub["id"], now=when) is not None
    assert [s["status"] for s in store.submissions()] == ["ok", "waitlisted"]


def test_confirming_after_a_webinar_ended_without_a_replay_sends_nothing(make_app, content_dir) -> None:
    starts = datetime.now(UTC) - timedelta(hours=3)
    write_webinar(content_dir, "long-gone", datetime.now(UTC) + timedelta(days=1), extra="double_opt_in: true")
    app = make_app(RATE_LIMIT="off")
    client, store = app.test_client(), services_of(app).store
    assert submit(client, "long-gone", "late@example.com").status_code == 303
    offer = services_of(app).catalog.get("long-gone").offer
    ended = offer.__class__(**{**offer.__dict__, "starts_at": starts})  # as if it had run 3 hours ago
    (sub,) = store.submissions()
    assert services_of(app).deliveries.confirm(ended, sub["id"])["status"] == "ok"
    assert [o["kind"] for o in store.outbox()] == ["confirm"]  # no "recording of None"


def test_a_webinar_across_a_dst_change_lasts_its_duration() -> None:
    # Paris leaves summer time at 03:00 CEST on 25 October 2026 (01:00 UTC).
    start = datetime(2026, 10, 25, 1, 30, tzinfo=PARIS)  # 01:30 CEST = 23:30 UTC the day before
    offer = _offer(start, 120, timezone="Europe/Paris")
    assert offer.ends_at.astimezone(UTC) - offer.starts_at.astimezone(UTC) == timedelta(minutes=120)  # real time
    assert offer.ends_at.astimezone(UTC) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert webinar.registration_state(offer, datetime(2026, 10, 25, 1, 45, tzinfo=UTC)) == "ended"
    cal = Calendar.from_ical(webinar.calendar_ics(offer, 1, "https://offers.example.com", "Acme"))
    [event] = cal.walk("VEVENT")
    assert event.decoded("DTEND").astimezone(UTC) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


def test_a_webinar_given_with_an_offset_and_no_timezone_has_a_valid_ics() -> None:
    from datetime import timezone

    offer = _offer(datetime(2027, 3, 4, 16, 0, tzinfo=timezone(timedelta(hours=1))))
    raw = webinar.calendar_ics(offer, 1, "https://offers.example.com", "Acme")
    assert b"TZID" not in raw  # a TZID needs a VTIMEZONE (RFC 5545 3.2.19): UTC times instead
    assert b"DTSTART:20270304T150000Z" in raw and b"DTEND:20270304T160000Z" in raw


def test_raising_the_capacity_seats_the_waitlist_earliest_first_and_emails_them(make_app, content_dir, smtp_server) -> None:
    starts = _future()
    write_webinar(content_dir, "grows", starts, capacity=1)
    app = make_app(RATE_LIMIT="off", **smtp_server.settings())
    client, store = app.test_client(), services_of(app).store
    for who in ("a@example.com", "b@example.com", "c@example.com", "d@example.com", "e@example.com"):
        assert submit(client, "grows", who).status_code == 303
    store.unsubscribe(store.get_contact_by_email("c@example.com")["id"], datetime.now(UTC).isoformat())  # wants nothing more
    send_once(app)
    assert send_once(app).promoted == 0  # still one seat: nobody moves
    write_webinar(content_dir, "grows", starts, capacity=3)  # the marketer adds two seats
    report = send_once(app)
    assert report.promoted == 2 and "2 seated from the waitlist" in str(report)
    status = {store.get_contact(s["contact_id"])["email"]: s["status"] for s in store.submissions()}
    assert status == {
        "a@example.com": "ok",
        "b@example.com": "ok",
        "c@example.com": "waitlisted",
        "d@example.com": "ok",
        "e@example.com": "waitlisted",
    }
    seated = [m for m in smtp_server.inbox.messages if "A seat opened up" in str(m["Subject"])]
    assert sorted(str(m["To"]) for m in seated) == ["b@example.com", "d@example.com"]
    assert all(JOIN_URL in body_text(m) for m in seated)
    assert send_once(app).promoted == 0  # once
    # No cap any more: everyone still waiting (and subscribed) is seated.
    write_webinar(content_dir, "grows", starts)
    assert send_once(app).promoted == 1 and store.get_submission(5)["status"] == "ok"


def test_a_promoted_persons_unsent_waitlist_email_is_cancelled(make_app, content_dir, smtp_server) -> None:
    starts = _future()
    write_webinar(content_dir, "late-seat", starts, capacity=1)
    app = make_app(RATE_LIMIT="off", **smtp_server.settings())
    client = app.test_client()
    for who in ("a@example.com", "b@example.com"):
        assert submit(client, "late-seat", who).status_code == 303
    write_webinar(content_dir, "late-seat", starts, capacity=2)  # before any email went out
    send_once(app)
    subjects = sorted(str(m["Subject"]) for m in smtp_server.inbox.messages if str(m["To"]) == "b@example.com")
    assert subjects == ["A seat opened up: you're registered for Webinar late-seat"]  # not "on the waitlist" too


def test_after_the_start_nothing_moves_seats_or_times(make_app, content_dir, smtp_server) -> None:
    started = datetime.now(UTC) - timedelta(hours=3)
    write_webinar(content_dir, "over", started, capacity=1, replay=True)
    app = make_app(RATE_LIMIT="off", **smtp_server.settings())
    store = services_of(app).store
    offer = services_of(app).catalog.get("over").offer
    deliveries = services_of(app).deliveries
    for who in ("a@example.com", "b@example.com"):  # registered the day before, for its one seat
        deliveries.record(deliveries.plan(offer, started - timedelta(days=1)), email=who, fields={}, meta={}, consented=False)
    assert store.get_submission(2)["status"] == "waitlisted"
    write_webinar(content_dir, "over", started - timedelta(minutes=5), replay=True)  # no cap, and the time corrected
    report = send_once(app)
    assert (report.promoted, report.rescheduled) == (0, 0)
    assert store.get_submission(2)["status"] == "waitlisted"


def test_a_moved_webinar_is_reminded_of_again_and_moving_back_is_news_too(make_app, content_dir, smtp_server) -> None:
    a, b = _future(5), _future(6)
    write_webinar(content_dir, "shifts", a)
    app = make_app(RATE_LIMIT="off", **smtp_server.settings())
    client = app.test_client()
    assert submit(client, "shifts", "p@example.com").status_code == 303
    send_once(app)
    send_once(app, a - timedelta(minutes=30))  # the reminder for A
    for moved_to in (b, a, b):  # a marketer changing their mind
        write_webinar(content_dir, "shifts", moved_to)
        assert send_once(app).rescheduled == 1
    send_once(app, b - timedelta(minutes=30))  # the reminder for B
    subjects = [str(m["Subject"]) for m in smtp_server.inbox.messages]
    assert subjects.count("New time: Webinar shifts") == 3
    assert subjects.count("Starting soon: Webinar shifts") == 2


def test_a_registration_email_not_sent_yet_goes_out_with_the_new_time_instead_of_news(make_app, content_dir, smtp_server) -> None:
    a, b = _future(5), _future(6)
    write_webinar(content_dir, "retried", a, capacity=1)
    app = make_app(RATE_LIMIT="off", **smtp_server.settings())
    client = app.test_client()
    assert submit(client, "retried", "p@example.com").status_code == 303
    assert submit(client, "retried", "w@example.com").status_code == 303  # waitlisted
    smtp_server.inbox.refuse_next = 2  # both emails are built (with A) and refused: retried later
    assert send_once(app).retried == 2
    write_webinar(content_dir, "retried", b, capacity=1)
    assert send_once(app).rescheduled == 0  # its registration email will say B itself
    send_once(app, datetime.now(UTC) + timedelta(hours=1))  # the retries
    registered, waitlist = sorted(smtp_server.inbox.messages, key=lambda m: str(m["To"]))
    assert str(waitlist["Subject"]) == "You're on the waitlist for Webinar retried"  # still no seat, no join link
    assert JOIN_URL not in body_text(waitlist)
    assert str(registered["Subject"]) == "You're registered: Webinar retried"
    [ics] = [part for part in registered.iter_attachments() if part.get_content_type() == "text/calendar"]
    assert Calendar.from_ical(ics.get_content()).walk("VEVENT")[0].decoded("DTSTART") == b


def test_moving_a_webinar_emails_every_seated_person_the_new_time_and_an_updated_ics(make_app, content_dir, smtp_server) -> None:
    first, moved = _future(5), _future(6)
    write_webinar(content_dir, "moves", first, capacity=1)
    app = make_app(RATE_LIMIT="off", **smtp_server.settings())
    client = app.test_client()
    thanks = _thanks(client, submit(client, "moves", "seated@example.com"))
    assert "full" in _thanks(client, submit(client, "moves", "waiting@example.com"))
    assert send_once(app).rescheduled == 0  # the first look only remembers the time
    write_webinar(content_dir, "moves", moved, capacity=1)  # the marketer moves it a day later
    report = send_once(app)
    assert report.rescheduled == 1 and "1 told a webinar's new time" in str(report)
    [news] = [m for m in smtp_server.inbox.messages if str(m["Subject"]) == "New time: Webinar moves"]
    assert str(news["To"]) == "seated@example.com"  # the waitlisted person has no seat to move
    assert "has moved to a new time" in body_text(news) and JOIN_URL in body_text(news)
    [ics] = [part for part in news.iter_attachments() if part.get_content_type() == "text/calendar"]
    [event] = Calendar.from_ical(ics.get_content()).walk("VEVENT")
    assert event.decoded("DTSTART") == moved and int(event["SEQUENCE"]) == 1
    # The calendar link gives the same updated file (same UID, higher SEQUENCE).
    [ics_url] = re.findall(r'(/calendar/[^"]+\.ics)"', thanks)
    [again] = Calendar.from_ical(client.get(ics_url).data).walk("VEVENT")
    assert again.decoded("DTSTART") == moved and int(again["SEQUENCE"]) == 1 and str(again["UID"]) == str(event["UID"])
    assert send_once(app).rescheduled == 0  # told once


def test_a_reminder_cancelled_by_a_move_comes_back_when_the_webinar_moves_back(make_app, content_dir, smtp_server) -> None:
    a, b = _future(5), _future(6)
    write_webinar(content_dir, "dithers", a)
    app = make_app(RATE_LIMIT="off", **smtp_server.settings())
    assert submit(app.test_client(), "dithers", "p@example.com").status_code == 303
    send_once(app)  # registration email; the time is remembered
    smtp_server.inbox.refuse_next = 1
    assert send_once(app, a - timedelta(minutes=30)).retried == 1  # the reminder for A waits for a retry
    write_webinar(content_dir, "dithers", b)
    send_once(app, a - timedelta(minutes=29))  # moved away: that reminder is cancelled
    write_webinar(content_dir, "dithers", a)
    send_once(app, a - timedelta(minutes=20))  # and back, still in the reminder window
    send_once(app, a - timedelta(minutes=5))
    subjects = [str(m["Subject"]) for m in smtp_server.inbox.messages]
    assert subjects.count("Starting soon: Webinar dithers") == 1 and subjects.count("New time: Webinar dithers") == 2


def test_re_dating_a_past_session_is_not_news_to_its_people(make_app, content_dir, smtp_server) -> None:
    past = datetime.now(UTC) + timedelta(days=1)
    write_webinar(content_dir, "monthly", past)
    app = make_app(RATE_LIMIT="off", **smtp_server.settings())
    assert submit(app.test_client(), "monthly", "p@example.com").status_code == 303
    send_once(app)
    write_webinar(content_dir, "monthly", past + timedelta(days=30))  # the page reused for next month
    assert send_once(app, past + timedelta(days=2)).rescheduled == 0  # last month's session is over


def test_a_failing_step_of_the_sender_does_not_keep_the_queued_emails(make_app, content_dir, smtp_server, monkeypatch, caplog) -> None:
    write_webinar(content_dir, "steady", _future())
    app = make_app(RATE_LIMIT="off", **smtp_server.settings())
    assert submit(app.test_client(), "steady", "p@example.com").status_code == 303

    def locked(*_args):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(services_of(app).deliveries, "promote_waitlists", locked)
    assert send_once(app).sent == 1
    assert "the sender's locked step failed" in caplog.text


def test_the_seated_people_query_reads_each_registration_once(make_app) -> None:
    from leadmagnet.store.seats import SEATED_PEOPLE

    store = services_of(make_app()).store
    if store.backend == "postgresql":
        plan = " ".join(str(tuple(r.values())) for r in store.query("EXPLAIN " + SEATED_PEOPLE, ("w",)))
        assert "SubPlan" not in plan  # PostgreSQL's name for a subquery run again for each row
        return
    plan = " ".join(str(tuple(r.values())) for r in store.query("EXPLAIN QUERY PLAN " + SEATED_PEOPLE, ("w",)))
    assert "CORRELATED" not in plan  # a min() per row read every seated row for each one


# -- the seat line on the landing page -------------------------------------------------------


def _take_seats(app, slug: str, count: int, start: int = 0) -> None:
    """Seat ``count`` people as the submission service does, without the form (so without its refresh)."""
    deliveries = services_of(app).deliveries
    offer = services_of(app).catalog.get(slug).offer
    for n in range(start, start + count):
        deliveries.record(deliveries.plan(offer), email=f"seat{n}@example.com", fields={}, meta={}, consented=False)


def test_a_webinar_says_how_few_seats_are_left_and_when_full_offers_the_waitlist(make_app, content_dir) -> None:
    write_webinar(content_dir, "filling", _future(), capacity=12)
    app = make_app(RATE_LIMIT="off")
    client, store = app.test_client(), services_of(app).store
    page = client.get("/filling").get_data(as_text=True)
    assert "seats left" not in page and "Register for free" in page  # twelve left: plenty, nothing said
    for n in range(3):
        assert submit(client, "filling", f"early{n}@example.com").status_code == 303
    page = client.get("/filling").get_data(as_text=True)  # a registration refreshes the count at once
    assert "Only 9 seats left." in page and "Register for free" in page
    for n in range(8):
        assert submit(client, "filling", f"late{n}@example.com").status_code == 303
    assert "Only 1 seat left." in client.get("/filling").get_data(as_text=True)
    assert submit(client, "filling", "last@example.com").status_code == 303
    assert store.seats_taken("filling") == 12
    page = client.get("/filling").get_data(as_text=True)
    assert "This webinar is full" in page and "Join the waitlist" in page
    assert re.search(r'<button type="submit">Join the waitlist</button>', page)
    assert 'name="email"' in page  # the form still works: beyond capacity is the waitlist
    assert "This webinar is full" in _thanks(client, submit(client, "filling", "waiting@example.com"))
    assert [s["status"] for s in store.submissions()].count("waitlisted") == 1
    # A form shown again with an error keeps the waitlist's call to action.
    again = client.post("/filling", data={"email": "not-an-address"})
    assert again.status_code == 422 and "Join the waitlist" in again.get_data(as_text=True)


def test_the_seat_count_is_read_at_most_once_a_minute_and_keys_the_page_cache(make_app, content_dir, monkeypatch) -> None:
    write_webinar(content_dir, "busy", _future(), capacity=3)
    app = make_app(RATE_LIMIT="off")
    client, services = app.test_client(), services_of(app)
    clock = [1000.0]
    services.renderer.clock = lambda: clock[0]
    reads: list[str] = []
    real = services.store.seats_taken

    def counting(slug: str) -> int:
        reads.append(slug)
        return real(slug)

    monkeypatch.setattr(services.store, "seats_taken", counting)
    first = [client.get("/busy") for _ in range(5)]
    assert "Only 3 seats left." in first[0].get_data(as_text=True)
    assert len({r.headers["ETag"] for r in first}) == 1 and reads == ["busy"]
    _take_seats(app, "busy", 1)  # not through the form: the page learns it within a minute
    clock[0] += 59
    assert "Only 3 seats left." in client.get("/busy").get_data(as_text=True) and len(reads) == 1
    clock[0] += 1
    later = client.get("/busy")
    assert "Only 2 seats left." in later.get_data(as_text=True) and len(reads) == 2
    assert later.headers["ETag"] != first[0].headers["ETag"]
    assert client.get("/busy", headers={"If-None-Match": later.headers["ETag"]}).status_code == 304
    # The seats of an offer without a capacity, or of an ebook, are never counted.
    client.get("/growth-playbook")
    client.get("/q1-product-demo")  # capacity 100, none taken: counted once, nothing shown
    assert reads.count("growth-playbook") == 0 and reads.count("q1-product-demo") == 1
    assert "seats left" not in client.get("/q1-product-demo").get_data(as_text=True)


def test_a_page_whose_seats_cannot_be_counted_still_serves_without_the_seat_line(make_app, content_dir, monkeypatch) -> None:
    from leadmagnet.store import DatabaseError

    write_webinar(content_dir, "unknown", _future(), capacity=1)
    app = make_app()
    services = services_of(app)

    def broken(slug: str) -> int:
        raise DatabaseError("disk I/O error")

    monkeypatch.setattr(services.store, "seats_taken", broken)
    response = app.test_client().get("/unknown")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Register for free" in page and "seat left" not in page and "webinar is full" not in page


def test_the_static_export_has_no_seat_line(make_app, content_dir, instance_dir, tmp_path, cli_runner) -> None:
    write_webinar(content_dir, "exported-full", _future(), capacity=1)
    app = make_app(RATE_LIMIT="off")
    _take_seats(app, "exported-full", 1)
    assert "This webinar is full" in app.test_client().get("/exported-full").get_data(as_text=True)
    from leadmagnet.cli import cli

    out = tmp_path / "site"
    result = cli_runner.invoke(cli, ["--content", str(content_dir), "--instance", str(instance_dir), "build", str(out)])
    assert result.exit_code == 0, result.output
    page = (out / "exported-full.html").read_text()
    assert "Register for free" in page and "webinar is full" not in page and "seats left" not in page and "seat left" not in page


# -- "Starts in 3 days" and the seat-line threshold ------------------------------------------


def _paris_webinar(starts_at: str) -> Offer:
    return Offer(
        slug="w",
        type="webinar",
        title="W",
        source="w.md",
        starts_at=datetime.fromisoformat(starts_at),
        timezone="Europe/Paris",
        duration_minutes=60,
    )


def test_starts_in_counts_calendar_days_in_the_webinars_zone_then_hours() -> None:
    offer = _paris_webinar("2027-03-10T09:00:00+01:00")
    at = datetime.fromisoformat
    assert webinar.starts_in(offer, at("2027-03-07T10:00:00+01:00")) == "Starts in 3 days"
    # 23:30 UTC on the 7th is already the 8th in Paris: two days, as the page's date says.
    assert webinar.starts_in(offer, at("2027-03-07T23:30:00+00:00")) == "Starts in 2 days"
    assert webinar.starts_in(offer, at("2027-03-08T23:30:00+00:00")) == "Starts tomorrow"  # the 9th in Paris
    assert webinar.starts_in(offer, at("2027-03-09T08:00:00+01:00")) == "Starts tomorrow"
    assert webinar.starts_in(offer, at("2027-03-10T00:30:00+01:00")) == "Starts in 8 hours"
    assert webinar.starts_in(offer, at("2027-03-10T07:59:00+01:00")) == "Starts in 1 hour"
    assert webinar.starts_in(offer, at("2027-03-10T08:01:00+01:00")) == "Starts in less than an hour"
    assert webinar.starts_in(offer, at("2027-03-10T09:00:00+01:00")) is None  # started
    ebook = Offer(slug="e", type="ebook", title="E", source="e.md")
    assert webinar.starts_in(ebook, at("2027-03-07T10:00:00+01:00")) is None


def test_the_seat_line_shows_below_the_configured_threshold(make_app, content_dir) -> None:
    write_webinar(content_dir, "small", _future(), capacity=10)
    app = make_app(RATE_LIMIT="off", SEATS_LEFT_SHOWN=3)
    client = app.test_client()
    _take_seats(app, "small", 6)
    assert "seats left" not in client.get("/small").get_data(as_text=True)  # four left: more than 3
    assert submit(client, "small", "one@example.com").status_code == 303  # refreshes the count
    assert "Only 3 seats left." in client.get("/small").get_data(as_text=True)
    never = make_app(RATE_LIMIT="off", SEATS_LEFT_SHOWN=0)
    _take_seats(never, "small", 2, start=100)
    page = never.test_client().get("/small").get_data(as_text=True)
    assert "seats left" not in page and "seat left" not in page  # one left, but 0 shows only "full"
    _take_seats(never, "small", 1, start=200)
    services_of(never).renderer.seats_changed("small")
    assert "This webinar is full" in never.test_client().get("/small").get_data(as_text=True)
