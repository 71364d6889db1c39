"""The email policies made once: the cached header classes write the bytes the stdlib's own
registry writes, boundaries are ours and never inside a part, the sender's header is parsed once."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage

from leadmagnet.delivery import messages


def build(chosen: policy.EmailPolicy, to: Address, boundary: str) -> bytes:
    msg = EmailMessage(policy=chosen)
    msg["Subject"] = "Your copy of Ünïcode & friends: a very long subject line " * 3
    msg["From"] = Address("Café, Inc. (Müller)", username="news", domain="example.com")
    msg["To"] = to
    msg["Date"] = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
    msg["Message-ID"] = "<fixed@example.com>"
    msg["List-Unsubscribe"] = "<https://example.com/unsubscribe/" + "x" * 200 + ">"
    msg.set_content("Hello Ada,\n\nhere it is.\n")
    msg.make_alternative(boundary=boundary)
    msg.add_alternative("<p>Hello Ada, here it is.</p>", subtype="html")
    msg.make_mixed(boundary=boundary + "m")
    msg.add_attachment(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", maintype="text", subtype="calendar", filename="x.ics")
    return msg.as_bytes()


def test_cached_header_classes_write_the_same_bytes_as_the_stdlib_registry() -> None:
    ascii_to = Address("", username="ada", domain="example.com")
    utf8_to = Address("", username="jörg", domain="exämple.com")
    stock_smtp, stock_utf8 = policy.SMTP.clone(max_line_length=998), policy.SMTPUTF8.clone(max_line_length=998)
    for _ in range(2):  # the second time from the cache
        assert build(messages.SMTP, ascii_to, "b1") == build(stock_smtp, ascii_to, "b1")
        assert build(messages.SMTPUTF8, utf8_to, "b2") == build(stock_utf8, utf8_to, "b2")


def test_a_message_with_our_boundaries_parses_back_into_its_parts() -> None:
    first, second = messages.boundary(), messages.boundary()
    assert first != second and len(first) < 70  # RFC 2046: at most 70 characters
    raw = build(messages.SMTP, Address("", username="ada", domain="example.com"), first)
    parsed = message_from_bytes(raw, policy=policy.default)
    assert [part.get_content_type() for part in parsed.walk()] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/calendar",
    ]
    assert parsed.get_body(("html",)).get_content().rstrip() == "<p>Hello Ada, here it is.</p>"
    assert parsed["From"].addresses[0].display_name == "Café, Inc. (Müller)"


def test_the_sender_header_is_made_once_per_policy_and_sender() -> None:
    one = messages.from_header(messages.SMTP, "Site", "news", "example.com")
    assert messages.from_header(messages.SMTP, "Site", "news", "example.com") is one
    assert messages.from_header(messages.SMTPUTF8, "Site", "news", "example.com") is not one
    msg = messages.new_message(ascii_only=True)
    msg["From"] = one
    assert msg["From"] is one and str(msg["From"]) == "Site <news@example.com>"
