"""Signed, expiring tokens for links: thank-you pages, downloads, confirmations, unsubscribes.

itsdangerous (Flask's own signing library) signs a small payload with the app's secret key and a
per-purpose salt, so a token made for one purpose (say, unsubscribe) never works for another
(download). A tampered token fails :func:`load` with :class:`BadToken`; an expired one with
:class:`ExpiredToken`, which still carries the payload so that the page can offer a fresh link.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

PURPOSES = ("thanks", "download", "confirm", "unsubscribe", "calendar", "replay")


class BadToken(ValueError):
    """The token was not made by us for this purpose (tampered, truncated, or another purpose)."""


class ExpiredToken(BadToken):
    """The signature is good but older than allowed; ``payload`` is what it carried."""

    def __init__(self, payload: Any) -> None:
        super().__init__("token expired")
        self.payload = payload


def _serializer(secret_key: str, purpose: str, issued_at: float | None = None) -> URLSafeTimedSerializer:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    if issued_at is None:
        return URLSafeTimedSerializer(secret_key, salt=f"leadmagnet.{purpose}")

    class _IssuedAt(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(issued_at)

    return URLSafeTimedSerializer(secret_key, salt=f"leadmagnet.{purpose}", signer=_IssuedAt)


def dump(secret_key: str, purpose: str, payload: Any, issued_at: float | None = None) -> str:
    """Sign ``payload`` (JSON-serialisable, keep it small: an id or two) for ``purpose``.

    ``issued_at`` (epoch seconds) back-dates the token; tests use it to make expired links.
    """
    return _serializer(secret_key, purpose, issued_at).dumps(payload)


def load(secret_key: str, purpose: str, token: str, max_age: int | None = None) -> Any:
    """Verify and return the payload; raise :class:`BadToken` or :class:`ExpiredToken`."""
    serializer = _serializer(secret_key, purpose)
    try:
        return serializer.loads(token, max_age=max_age)
    except SignatureExpired as exc:
        payload = serializer.load_payload(exc.payload) if exc.payload is not None else None
        raise ExpiredToken(payload) from None
    except BadSignature:
        raise BadToken("bad token") from None
