"""Delivery end to end: a real HTTP server, a real SMTP server (aiosmtpd), and the links in the
received emails followed over HTTP: downloads, calendar files, double opt-in, unsubscribing.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest
from icalendar import Calendar

from leadmagnet.web import services_of
from tests.support.content import JOIN_URL, write_ebook, write_webinar
from tests.support.servers import start_live_server
from tests.support.smtp import body_text

pytestmark = pytest.mark.both_backends

DATA = b"%PDF-1.4\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"


@pytest.fixture
def site(make_app, content_dir, smtp_server):
    """An app with an ebook, a double opt-in ebook and a webinar, served over HTTP, mailing via aiosmtpd."""
    write_ebook(content_dir, "handbook", DATA, filename="handbook.pdf")
    write_ebook(content_dir, "checked", DATA, filename="checked.pdf", extra="double_opt_in: true")
    write_webinar(content_dir, "live-demo", (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0), capacity=1)
    app = make_app(RATE_LIMIT="off", SITE_NAME="Acme", **smtp_server.settings())
    server = start_live_server(app)
    try:
        yield server
    finally:
        server.stop()


def post(url: str, data: dict[str, str], headers: dict[str, str] | None = None) -> tuple[int, str]:
    """POST a form over HTTP (following the 303 like a browser); return the final status and page."""
    request = urllib.request.Request(url, data=urllib.parse.urlencode(data).encode(), headers=headers or {}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def get(url: str) -> tuple[int, bytes, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def link(text: str, path: str) -> str:
    [url] = set(re.findall(rf"(http://127\.0\.0\.1:\d+/{path}/[A-Za-z0-9_.\-]+)", text))
    return url


def send_once(app, now: datetime | None = None):
    """One pass of the app's sender (``leadmagnet send``)."""
    return services_of(app).deliveries.send_once(now)


def send(site) -> None:
    report = send_once(site.app)
    assert report.failed == 0 and report.retried == 0


def store(site):
    return services_of(site.app).store


def test_ebook_email_link_downloads_the_exact_file(site, smtp_server) -> None:
    status, page = post(f"{site.url}/handbook", {"email": "ann@example.com", "first_name": "Ann"})
    assert status == 200 and "Your download" in page
    send(site)
    [msg] = smtp_server.inbox.messages
    assert msg["Subject"] == "Your copy of Ebook handbook"
    url = link(body_text(msg), "download")
    assert url == link(body_text(msg, "html"), "download")
    status, body, headers = get(url)
    assert status == 200 and body == DATA
    assert headers["Content-Disposition"] == "attachment; filename=handbook.pdf"


def test_webinar_email_has_the_details_and_a_working_calendar(site, smtp_server) -> None:
    status, page = post(f"{site.url}/live-demo", {"email": "ann@example.com"})
    assert status == 200 and JOIN_URL in page
    send(site)
    [msg] = smtp_server.inbox.messages
    assert msg["Subject"] == "You're registered: Webinar live-demo"
    assert JOIN_URL in body_text(msg) and JOIN_URL in body_text(msg, "html")
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_content_type() == "text/calendar" and attachment.get_filename() == "live-demo.ics"
    attached = Calendar.from_ical(attachment.get_content())
    status, body, headers = get(link(body_text(msg), "calendar"))
    assert status == 200 and headers["Content-Type"].startswith("text/calendar")
    downloaded = Calendar.from_ical(body)
    assert str(downloaded.walk("VEVENT")[0]["UID"]) == str(attached.walk("VEVENT")[0]["UID"])
    assert str(downloaded.walk("VEVENT")[0]["URL"]) == JOIN_URL


