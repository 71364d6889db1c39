"""The email policies every message is built with, made once, with the header classes cached.

The stdlib's :class:`~email.headerregistry.HeaderRegistry` makes a new class (``type(...)``) for
every header it parses: a message's 18 or so headers (its parts' too) spent about a fifth of the
time of building an email there. :class:`CachedHeaders` keeps one class per header name, the class
the registry itself would make (the registry is the policy's documented ``header_factory`` hook,
and ``__getitem__`` its documented look-up), so the bytes written are the same. The sender's
``From`` header, the same on every message, is parsed once (:func:`from_header`).

Multipart boundaries are chosen here (:func:`boundary`) and given to ``make_alternative`` /
``make_mixed``: otherwise the generator makes one and compiles a regular expression to search the
whole message for it, for each message. A boundary holds 128 random bits, so it cannot occur in a
part by chance, and no part holds text a visitor chose beyond a cleaned first name.
"""

from __future__ import annotations

import functools
import secrets
from email import policy
from email.headerregistry import Address, HeaderRegistry
from email.message import EmailMessage
from email.policy import EmailPolicy
from typing import Any


class CachedHeaders(HeaderRegistry):
    """A header registry that makes each header class once (see the module's docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, Any] = {}

    def map_to_type(self, name: str, cls: Any) -> None:
        super().map_to_type(name, cls)
        self._classes.pop(name.lower(), None)

    def __getitem__(self, name: str) -> Any:
        key = name.lower()
        made = self._classes.get(key)
        if made is None:
            made = self._classes[key] = super().__getitem__(name)
        return made


# Long lines allowed in headers (RFC 5322: 998), so List-Unsubscribe URLs are not folded.
SMTP = policy.SMTP.clone(max_line_length=998, header_factory=CachedHeaders())
SMTPUTF8 = policy.SMTPUTF8.clone(max_line_length=998, header_factory=CachedHeaders())


def new_message(ascii_only: bool) -> EmailMessage:
    """An empty message under :data:`SMTP` (``ascii_only``) or :data:`SMTPUTF8` (RFC 6532 headers)."""
    chosen: EmailPolicy = SMTP if ascii_only else SMTPUTF8
    return EmailMessage(policy=chosen)


@functools.lru_cache(maxsize=64)
def from_header(chosen: EmailPolicy, display_name: str, username: str, domain: str) -> Any:
    """The ``From`` header of a sender as ``chosen`` parses it, made once: the same on every
    message. A policy stores a header object of the same name as it is (``header_store_parse``)."""
    return chosen.header_factory("From", Address(display_name, username=username, domain=domain))


def boundary() -> str:
    """A fresh MIME boundary: the stdlib's shape (``=`` runs then digits), 128 random bits."""
    return f"==============={secrets.randbits(128):039d}=="
