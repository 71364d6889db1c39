"""Rate limiting shared by every gunicorn worker: fixed-window counters in a small SQLite file.

Why not Flask-Limiter? Its storages are memory (per worker, so 4 workers would allow 4x the
limit), Redis, Memcached or MongoDB: a server we do not otherwise need. The counters instead live
in ``instance/ratelimit.db``, a separate SQLite file opened through the store (which owns every SQL
statement), so a hit is one atomic UPSERT every worker sees, and it never contends with lead
writes in the main database. The decision is recorded in ``docs/decisions.md``.

Other blueprints reuse :func:`hit`::

    allowed, retry_after = throttle.hit(f"login:{ip}", "5/minute")
    if not allowed:
        ...  # answer 429 with Retry-After: retry_after

A limit is ``N/unit`` or ``N per unit`` with unit ``second``, ``minute``, ``hour`` or ``day``
(or ``s``/``sec``, ``min``, ``h``/``hr``, ``d``; optionally ``N/5minutes``); ``off`` disables it. If the counter file cannot be written, the
request is allowed (and the error logged): rate limiting must never lose a lead.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app

from leadmagnet.store import DatabaseError, Store

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


class Throttle:
    """Fixed-window counters in one SQLite file shared by every process on the machine."""

    def __init__(self, path: str | Path) -> None:
        self.store = Store(path)
        self._hits = 0
        self._lock = threading.Lock()
        self._ready = False

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
            if not self._ready:
                self.store.ensure_rate_limit_table()
                self._ready = True
            hits = self.store.count_hit(f"{parsed.seconds}:{key}", bucket, window_end)
            self._maybe_purge(int(now))
        except DatabaseError:
            # Fail open: an unwritable counter file must not turn visitors away or lose leads.
            log.exception("rate limit counters in %s cannot be updated; allowing the request", self.store.path)
            return True, 0
        if hits <= parsed.count:
            return True, 0
        return False, max(1, int(window_end - now + 0.999))

    def _maybe_purge(self, now: int) -> None:
        with self._lock:
            self._hits += 1
            due = self._hits % PURGE_EVERY == 1
        if due:
            self.store.purge_rate_limits(now)


_create_lock = threading.Lock()


def for_app(app: object | None = None) -> Throttle:
    """The app's :class:`Throttle` (``instance/ratelimit.db``), created on first use."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    extras = app.extensions["leadmagnet"].extras  # type: ignore[attr-defined]
    throttle = extras.get("throttle")
    if throttle is None:
        with _create_lock:
            throttle = extras.get("throttle")
            if throttle is None:
                throttle = extras["throttle"] = Throttle(Path(app.instance_path) / "ratelimit.db")  # type: ignore[attr-defined]
    return throttle


def hit(key: str, limit: str | None) -> tuple[bool, int]:
    """Count a hit for ``key`` against ``limit`` (``"10/minute"``; ``"off"``/None: unlimited).

    Returns ``(allowed, retry_after_seconds)``. Shared by every worker of the current app.
    """
    return for_app().hit(key, limit)