def test_double_opt_in_delivers_only_after_a_post_confirmation(site, smtp_server) -> None:
    status, page = post(f"{site.url}/checked", {"email": "dora@example.com", "first_name": "Dora"})
    assert status == 200 and "Check your inbox" in page and "/download/" not in page
    send(site)
    [confirm_msg] = smtp_server.inbox.messages
    assert confirm_msg["Subject"] == "Please confirm your email to get Ebook checked"
    assert "/download/" not in body_text(confirm_msg)
    confirm_url = link(body_text(confirm_msg), "confirm")
    contact = store(site).get_contact_by_email("dora@example.com")
    assert contact["opt_in_status"] == "pending" and contact["opt_in_at"] is None

    # Mail scanners open every link: GETs change nothing.
    for _ in range(3):
        status, body, _headers = get(confirm_url)
        assert status == 200 and b'method="post"' in body and b"/download/" not in body
    [submission] = store(site).submissions("checked")
    assert submission["status"] == "pending" and submission["confirmed_at"] is None
    assert len(store(site).outbox()) == 1

    status, page = post(confirm_url, {})
    assert status == 200 and "you're confirmed" in page
    direct = link(page, "download")
    contact = store(site).get_contact_by_email("dora@example.com")
    assert contact["opt_in_status"] == "confirmed" and contact["opt_in_at"]
    [submission] = store(site).submissions("checked")
    assert submission["status"] == "ok" and submission["confirmed_at"]
    # confirming twice sends nothing more
    assert post(confirm_url, {})[0] == 200
    send(site)
    assert len(smtp_server.inbox.messages) == 2
    delivery_msg = smtp_server.inbox.messages[1]
    assert delivery_msg["Subject"] == "Your copy of Ebook checked"
    assert get(link(body_text(delivery_msg), "download"))[1] == DATA
    assert get(direct)[1] == DATA


def test_site_setting_turns_double_opt_in_on_and_an_offer_can_turn_it_off(make_app, content_dir) -> None:
    write_ebook(content_dir, "site-wide", DATA)
    write_ebook(content_dir, "opted-out", DATA, filename="b.pdf", extra="double_opt_in: false")
    app = make_app(RATE_LIMIT="off", DOUBLE_OPT_IN=True)
    client = app.test_client()
    client.post("/site-wide", data={"email": "a@example.com"})
    client.post("/opted-out", data={"email": "b@example.com"})
    statuses = {r["offer_slug"]: r["status"] for r in services_of(app).store.submissions()}
    assert statuses == {"site-wide": "pending", "opted-out": "ok"}


def test_webinar_seat_is_taken_at_confirmation(make_app, content_dir) -> None:
    write_webinar(content_dir, "tiny", datetime.now(UTC) + timedelta(days=2), capacity=1, extra="double_opt_in: true")
    app = make_app(RATE_LIMIT="off")
    client = app.test_client()
    client.post("/tiny", data={"email": "first@example.com"})
    client.post("/tiny", data={"email": "second@example.com"})
    db = services_of(app).store
    send_once(app)  # no SMTP configured: written as .eml files
    first_confirm, second_confirm = (re.search(rb"/confirm/([A-Za-z0-9_.-]+)", r["message"]).group(1).decode() for r in db.outbox())
    second = client.post(f"/confirm/{second_confirm}").get_data(as_text=True)
    first = client.post(f"/confirm/{first_confirm}").get_data(as_text=True)
    assert JOIN_URL in second
    assert "This webinar is full" in first and JOIN_URL not in first
    assert db.count_by_status("tiny") == {"ok": 1, "waitlisted": 1}


