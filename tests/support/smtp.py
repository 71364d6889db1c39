"""A real SMTP server for tests: aiosmtpd on a free 127.0.0.1 port, and what it received.

``refuse_next`` makes the server answer the next N messages with a temporary 451 error, as a
busy or greylisting server does, so tests can watch the sender retry. International addresses
need a server offering SMTPUTF8 (RFC 6531): ``smtputf8_server`` surely does (``smtp_server`` does
too, by aiosmtpd's default) and ``ascii_only_smtp_server`` does not. The fixtures are registered
in ``tests/conftest.py``.
"""

from __future__ import annotations

import email
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from tests.support.ports import free_port


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


@contextmanager
def serving_smtp(**smtp_options: object) -> Iterator[SMTPServer]:
    """Run aiosmtpd on a free 127.0.0.1 port (``smtp_options`` go to its SMTP class); always stop it."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **smtp_options)
    controller.start()
    try:
        yield SMTPServer("127.0.0.1", port, inbox)
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    """A real aiosmtpd server on 127.0.0.1, stopped after the test."""
    with serving_smtp() as server:
        yield server


@pytest.fixture
def smtputf8_server() -> Iterator[SMTPServer]:
    """Like :func:`smtp_server`, offering SMTPUTF8 explicitly: it accepts international addresses."""
    with serving_smtp(enable_SMTPUTF8=True) as server:
        yield server


@pytest.fixture
def ascii_only_smtp_server() -> Iterator[SMTPServer]:
    """Like :func:`smtp_server`, without SMTPUTF8: it refuses addresses with a non-ASCII local part."""
    with serving_smtp(enable_SMTPUTF8=False) as server:
        yield server


def body_text(msg: EmailMessage, subtype: str = "plain") -> str:
    """The text of the message's ``text/<subtype>`` part."""
    part = msg.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    return part.get_content()
