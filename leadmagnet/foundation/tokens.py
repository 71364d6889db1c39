"""Signed, expiring tokens for links: thank-you pages, downloads, confirmations, unsubscribes.

itsdangerous (Flask's own signing library) signs a small payload with the app's secret key and a
per-purpose salt, so a token made for one purpose (say, unsubscribe) never works for another
(download). A tampered token fails :func:`load` with :class:`BadToken`; an expired one with
:class:`ExpiredToken`, which still carries the payload so that the page can offer a fresh link.

A link to a row (a submission or a contact) carries the row's id *and* a stamp of the row's
creation time (:func:`dump_row`, :func:`load_row`). SQLite hands the ids of the newest rows out
again once they are erased, so an id alone could reach the next person's record: the stamp makes a
link name one row, never a later row that reuses its id. Links sent before stamps existed carry the
bare id; :meth:`RowLink.names` accepts them only for a row that already existed when the link was
signed (every token carries its signing time), so never for a row that took the id later.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from itsdangerous import BadSignature, Serializer, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode

PURPOSES = ("thanks", "download", "confirm", "unsubscribe", "calendar", "replay")
SHORT_PAYLOAD = 64  # bytes of JSON: a link's payload (an id, a stamp, a word) is far shorter


class LinkSerializer(URLSafeTimedSerializer):
    """itsdangerous' URL-safe timed serializer, without the zlib attempt on short payloads.

    It deflates every payload and keeps the result only when shorter: a link's few dozen bytes
    seldom are, and each attempt sets up a deflate state of a few hundred KB, a tenth of a form
    post's time in the view. A short payload is base64-encoded as it is, which is what the
    serializer itself writes whenever compressing does not help; tokens load the same either way.
    """

    def dump_payload(self, obj: Any) -> bytes:
        raw = Serializer.dump_payload(self, obj)  # the compact JSON, before the URL-safe step
        if len(raw) > SHORT_PAYLOAD:
            return super().dump_payload(obj)
        return base64_encode(raw)


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
        return _serializer_now(secret_key, purpose)

    class _IssuedAt(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(issued_at)

    return LinkSerializer(secret_key, salt=f"leadmagnet.{purpose}", signer=_IssuedAt)


@functools.lru_cache(maxsize=64)
def _serializer_now(secret_key: str, purpose: str) -> URLSafeTimedSerializer:
    """One serializer per key and purpose: making one costs a JSON round trip (itsdangerous checks
    its serializer), a tenth of a form submission's time; it keeps no state between uses."""
    return LinkSerializer(secret_key, salt=f"leadmagnet.{purpose}")


def dump(secret_key: str, purpose: str, payload: Any, issued_at: float | None = None) -> str:
    """Sign ``payload`` (JSON-serialisable, keep it small: an id or two) for ``purpose``.

    ``issued_at`` (epoch seconds) back-dates the token; tests use it to make expired links.
    """
    return _serializer(secret_key, purpose, issued_at).dumps(payload)


def load(secret_key: str, purpose: str, token: str, max_age: int | None = None) -> Any:
    """Verify and return the payload; raise :class:`BadToken` or :class:`ExpiredToken`."""
    return _load_signed(secret_key, purpose, token, max_age)[0]


def _load_signed(secret_key: str, purpose: str, token: str, max_age: int | None) -> tuple[Any, datetime]:
    """The payload and the moment it was signed."""
    serializer = _serializer(secret_key, purpose)
    try:
        return serializer.loads(token, max_age=max_age, return_timestamp=True)
    except SignatureExpired as exc:
        payload = serializer.load_payload(exc.payload) if exc.payload is not None else None
        raise ExpiredToken(payload) from None
    except BadSignature:
        raise BadToken("bad token") from None


# -- links to a row --------------------------------------------------------------------------

STAMP_LENGTH = 8
_STAMP_RE = re.compile(rf"[0-9a-f]{{{STAMP_LENGTH}}}")


def row_stamp(created: str) -> str:
    """The stamp of a row created at ``created`` (the first hex digits of its SHA-256).

    A hash rather than the time itself: the payload of a signed token is readable, and a link
    need not tell anyone when its owner signed up. Eight hex digits are plenty inside a signed
    payload: nobody can choose them, so they only have to tell two rows with one id apart.
    """
    return hashlib.sha256(created.encode()).hexdigest()[:STAMP_LENGTH]


# Ids are SQLite rowids: positive and below 2**63 (a larger one would overflow the query).
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class RowLink:
    """What a row link carries: the row's id, its stamp (None on a link older than stamps), extras,
    and when it was signed (``signed``, epoch seconds; whole seconds, as itsdangerous keeps them)."""

    id: int
    stamp: str | None
    extra: tuple[Any, ...] = ()
    signed: float | None = None

    def names(self, created: str) -> bool:
        """True when this link was made for the row created at ``created``.

        A stamped link must match the row's stamp. A stamp-less link (sent by a version before
        stamps) names the row only if the row already existed when the link was signed: a row
        created later may have taken the id of an erased one. (The signing time is kept in whole
        seconds, hence the second's grace; links are signed after their row is written.)
        """
        if self.stamp is not None:
            return self.stamp == row_stamp(created)
        made = _utc(created)
        return made is not None and self.signed is not None and made.timestamp() < self.signed + 1


def _utc(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def dump_row(secret_key: str, purpose: str, row_id: int, created: str, *extra: Any, issued_at: float | None = None) -> str:
    """Sign a link to the row ``row_id`` created at ``created`` (``[id, stamp, *extra]``)."""
    return dump(secret_key, purpose, [row_id, row_stamp(created), *extra], issued_at)


def row_link(payload: Any, signed: float | None = None) -> RowLink:
    """Read a row link's payload; :class:`BadToken` if it is not one.

    Accepts what :func:`dump_row` makes and what earlier versions made: a bare id, ``[id]``, or
    ``[id, *extra]`` (an extra is never eight hex digits, so it cannot pass for a stamp).
    """
    items = payload if isinstance(payload, list) else [payload]
    if not items or type(items[0]) is not int or not 0 < items[0] <= MAX_ID:  # not isinstance: True is an int too
        raise BadToken("not a link to a row")
    rest = items[1:]
    stamp = None
    if rest and isinstance(rest[0], str) and _STAMP_RE.fullmatch(rest[0]):
        stamp, rest = rest[0], rest[1:]
    return RowLink(items[0], stamp, tuple(rest), signed)


def load_row(secret_key: str, purpose: str, token: str, max_age: int | None = None) -> RowLink:
    """Verify a row link and return what it carries; raise :class:`BadToken` or :class:`ExpiredToken`."""
    payload, signed = _load_signed(secret_key, purpose, token, max_age)
    return row_link(payload, signed.timestamp())
