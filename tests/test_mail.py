"""The outbox and the sender, against a real SMTP server (aiosmtpd on 127.0.0.1).

Messages are received and parsed: multipart text + HTML, the site name as sender name, the
unsubscribe headers. The sender retries a refused message with a doubling wait, records every
attempt, and loses nothing when it dies between claiming and sending. International addresses
go out with SMTPUTF8 or in their ASCII form (the sender's too, with an ASCII Message-ID), a site
name with commas or parentheses stays one sender name, and no single email can stop a pass.
"""

from __future__ import annotations

import email
import re
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from email import policy

import pytest

from leadmagnet.app import start_serving
from leadmagnet.delivery import mail
from leadmagnet.delivery.emails import safe_first_name
from leadmagnet.web import services_of
from tests.support.content import JOIN_URL, submit, write_webinar
from tests.support.smtp import body_text
from tests.support.waiting import collect_lines, wait_until

pytestmark = pytest.mark.both_backends

EBOOK = "growth-playbook"
EBOOK_FIELDS = {"first_name": "Ann", "company": "Acme", "team_size": "1", "consent": "y"}


def send_once(app, now: datetime | None = None) -> mail.SendReport:
    """One pass of the app's sender (``leadmagnet send``)."""
    return services_of(app).deliveries.send_once(now)


@pytest.fixture
def smtp_app(make_app, smtp_server):
    return make_app(RATE_LIMIT="off", SITE_NAME="Acme Offers", **smtp_server.settings())


def test_sender_delivers_multipart_with_site_name_and_unsubscribe_headers(smtp_app, smtp_server) -> None:
    client = smtp_app.test_client()
    assert submit(client, EBOOK, "ann@example.com", **EBOOK_FIELDS).status_code == 303
    store = services_of(smtp_app).store
    assert [row["status"] for row in store.outbox()] == ["queued"]  # written with the submission

    report = send_once(smtp_app)

    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    [msg] = smtp_server.inbox.messages
    assert smtp_server.inbox.envelopes == [("offers@example.com", ["ann@example.com"])]
    assert msg["From"] == "Acme Offers <offers@example.com>"
    assert msg["To"] == "ann@example.com"
    assert msg["Subject"] == "Your copy of The Growth Playbook"
    assert msg.get_content_type() == "multipart/alternative"
    text, html = body_text(msg), body_text(msg, "html")
    assert "The Growth Playbook" in text and "The Growth Playbook" in html
    assert "/download/" in text and "/download/" in html
    unsubscribe = msg["List-Unsubscribe"].strip()
    assert unsubscribe.startswith("<http://127.0.0.1:5000/unsubscribe/") and unsubscribe.endswith(">")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe[1:-1] in text and unsubscribe[1:-1] in html
    [row] = store.outbox()
    assert row["status"] == "sent" and row["attempts"] == 1 and row["sent_at"]
    assert [a["ok"] for a in store.email_attempts(row["id"])] == [1]


def test_retry_after_the_server_refuses_once(smtp_app, smtp_server) -> None:
    client = smtp_app.test_client()
    submit(client, EBOOK, "ann@example.com", **EBOOK_FIELDS)
    store = services_of(smtp_app).store
    smtp_server.inbox.refuse_next = 1
    t0 = datetime.now(UTC)

    first = send_once(smtp_app, now=t0)
    assert (first.sent, first.retried) == (0, 1)
    [row] = store.outbox()
    assert row["status"] == "queued" and row["attempts"] == 1 and "451" in row["last_error"]
    assert datetime.fromisoformat(row["next_attempt_at"]) == t0 + timedelta(seconds=60)

    early = send_once(smtp_app, now=t0 + timedelta(seconds=30))
    assert early.sent == 0 and smtp_server.inbox.messages == []

    later = send_once(smtp_app, now=t0 + timedelta(seconds=61))
    assert later.sent == 1
    assert len(smtp_server.inbox.messages) == 1 and smtp_server.inbox.refused == 1
    [row] = store.outbox()
    assert row["status"] == "sent" and row["attempts"] == 2
    attempts = store.email_attempts(row["id"])
    assert [a["ok"] for a in attempts] == [0, 1] and "451" in attempts[0]["error"]