def test_unsubscribe_one_click_post_and_the_get_page(site, smtp_server) -> None:
    post(f"{site.url}/handbook", {"email": "ann@example.com"})
    send(site)
    [msg] = smtp_server.inbox.messages
    url = msg["List-Unsubscribe"].strip()[1:-1]
    assert url == link(body_text(msg), "unsubscribe")
    status, body, _headers = get(url)  # what a scanner or the person opening the link sees
    assert status == 200 and b"Press the button" in body
    assert store(site).get_contact_by_email("ann@example.com")["unsubscribed_at"] is None
    # RFC 8058: the mail program POSTs List-Unsubscribe=One-Click to the header's URL.
    status, page = post(url, {"List-Unsubscribe": "One-Click"}, {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200 and "You're unsubscribed" in page
    contact = store(site).get_contact_by_email("ann@example.com")
    assert contact["unsubscribed_at"] and contact["opt_in_status"] == "unsubscribed"
    first = contact["unsubscribed_at"]
    assert post(url, {})[0] == 200
    assert store(site).get_contact_by_email("ann@example.com")["unsubscribed_at"] == first  # the first time is kept


def test_unsubscribe_and_confirm_links_are_tamper_proof(site) -> None:
    for path in ("/unsubscribe/abc.def.ghi", "/confirm/abc.def.ghi"):
        assert get(site.url + path)[0] == 404
        assert post(site.url + path, {})[0] == 404


def test_a_broken_email_template_never_costs_the_lead(make_app, content_dir, tmp_path) -> None:
    write_ebook(content_dir, "handbook", DATA, extra="theme: broken")
    theme = tmp_path / "themes" / "broken" / "templates" / "email"
    theme.mkdir(parents=True)
    (theme / "download.txt").write_text("{{ nothing.here.at_all() }}")
    app = make_app(RATE_LIMIT="off")
    response = app.test_client().post("/handbook", data={"email": "ann@example.com"})
    assert response.status_code == 303
    db = services_of(app).store
    assert db.count_submissions("handbook") == 1
    report = send_once(app)
    assert (report.sent, report.retried) == (0, 1)
    [row] = db.outbox()
    assert row["status"] == "queued" and "could not build the email from template 'download'" in row["last_error"]
    # the marketer fixes the template: the retry goes out
    (theme / "download.txt").write_text("{% autoescape false %}Your link: {{ download_url }}{% endautoescape %}")
    services_of(app).renderer.reset()
    assert send_once(app, now=datetime.now(UTC) + timedelta(hours=1)).sent == 1
    assert b"Your link: http://127.0.0.1:5000/download/" in db.outbox()[0]["message"]


def test_expired_confirmation_link_says_what_to_do_and_confirms_nothing(make_app, content_dir) -> None:
    import time

    from leadmagnet.foundation import tokens

    write_ebook(content_dir, "checked", DATA, extra="double_opt_in: true")
    app = make_app(RATE_LIMIT="off", DOWNLOAD_TTL=60)
    client = app.test_client()
    client.post("/checked", data={"email": "late@example.com"})
    db = services_of(app).store
    [row] = db.submissions()
    sid = row["id"]
    old = tokens.dump_row(app.config["SECRET_KEY"], "confirm", sid, row["created_at"], issued_at=time.time() - 120)
    for response in (client.get(f"/confirm/{old}"), client.post(f"/confirm/{old}")):
        assert response.status_code == 410
        assert "This confirmation link has expired" in response.get_data(as_text=True)
    assert db.get_submission(sid)["status"] == "pending"


def test_spam_gets_the_check_your_inbox_page_and_nothing_else(make_app, content_dir) -> None:
    write_ebook(content_dir, "handbook", DATA)
    app = make_app(RATE_LIMIT="off")
    client = app.test_client()
    response = client.post("/handbook", data={"email": "bot@example.com", "website": "http://spam.example"})  # the honeypot
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Check your inbox" in page and "/download/" not in page
    db = services_of(app).store
    assert db.count_submissions("handbook", include_spam=True) == 1 and db.outbox() == []


def test_a_repeat_under_double_opt_in_never_shows_the_owners_links(make_app, content_dir) -> None:
    """Typing someone's confirmed address again gives "check your inbox", not their download link."""
    write_ebook(content_dir, "guarded", DATA, extra="double_opt_in: true")
    app = make_app(RATE_LIMIT="off")
    owner = app.test_client()
    first = owner.post("/guarded", data={"email": "owner@example.com"})
    [submission] = services_of(app).store.submissions()
    assert services_of(app).deliveries.confirm(services_of(app).catalog.get("guarded").offer, submission["id"]) is not None
    assert "/download/" in owner.get(first.headers["Location"]).get_data(as_text=True)  # the owner's own page

    stranger = app.test_client()
    repeat = stranger.post("/guarded", data={"email": "owner@example.com"})
    assert repeat.status_code == 303 and repeat.headers["Location"] != first.headers["Location"]
    page = stranger.get(repeat.headers["Location"]).get_data(as_text=True)
    assert "Check your inbox" in page and "/download/" not in page
    assert services_of(app).store.count_submissions("guarded") == 1


def test_an_old_confirm_link_clicked_after_unsubscribing_changes_nothing(make_app, content_dir) -> None:
    write_ebook(content_dir, "checked", DATA, extra="double_opt_in: true")
    app = make_app(RATE_LIMIT="off", DUPLICATE_WINDOW=0)
    client, db = app.test_client(), services_of(app).store
    client.post("/checked", data={"email": "gone@example.com"})
    send_once(app)  # no SMTP configured: written as .eml files
    [confirm_email] = db.outbox()
    text = body_text(message_from_bytes(confirm_email["message"], policy=policy.default))
    confirm_path = urllib.parse.urlsplit(link(text, "confirm")).path
    unsubscribe_path = urllib.parse.urlsplit(link(text, "unsubscribe")).path
    assert "You're unsubscribed" in client.post(unsubscribe_path).get_data(as_text=True)
    contact = db.get_contact_by_email("gone@example.com")

    for response in (client.get(confirm_path), client.post(confirm_path)):
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and "You're unsubscribed" in page
        assert "you're confirmed" not in page and "/download/" not in page and 'action="/confirm/' not in page
    assert db.get_contact_by_email("gone@example.com") == contact  # still unsubscribed, opt_in_at unset
    assert [(s["status"], s["confirmed_at"]) for s in db.submissions()] == [("pending", None)]
    assert [row["kind"] for row in db.outbox()] == ["confirm"]  # no delivery queued

    # Asking for the offer again is a new request: its own confirmation delivers it, and the
    # contact stays unsubscribed from everything else.
    client.post("/checked", data={"email": "gone@example.com"})
    send_once(app)
    fresh = db.outbox()[-1]
    assert fresh["kind"] == "confirm" and fresh["submission_id"] != confirm_email["submission_id"]
    fresh_path = urllib.parse.urlsplit(link(body_text(message_from_bytes(fresh["message"], policy=policy.default)), "confirm")).path
    assert "you're confirmed" in client.post(fresh_path).get_data(as_text=True)
    assert db.get_contact_by_email("gone@example.com")["opt_in_status"] == "unsubscribed"
    assert [row["kind"] for row in db.outbox()] == ["confirm", "confirm", "delivery"]


def test_a_sent_emails_text_is_dropped_after_the_retention_and_its_record_stays(site) -> None:
    app = site.app
    store = services_of(app).store
    assert post(f"{site.url}/handbook", {"email": "keep@example.com"})[0] == 200
    assert send_once(app).sent == 1
    [row] = store.outbox()
    assert row["status"] == "sent" and len(row["message"]) > 1000
    # Within the 30 days nothing is dropped; after them the bytes go, the record stays.
    assert send_once(app, datetime.now(UTC) + timedelta(days=29)).trimmed == 0
    assert send_once(app, datetime.now(UTC) + timedelta(days=31)).trimmed == 1
    [row] = store.outbox()
    assert (row["status"], row["message"], row["subject"], row["to_addr"]) == (
        "sent",
        b"",
        "Your copy of Ebook handbook",
        "keep@example.com",
    )
    assert row["sent_at"] and row["attempts"] == 1
    assert send_once(app, datetime.now(UTC) + timedelta(days=60)).trimmed == 0  # once is enough
    # Queued and failed emails keep their bytes whatever their age (a retry sends the same bytes).
    assert store.forget_sent_messages("9999-01-01T00:00:00+00:00") == 0


def test_keeping_sent_emails_forever(make_app, content_dir, smtp_server) -> None:
    write_ebook(content_dir, "handbook", DATA, filename="handbook.pdf")
    app = make_app(RATE_LIMIT="off", KEEP_SENT_EMAILS_DAYS=0, **smtp_server.settings())
    assert app.test_client().post("/handbook", data={"email": "keep@example.com"}).status_code == 303
    send_once(app)
    assert send_once(app, datetime.now(UTC) + timedelta(days=3650)).trimmed == 0
    assert len(services_of(app).store.outbox()[0]["message"]) > 1000
