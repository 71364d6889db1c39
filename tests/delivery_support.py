"""Test support for delivery: a real SMTP server (aiosmtpd on a free 127.0.0.1 port) and offer writers.

``refuse_next`` makes the server answer the next N messages with a temporary 451 error, as a
busy or greylisting server does, so tests can watch the sender retry. International addresses
need a server offering SMTPUTF8 (RFC 6531): ``smtputf8_server`` surely does (``smtp_server`` does
too, by aiosmtpd's default) and ``ascii_only_smtp_server`` does not.
"""

from __future__ import annotations

import email
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Inbox:
    """What the server received, parsed; ``refuse_next`` temporary failures still to give."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    refuse_next: int = 0
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd calls this hook by name
        with self.lock:
            if self.refuse_next > 0:
                self.refuse_next -= 1
                self.refused += 1
                return "451 4.3.0 Try again later"
            self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 2.0.0 OK"


@dataclass
class SMTPServer:
    host: str
    port: int
    inbox: Inbox

    def settings(self) -> dict:
        """App overrides that send through this server."""
        return {"SMTP_HOST": self.host, "SMTP_PORT": self.port, "SMTP_STARTTLS": False, "SMTP_FROM": "offers@example.com"}


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    """A real aiosmtpd server on 127.0.0.1, stopped after the test."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SMTPServer("127.0.0.1", port, inbox)
    finally:
        controller.stop()


@contextmanager
def _serving(**smtp_options) -> Iterator[SMTPServer]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **smtp_options)
    controller.start()
    try:
        yield SMTPServer("127.0.0.1", port, inbox)
    finally:
        controller.stop()


@pytest.fixture
def smtputf8_server() -> Iterator[SMTPServer]:
    """Like :func:`smtp_server`, offering SMTPUTF8 explicitly: it accepts international addresses."""
    with _serving(enable_SMTPUTF8=True) as server:
        yield server


@pytest.fixture
def ascii_only_smtp_server() -> Iterator[SMTPServer]:
    """Like :func:`smtp_server`, without SMTPUTF8: it refuses addresses with a non-ASCII local part."""
    with _serving(enable_SMTPUTF8=False) as server:
        yield server


def body_text(msg: EmailMessage, subtype: str = "plain") -> str:
    part = msg.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    return part.get_content()


# -- offers written by the tests themselves (their times are relative to now) ---------------

JOIN_URL = "https://meet.example.com/j/secret-room-4711"
REPLAY_URL = "https://video.example.com/replays/secret-recording-99"


def write_webinar(
    content_dir, slug: str, starts_at, *, duration: int = 60, capacity: int | None = None, replay: bool = False, extra: str = ""
) -> None:
    """Write ``content/<slug>.md``: a webinar starting at ``starts_at`` (aware), in Europe/Paris."""
    lines = [
        "---",
        f"title: Webinar {slug}",
        "type: webinar",
        "description: A test webinar.",
        f"starts_at: {starts_at.isoformat()}",
        "timezone: Europe/Paris",
        f"duration_minutes: {duration}",
        f"join_url: {JOIN_URL}",
        "fields: [first_name, company]",
    ]
    if capacity is not None:
        lines.append(f"capacity: {capacity}")
    if replay:
        lines.append(f"replay_url: {REPLAY_URL}")
    if extra:
        lines.append(extra)
    lines += ["---", "The agenda.", ""]
    (content_dir / f"{slug}.md").write_text("\n".join(lines), encoding="utf-8")


def write_ebook(content_dir, slug: str, data: bytes, *, filename: str = "guide.pdf", extra: str = "") -> None:
    """Write ``content/<slug>.md``, an ebook offering ``files/<filename>`` with bytes ``data``."""
    (content_dir / "files").mkdir(exist_ok=True)
    (content_dir / "files" / filename).write_bytes(data)
    lines = [
        "---",
        f"title: Ebook {slug}",
        "type: ebook",
        "description: A test ebook.",
        f"file: files/{filename}",
        "fields: [first_name, company]",
    ]
    if extra:
        lines.append(extra)
    lines += ["---", "The pitch.", ""]
    (content_dir / f"{slug}.md").write_text("\n".join(lines), encoding="utf-8")


def submit(client, slug: str, email_addr: str, **fields):
    """POST the offer's form like a browser without JavaScript; return the response (not followed)."""
    data = {"email": email_addr, **fields}
    return client.post(f"/{slug}", data=data)