def test_backoff_doubles_and_the_email_fails_after_max_attempts(make_app, smtp_server) -> None:
    app = make_app(RATE_LIMIT="off", MAIL_MAX_ATTEMPTS=3, MAIL_RETRY_SECONDS=10, **smtp_server.settings())
    submit(app.test_client(), EBOOK, "ann@example.com", **EBOOK_FIELDS)
    store = services_of(app).store
    smtp_server.inbox.refuse_next = 100
    now = datetime.now(UTC)
    waits = []
    for _ in range(3):
        send_once(app, now=now)
        [row] = store.outbox()
        if row["status"] == "queued":
            due = datetime.fromisoformat(row["next_attempt_at"])
            waits.append((due - now).total_seconds())
            now = due
    assert waits == [10, 20]
    [row] = store.outbox()
    assert row["status"] == "failed" and row["attempts"] == 3
    assert len(store.email_attempts(row["id"])) == 3
    assert send_once(app, now=now + timedelta(days=1)).sent == 0  # failed for good: not retried


THREE_ADDRESSES = ["ann@example.com", "jörg@example.com", "bob@example.com"]


def test_an_international_address_is_sent_with_smtputf8_between_ascii_ones(make_app, smtputf8_server) -> None:
    app = make_app(RATE_LIMIT="off", **smtputf8_server.settings())
    client = app.test_client()
    for address in THREE_ADDRESSES:
        assert submit(client, EBOOK, address, **EBOOK_FIELDS).status_code == 303

    report = send_once(app)

    assert (report.sent, report.retried, report.failed) == (3, 0, 0)
    assert [rcpt for _, rcpt in smtputf8_server.inbox.envelopes] == [[address] for address in THREE_ADDRESSES]
    assert [m["To"] for m in smtputf8_server.inbox.messages] == THREE_ADDRESSES
    assert "/download/" in body_text(smtputf8_server.inbox.messages[1])
    store = services_of(app).store
    assert [row["status"] for row in store.outbox()] == ["sent", "sent", "sent"]


def test_without_smtputf8_the_international_address_fails_for_good_and_the_others_go_out(make_app, ascii_only_smtp_server) -> None:
    app = make_app(RATE_LIMIT="off", **ascii_only_smtp_server.settings())
    client = app.test_client()
    for address in THREE_ADDRESSES:
        submit(client, EBOOK, address, **EBOOK_FIELDS)
    now = datetime.now(UTC)

    report = send_once(app, now=now)

    assert (report.sent, report.retried, report.failed) == (2, 0, 1)
    assert [rcpt for _, rcpt in ascii_only_smtp_server.inbox.envelopes] == [["ann@example.com"], ["bob@example.com"]]
    store = services_of(app).store
    ann, jorg, bob = store.outbox()
    assert (ann["status"], bob["status"]) == ("sent", "sent")
    assert jorg["status"] == "failed" and jorg["attempts"] == 1
    assert "the mail server does not accept international addresses (SMTPUTF8)" in jorg["last_error"]
    [attempt] = store.email_attempts(jorg["id"])
    assert attempt["ok"] == 0 and attempt["error"] == jorg["last_error"]
    # failed for good: not tried again, even once any lease has run out
    later = send_once(app, now=now + timedelta(seconds=mail.LEASE_SECONDS + 1))
    assert (later.sent, later.retried, later.failed) == (0, 0, 0)
    assert len(store.email_attempts(jorg["id"])) == 1


def test_an_idn_domain_is_sent_to_its_punycode_address(make_app, ascii_only_smtp_server) -> None:
    app = make_app(RATE_LIMIT="off", **ascii_only_smtp_server.settings())
    assert submit(app.test_client(), EBOOK, "ann@exämple.com", **EBOOK_FIELDS).status_code == 303
    store = services_of(app).store
    assert store.get_contact_by_email("ann@exämple.com") is not None  # the contact keeps its address in Unicode

    report = send_once(app)  # no SMTPUTF8 needed: the address has an ASCII form

    assert report.sent == 1
    assert ascii_only_smtp_server.inbox.envelopes == [("offers@example.com", ["ann@xn--exmple-cua.com"])]
    [msg] = ascii_only_smtp_server.inbox.messages
    assert msg["To"] == "ann@xn--exmple-cua.com"


def mailboxes(header) -> list[tuple[str, str]]:
    """The (display name, address) pairs of a parsed address header, in Unicode.

    The standard parser leaves the raw UTF-8 of an SMTPUTF8 message surrogate-escaped in the parts of
    an address (though not in the header's text): undone here, to compare with what was configured.
    """

    def text(value: str) -> str:
        return value.encode("utf-8", "surrogateescape").decode("utf-8")

    return [(text(address.display_name), text(address.addr_spec)) for address in header.addresses]


