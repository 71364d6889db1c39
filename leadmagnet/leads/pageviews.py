"""Landing-page view counts, batched in memory and written to the store now and then.

A landing page is the hottest path of the site, so a view costs a few cached look-ups and one
dictionary increment under a lock, never a database write. The counts (per offer, UTC day, ``utm_source``, ``utm_medium``,
``utm_campaign``, referrer domain and device class: :data:`Key`) are written with
:meth:`Store.add_page_views` in one transaction every ``LEADMAGNET_VIEW_FLUSH_SECONDS`` by a
background thread, and once more when the process exits normally (``atexit``, which runs when a
gunicorn worker stops gracefully, and gunicorn's ``worker_exit`` hook in
``leadmagnet/gunicorn_conf.py``), so no counted view is lost on a normal stop. A ``kill -9`` loses
at most one interval of counts, never a lead.

If a write fails (database read-only or locked too long), the counts are kept and retried on the
next flush. The UTM values and the referrer are free text from the visitor, so they are cleaned
and capped (:mod:`leadmagnet.foundation.traffic`, which also classifies the device), and a batch
holds at most :data:`MAX_KEYS` distinct keys (beyond that, views count under ``(other)``, their
device kept) so that a crawler inventing sources cannot grow memory or the tables without bound.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from datetime import UTC, datetime

from leadmagnet.foundation.traffic import VALUE_CAP, clean_value, device_class, referrer_domain

log = logging.getLogger(__name__)

# (offer_slug, day, utm_source, utm_medium, utm_campaign, referrer domain, device class)
Key = tuple[str, str, str, str, str, str, str]
MAX_KEYS = 5000
SOURCE_CAP = VALUE_CAP
OTHER = "(other)"

_counters: weakref.WeakSet[ViewCounter] = weakref.WeakSet()

# The UTC day being counted: (first second, first second of the next day, "YYYY-MM-DD").
_day: tuple[float, float, str] = (0.0, 0.0, "")


def today() -> str:
    """Today's UTC date as ``YYYY-MM-DD``, formatted once per day rather than once per view."""
    global _day
    start, end, name = _day
    now = time.time()
    if start <= now < end:
        return name
    moment = datetime.fromtimestamp(now, UTC)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    name = moment.strftime("%Y-%m-%d")
    _day = (midnight, midnight + 86400, name)  # one tuple: threads see the old or the new day whole
    return name


def clean_source(value: str | None) -> str:
    """``utm_source`` as stored: NFC, printable characters only, lower-cased, at most 100 long."""
    return clean_value(value)


class ViewCounter:
    """Counts views in memory; ``flush`` hands the batch to ``write`` (``store.add_page_views``)."""

    def __init__(self, write: Callable[[dict[Key, int]], None], interval: float = 10.0) -> None:
        self.write = write
        self.interval = interval
        self._counts: dict[Key, int] = {}
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._timer_pid: int | None = None
        self._stop = threading.Event()
        _counters.add(self)

    def count(
        self,
        offer_slug: str,
        utm_source: str | None = None,
        day: str | None = None,
        *,
        utm_medium: str | None = None,
        utm_campaign: str | None = None,
        referrer: str | None = None,
        user_agent: str | None = None,
    ) -> None:
        """Count one view of ``offer_slug`` today (UTC), with where it came from. No I/O.

        Every part is cleaned by a cached function: a campaign's links and its visitors' browsers
        repeat, so a view costs dictionary look-ups.
        """
        device = device_class(user_agent)
        key = (
            offer_slug,
            day or today(),
            clean_value(utm_source),
            clean_value(utm_medium),
            clean_value(utm_campaign),
            referrer_domain(referrer),
            device,
        )
        with self._lock:
            if key not in self._counts and len(self._counts) >= MAX_KEYS:
                key = (key[0], key[1], OTHER, OTHER, OTHER, OTHER, device)
            self._counts[key] = self._counts.get(key, 0) + 1
        self._timer_running()

    def add(self, key: tuple[str, ...]) -> None:
        """Count one view under ``key`` as given, for a counter of other views than a page's (an
        A/B variant's: ``(offer_slug, day, variant)``, whose keys are bounded by the tests)."""
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1  # type: ignore[index]
        self._timer_running()

    def _timer_running(self) -> None:
        # The timer thread is started lazily and per process: a thread does not survive the fork
        # of a gunicorn worker, so each worker starts its own on its first view.
        if self._timer_pid != os.getpid() and self.interval > 0:
            self._start_timer()

    def pending(self) -> dict[Key, int]:
        """A copy of the counts not yet written."""
        with self._lock:
            return dict(self._counts)

    def flush(self) -> int:
        """Write the counted views; return how many views were written (0 if the write failed)."""
        with self._flush_lock:
            with self._lock:
                batch, self._counts = self._counts, {}
            if not batch:
                return 0
            try:
                self.write(batch)
            except Exception:
                log.exception("could not write %d page-view counts; keeping them for the next try", len(batch))
                with self._lock:
                    for key, n in batch.items():
                        self._counts[key] = self._counts.get(key, 0) + n
                return 0
            return sum(batch.values())

    def _start_timer(self) -> None:
        with self._lock:
            if self._timer_pid == os.getpid():
                return
            self._timer_pid = os.getpid()
        thread = threading.Thread(target=self._run, name="leadmagnet-view-flush", daemon=True)
        thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def close(self) -> None:
        """Stop the timer and write what is left (called at exit)."""
        self._stop.set()
        self.flush()


def flush_all() -> None:
    """Flush every live counter in this process: ``atexit`` and gunicorn's ``worker_exit`` call it."""
    for counter in list(_counters):
        counter.close()


atexit.register(flush_all)
