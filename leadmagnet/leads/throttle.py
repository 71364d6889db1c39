"""Rate limiting shared by every gunicorn worker: fixed-window counters in a small SQLite file.

Why not Flask-Limiter? Its storages are memory (per worker, so 4 workers would allow 4x the
limit), Redis, Memcached or MongoDB: a server we do not otherwise need. The counters instead live
in ``instance/ratelimit.db``, a separate SQLite file kept by the store's
:class:`~leadmagnet.store.ratelimits.RateLimits` (the store owns every SQL statement), so a hit is
one atomic UPSERT every worker sees, and it never contends with lead writes in the main database.
The decision is recorded in ``docs/decisions.md``.

The factory makes the app's one :class:`Throttle` over those counters (handed in: the throttle
decides, the store counts), reached as ``services.throttle``::

    allowed, retry_after = services.throttle.hit(f"login:{ip}", "5/minute")
    if not allowed:
        ...  # answer 429 with Retry-After: retry_after

A limit is ``N/unit`` or ``N per unit`` with unit ``second``, ``minute``, ``hour`` or ``day``
(or ``s``/``sec``, ``min``, ``h``/``hr``, ``d``; optionally ``N/5minutes``); ``off`` disables it.
If the counters cannot be written, the request is allowed (and the error logged): rate limiting
must never lose a lead.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
# The usual short forms count too (10/min, 100/hr, 5/10s): each unit starts with its own letter.
_LIMIT_RE = re.compile(r"^\s*(\d+)\s*(?:/|per)\s*(\d*)\s*(seconds?|secs?|s|minutes?|mins?|hours?|hrs?|h|days?|d)\s*$", re.IGNORECASE)
_UNIT_BY_LETTER = {unit[0]: seconds for unit, seconds in UNITS.items()}
# Settings that hold a limit: read when the app starts, so a typo stops it with a message instead
# of answering every form post with a 500.
LIMIT_SETTINGS = ("RATE_LIMIT", "RESEND_RATE_LIMIT", "ADMIN_LOGIN_LIMIT")
PURGE_EVERY = 500  # hits between purges of expired counters, per process


@dataclass(frozen=True)
class Limit:
    """``count`` hits allowed per ``seconds``-long fixed window."""

    count: int
    seconds: int


@functools.lru_cache(maxsize=64)  # read on every form post: the few settings' texts, parsed once
def parse_limit(text: str | None) -> Limit | None:
    """Parse ``10/minute``, ``100 per hour``, ``5/10seconds``; None for ``off`` (or empty).

    Raises ValueError with a message saying what is expected.
    """
    if text is None or str(text).strip().lower() in {"", "off", "none", "0", "false"}:
        return None
    match = _LIMIT_RE.match(str(text))
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"rate limit {text!r} is not understood; write it like 10/minute, 100 per hour, or off")
    multiplier = int(match.group(2)) if match.group(2) else 1
    if multiplier < 1:  # "5/0minutes": a window of no time at all
        raise ValueError(f"rate limit {text!r} has a window of no time; write it like 10/minute, 100 per hour, or off")
    return Limit(int(match.group(1)), multiplier * _UNIT_BY_LETTER[match.group(3)[0].lower()])


def check_settings(cfg: Mapping[str, Any]) -> None:
    """Raise ValueError naming the setting if a rate limit in ``cfg`` cannot be read."""
    for name in LIMIT_SETTINGS:
        try:
            parse_limit(cfg.get(name))
        except ValueError as exc:
            raise ValueError(f"LEADMAGNET_{name}: {exc}") from None


class Counters(Protocol):
    """Where hits are counted, shared by every process (the store's ``RateLimits``)."""

    path: str

    def count_hit(self, key: str, bucket: int, expires: int) -> int: ...

    def purge(self, now: int) -> int: ...

    def close(self) -> None: ...


class Throttle:
    """Fixed-window limits over hit ``counters`` shared by every process on the machine."""

    def __init__(self, counters: Counters) -> None:
        self.counters = counters
        self._hits = 0
        self._lock = threading.Lock()

    def hit(self, key: str, limit: str | Limit | None, now: float | None = None) -> tuple[bool, int]:
        """Count one hit for ``key``; return ``(allowed, retry_after_seconds)``.

        ``retry_after`` is 0 when allowed, else the seconds until the window ends (at least 1).
        """
        parsed = limit if isinstance(limit, Limit) or limit is None else parse_limit(limit)
        if parsed is None:
            return True, 0
        now = time.time() if now is None else now
        bucket = int(now // parsed.seconds)
        window_end = (bucket + 1) * parsed.seconds
        try:
            hits = self.counters.count_hit(f"{parsed.seconds}:{key}", bucket, window_end)
            self._maybe_purge(int(now))
        except Exception:
            # Fail open, whatever the counters' store raises (a read-only or full file, a lock held
            # too long): an unwritable counter must not turn visitors away or lose leads.
            log.exception("rate limit counters in %s cannot be updated; allowing the request", self.counters.path)
            return True, 0
        if hits <= parsed.count:
            return True, 0
        return False, max(1, int(window_end - now + 0.999))

    def _maybe_purge(self, now: int) -> None:
        with self._lock:
            self._hits += 1
            due = self._hits % PURGE_EVERY == 1
        if due:
            self.counters.purge(now)

    def close(self) -> None:
        """Close the counter file (the app's services close it at shutdown and in tests)."""
        self.counters.close()