def raw_header(raw: bytes, name: str) -> bytes:
    """The unparsed value of header ``name`` in the raw message ``raw``."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    [value] = [line.split(b":", 1)[1].strip() for line in head.split(b"\r\n") if line.lower().startswith(name.lower().encode() + b":")]
    return value


@pytest.mark.parametrize("site_name", ["Café, Inc.", "Müller (GmbH)"])
@pytest.mark.parametrize("to_addr", ["ann@example.com", "jörg@example.com"])
def test_a_site_name_with_commas_or_parentheses_is_one_sender_name(make_app, smtputf8_server, site_name, to_addr) -> None:
    app = make_app(RATE_LIMIT="off", SITE_NAME=site_name, **smtputf8_server.settings())
    assert submit(app.test_client(), EBOOK, to_addr, **EBOOK_FIELDS).status_code == 303

    assert send_once(app).sent == 1

    [row] = services_of(app).store.outbox()
    raw_from = raw_header(row["message"], "From")
    if to_addr.isascii():  # SMTP policy: the name as one encoded word, the header ASCII
        assert raw_from.isascii() and raw_from.count(b"=?utf-8?") == 1, raw_from
    else:  # SMTPUTF8 policy: the name as a UTF-8 quoted string
        assert raw_from == f'"{site_name}" <offers@example.com>'.encode(), raw_from
    for msg in (email.message_from_bytes(row["message"], policy=policy.default), *smtputf8_server.inbox.messages):
        assert mailboxes(msg["From"]) == [(site_name, "offers@example.com")]  # one address, the whole name


def test_a_sender_address_with_a_non_ascii_local_part_is_sent_with_smtputf8(make_app, smtputf8_server) -> None:
    settings = dict(smtputf8_server.settings(), SMTP_FROM="jörg@exämple.com")
    app = make_app(RATE_LIMIT="off", SITE_NAME="Acme Offers", **settings)
    for address in ("ann@example.com", "bob@exämple.com"):
        assert submit(app.test_client(), EBOOK, address, **EBOOK_FIELDS).status_code == 303

    report = send_once(app)

    assert (report.sent, report.retried, report.failed) == (2, 0, 0)
    assert smtputf8_server.inbox.envelopes == [
        ("jörg@exämple.com", ["ann@example.com"]),
        ("jörg@exämple.com", ["bob@xn--exmple-cua.com"]),
    ]
    for msg in smtputf8_server.inbox.messages:
        assert mailboxes(msg["From"]) == [("Acme Offers", "jörg@exämple.com")]
        # Message-IDs are ASCII: the sender's domain in its IDNA (punycode) form
        assert msg["Message-ID"].isascii() and msg["Message-ID"].endswith("@xn--exmple-cua.com>"), msg["Message-ID"]


def test_without_smtputf8_a_non_ascii_sender_address_fails_for_good_naming_smtp_from(make_app, ascii_only_smtp_server) -> None:
    settings = dict(ascii_only_smtp_server.settings(), SMTP_FROM="jörg@example.com")
    app = make_app(RATE_LIMIT="off", **settings)
    submit(app.test_client(), EBOOK, "ann@example.com", **EBOOK_FIELDS)

    report = send_once(app)

    assert (report.sent, report.retried, report.failed) == (0, 0, 1)
    assert ascii_only_smtp_server.inbox.envelopes == []
    [row] = services_of(app).store.outbox()
    assert row["status"] == "failed" and row["attempts"] == 1
    assert row["last_error"].startswith("Undeliverable: the mail server does not accept international addresses (SMTPUTF8)")
    assert "SMTP_FROM" in row["last_error"], row["last_error"]


def test_message_ids_use_the_punycode_form_of_an_idn_sender_domain(make_app, ascii_only_smtp_server) -> None:
    settings = dict(ascii_only_smtp_server.settings(), SMTP_FROM="offers@exämple.com")
    app = make_app(RATE_LIMIT="off", **settings)
    submit(app.test_client(), EBOOK, "ann@example.com", **EBOOK_FIELDS)

    assert send_once(app).sent == 1  # an ASCII form exists: no SMTPUTF8 needed

    assert ascii_only_smtp_server.inbox.envelopes == [("offers@xn--exmple-cua.com", ["ann@example.com"])]
    [msg] = ascii_only_smtp_server.inbox.messages
    assert msg["Message-ID"].endswith("@xn--exmple-cua.com>"), msg["Message-ID"]


def test_an_unexpected_error_costs_that_email_an_attempt_and_the_pass_goes_on(smtp_app, smtp_server, monkeypatch, caplog) -> None:
    client = smtp_app.test_client()
    for address in ("ann@example.com", "bob@example.com", "cat@example.com"):
        submit(client, EBOOK, address, **EBOOK_FIELDS)
    store = services_of(smtp_app).store
    bob_id = store.outbox()[1]["id"]
    deliveries = services_of(smtp_app).deliveries
    render_queued = deliveries.render_queued

    def buggy_render(row, now=None):
        # A renderer bug that only shows when sending: text instead of bytes, and not ASCII.
        return "Subject: Grüße\r\n\r\nHallo" if row["id"] == bob_id else render_queued(row, now)

    monkeypatch.setattr(deliveries, "render_queued", buggy_render)
    now = datetime.now(UTC)

    report = send_once(smtp_app, now=now)

    assert (report.sent, report.retried, report.failed) == (2, 1, 0)
    assert [rcpt for _, rcpt in smtp_server.inbox.envelopes] == [["ann@example.com"], ["cat@example.com"]]
    assert [row["status"] for row in store.outbox()] == ["sent", "queued", "sent"]  # none left leased
    bob = store.outbox()[1]
    assert bob["attempts"] == 1 and bob["last_error"].startswith("UnicodeEncodeError: ")
    assert datetime.fromisoformat(bob["next_attempt_at"]) == now + timedelta(seconds=60)  # retried like any failure
    [attempt] = store.email_attempts(bob_id)
    assert attempt["ok"] == 0 and attempt["error"] == bob["last_error"]
    [logged] = [r for r in caplog.records if r.name == "leadmagnet.delivery.mail" and "bob@example.com" in r.getMessage()]
    assert logged.exc_info is not None and logged.exc_info[0] is UnicodeEncodeError  # with its traceback


def test_no_email_is_lost_when_the_sender_dies_between_claim_and_send(smtp_app, smtp_server, tmp_path) -> None:
    client = smtp_app.test_client()
    submit(client, EBOOK, "ann@example.com", **EBOOK_FIELDS)
    submit(client, EBOOK, "bob@example.com", **EBOOK_FIELDS)
    cfg = smtp_app.config
    # A real sender process claims the due emails, then dies before sending any (kill -9 alike).
    script = textwrap.dedent(
        f"""
        import os
        from leadmagnet.app import create_app
        from leadmagnet.delivery import mail
        from leadmagnet.web import services_of
        app = create_app({{"CONTENT_DIR": {cfg["CONTENT_DIR"]!r}, "INSTANCE_DIR": {cfg["INSTANCE_DIR"]!r}, "DATABASE": {cfg["DATABASE"]!r},
                          "THEMES_DIR": {cfg["THEMES_DIR"]!r}, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": {cfg["SMTP_PORT"]}}})
        services = services_of(app)
        mail.send_due(services.store, services.settings, after_claim=lambda rows: os._exit(9))
        """
    )
    died = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, timeout=60)
    assert died.returncode == 9
    store = services_of(smtp_app).store
    assert [r["status"] for r in store.outbox()] == ["sending", "sending"]
    assert smtp_server.inbox.messages == []

    # While the dead sender's lease runs, nobody else sends them (no duplicates)...
    assert send_once(smtp_app).sent == 0
    # ...and once it has run out, the next pass delivers both.
    after_lease = datetime.now(UTC) + timedelta(seconds=mail.LEASE_SECONDS + 1)
    assert send_once(smtp_app, now=after_lease).sent == 2
    assert sorted(m["To"] for m in smtp_server.inbox.messages) == ["ann@example.com", "bob@example.com"]
    assert [r["status"] for r in store.outbox()] == ["sent", "sent"]


def test_a_pass_never_sends_past_its_lease_another_sender_may_then_hold(smtp_app, smtp_server) -> None:
    from leadmagnet.delivery import mail

    client = smtp_app.test_client()
    submit(client, EBOOK, "ann@example.com", **EBOOK_FIELDS)
    store = services_of(smtp_app).store
    # A pass that reaches the row when its lease is nearly over (a paused VM, a slow SMTP server
    # before it; the clock is injected) sends nothing more and leaves the row held.
    nearly_over = lambda: datetime.now(UTC) + timedelta(seconds=mail.LEASE_SECONDS) - mail.LEASE_MARGIN  # noqa: E731
    assert mail.send_due(store, smtp_app.config, clock=nearly_over).sent == 0
    assert [r["status"] for r in store.outbox()] == ["sending"] and smtp_server.inbox.messages == []
    # Once that lease is over, the next pass (any sender's) claims the row and sends it, once.
    assert send_once(smtp_app, now=datetime.now(UTC) + timedelta(seconds=mail.LEASE_SECONDS + 1)).sent == 1
    assert [m["To"] for m in smtp_server.inbox.messages] == ["ann@example.com"]
    assert [r["status"] for r in store.outbox()] == ["sent"]


def test_without_smtp_emails_are_written_as_eml_files_by_the_send_command(make_app, cli_runner, content_dir, instance_dir) -> None:
    app = make_app(RATE_LIMIT="off")
    submit(app.test_client(), EBOOK, "ann@example.com", **EBOOK_FIELDS)
    from leadmagnet.cli import cli

    env = {"LEADMAGNET_DATABASE": app.config["DATABASE"]}
    result = cli_runner.invoke(cli, ["--content", str(content_dir), "--instance", str(instance_dir), "send"], env=env)
    assert result.exit_code == 0, result.output
    [eml] = sorted((instance_dir / "outbox").glob("*.eml"))
    assert str(eml) in result.output
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert msg["To"] == "ann@example.com" and "/download/" in body_text(msg)
    # a second run finds nothing left to send
    again = cli_runner.invoke(cli, ["--content", str(content_dir), "--instance", str(instance_dir), "send"], env=env)
    assert again.exit_code == 0 and "0 sent" in again.output and len(list((instance_dir / "outbox").glob("*.eml"))) == 1


def test_emails_echo_only_the_first_name_stripped_of_links_and_markup(smtp_app, smtp_server) -> None:
    fields = dict(
        EBOOK_FIELDS, first_name="Eve <a href='http://spam.example/x'>CLICK</a> www.cheap-pills.biz", company="BUY http://spam.example"
    )
    submit(smtp_app.test_client(), EBOOK, "eve@example.com", **fields)
    send_once(smtp_app)
    [msg] = smtp_server.inbox.messages
    for text in (body_text(msg), body_text(msg, "html")):
        assert "Hi Eve CLICK," in text
        assert "spam.example" not in text and "cheap-pills" not in text and "<a href='http" not in text and "BUY" not in text


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("Ann", "Ann"),
        ("  Jean-Luc  ", "Jean-Luc"),
        ("Zoë", "Zoë"),
        ("<script>alert(1)</script>Bob", "alert(1) Bob"),
        ("Win at http://spam.example now", "Win at now"),
        ("visit www.spam.biz", "visit"),
        ("casino.com", ""),
        ("mail me@spam.example", "mail"),
        ("x" * 100, "x" * 40),
        (None, ""),
    ],
)
def test_safe_first_name(raw, shown) -> None:
    assert safe_first_name(raw) == shown


def test_reminders_are_queued_once_per_registrant_before_the_start(make_app, content_dir, smtp_server) -> None:
    starts = (datetime.now(UTC) + timedelta(minutes=30)).replace(microsecond=0)
    write_webinar(content_dir, "soon", starts)
    app = make_app(RATE_LIMIT="off", REMINDER_MINUTES=60, **smtp_server.settings())
    client = app.test_client()
    submit(client, "soon", "ann@example.com", first_name="Ann")
    submit(client, "soon", "bob@example.com", first_name="Bob")
    first = send_once(app)
    assert first.reminders == 2 and first.sent == 4  # two confirmations, two reminders
    assert send_once(app).reminders == 0  # once per registrant
    reminders = [m for m in smtp_server.inbox.messages if m["Subject"].startswith("Starting soon")]
    assert sorted(m["To"] for m in reminders) == ["ann@example.com", "bob@example.com"]
    assert JOIN_URL in body_text(reminders[0])
    [ics] = [part for part in reminders[0].iter_attachments() if part.get_content_type() == "text/calendar"]
    assert "BEGIN:VEVENT" in ics.get_content()


def test_no_reminder_for_unsubscribed_registrants_or_far_webinars(make_app, content_dir, smtp_server) -> None:
    write_webinar(content_dir, "soon", datetime.now(UTC) + timedelta(minutes=30))
    write_webinar(content_dir, "later", datetime.now(UTC) + timedelta(days=3))
    app = make_app(RATE_LIMIT="off", REMINDER_MINUTES=60, **smtp_server.settings())
    client = app.test_client()
    submit(client, "soon", "ann@example.com")
    submit(client, "later", "bob@example.com")
    store = services_of(app).store
    store.unsubscribe(store.get_contact_by_email("ann@example.com")["id"], datetime.now(UTC).isoformat())
    assert send_once(app).reminders == 0
    assert not [m for m in smtp_server.inbox.messages if m["Subject"].startswith("Starting soon")]


def test_the_sender_can_run_inside_the_server_process(make_app, smtp_server) -> None:
    app = make_app(RATE_LIMIT="off", SEND_IN_SERVER=True, SEND_INTERVAL=0.1, **smtp_server.settings())
    assert services_of(app).sender is None  # building the app (as the CLI does) starts nothing
    start_serving(app)  # what a serving process runs: wsgi.py in each worker, `leadmagnet serve`
    sender = services_of(app).sender
    assert sender is not None and sender.is_alive()
    try:
        submit(app.test_client(), EBOOK, "ann@example.com", **EBOOK_FIELDS)
        wait_until(lambda: smtp_server.inbox.messages, timeout=30, what="the background sender delivered")
        assert [m["To"] for m in smtp_server.inbox.messages] == ["ann@example.com"]
        start_serving(app)
        assert services_of(app).sender is sender  # one sender a process
    finally:
        sender.stop()
    assert not sender.is_alive()


@pytest.mark.parametrize("stop_signal", ["SIGINT", "SIGTERM"])
def test_send_watch_keeps_sending_until_interrupted(make_app, content_dir, instance_dir, tmp_path, stop_signal) -> None:
    """Ctrl-C or a service manager's SIGTERM ends the watch cleanly, even when the shell that started it
    ignores SIGINT (a background job of a script)."""
    import os
    import signal
    from pathlib import Path

    app = make_app(RATE_LIMIT="off")
    client = app.test_client()
    submit(client, EBOOK, "ann@example.com", **EBOOK_FIELDS)
    exe = Path(sys.executable).with_name("leadmagnet")
    env = {
        **os.environ,
        "LEADMAGNET_SEND_INTERVAL": "0.2",
        "LEADMAGNET_THEMES_DIR": str(tmp_path / "themes"),
        "LEADMAGNET_DATABASE": app.config["DATABASE"],
        "PYTHONUNBUFFERED": "1",
    }
    proc = subprocess.Popen(
        [str(exe), "--content", str(content_dir), "--instance", str(instance_dir), "send", "--watch"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # what `cmd &` in a script does
    )
    out = collect_lines(proc.stdout)

    def wrote(n: int) -> bool:
        return sum(line.startswith("wrote ") for line in out) == n

    try:
        outbox = instance_dir / "outbox"
        wait_until(lambda: wrote(1), timeout=30, what="the first pass wrote one email")
        assert len(list(outbox.glob("*.eml"))) == 1
        submit(client, EBOOK, "bob@example.com", **EBOOK_FIELDS)  # a later email goes out too
        wait_until(lambda: wrote(2), timeout=30, what="a later pass wrote the second email")
        assert len(list(outbox.glob("*.eml"))) == 2
    finally:
        proc.send_signal(getattr(signal, stop_signal))
        try:
            proc.wait(timeout=30)  # stdout is read by collect_lines; stderr is short
        finally:
            if proc.poll() is None:  # it did not stop: fail, but leave no sender running behind
                proc.kill()
                proc.wait()
    stderr = proc.stderr.read().decode()
    assert proc.returncode == 0, stderr
    assert stderr.rstrip().endswith("stopped"), stderr
    assert wrote(2)


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("SMTP_FROM", "news at example.com", "LEADMAGNET_SMTP_FROM: 'news at example.com' is not an email address"),
        ("SMTP_FROM", "", "LEADMAGNET_SMTP_FROM: '' is not an email address"),
        ("SMTP_FROM", "news@example.com ", "is not an email address (it has a space at the start or end: remove it)"),
        ("SITE_NAME", "Acme\r\nBcc: everyone@example.com", "LEADMAGNET_SITE_NAME: it is the emails' sender name, so it must be one line"),
    ],
)
def test_sender_settings_that_cannot_make_an_email_stop_the_app_at_start(make_app, setting: str, value: str, message: str) -> None:
    # Not every email failing later in the outbox, with the site apparently fine.
    with pytest.raises(ValueError, match=re.escape(message)):
        make_app(**{setting: value})


def test_the_default_sender_on_localhost_is_accepted(make_app) -> None:
    assert make_app().config["SMTP_FROM"] == "leadmagnet@localhost"
