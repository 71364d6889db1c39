"""Rate-limit counters: fixed-window hit counts, shared by every process that counts into them.

On SQLite they live apart from the leads, in a small file of their own (``instance/ratelimit.db``),
so counting hits never waits on, or slows, lead writes; the table needs no migration: it is made
when first used. On PostgreSQL (``RateLimits`` given the store's ``postgresql://`` URL) they live
in the database's ``rate_limits`` table (made by the migrations), so every node of a deployment
counts into the same windows. Either way each hit is one atomic UPSERT outside any transaction
(on PostgreSQL, outside the store's write lock too): correct across processes and nodes without a
lock, and rows are thrown away once their window has ended.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from leadmagnet.store.connection import connect

_CREATE = (
    "CREATE TABLE IF NOT EXISTS rate_limits (key TEXT NOT NULL, bucket INTEGER NOT NULL, hits INTEGER NOT NULL,"
    " expires INTEGER NOT NULL, PRIMARY KEY (key, bucket)) WITHOUT ROWID"
)
_HIT = (
    "INSERT INTO rate_limits (key, bucket, hits, expires) VALUES (?, ?, 1, ?)"
    " ON CONFLICT (key, bucket) DO UPDATE SET hits = rate_limits.hits + 1 RETURNING hits"
)


class RateLimits:
    """Hit counters per key and window: in one SQLite file (a path, the default), or in the
    ``rate_limits`` table of a PostgreSQL database (a ``postgresql://`` URL, the store's)."""

    def __init__(self, target: str | Path) -> None:
        self.path = str(target).removeprefix("sqlite:///")
        self.db = connect(self.path, pool_size=4)
        self.backend: str = self.db.dialect
        self._ready = self.backend == "postgresql"  # the migrations made the table there

    def count_hit(self, key: str, bucket: int, expires: int) -> int:
        """Add one hit to ``key`` in fixed window number ``bucket``; return the hits so far in it.

        ``expires`` (epoch seconds) is when the window ends: :meth:`purge` drops it after that.
        """
        conn = self.db.conn
        if not self._ready:
            conn.execute(_CREATE)
            self._ready = True
        # One autocommitted statement. fetchall, not fetchone: stepping SQLite's statement to its
        # end finishes its implicit transaction now, instead of holding the write lock until the
        # cursor is collected.
        try:
            rows = conn.execute(_HIT, (key, bucket, expires)).fetchall()
        finally:
            self._release()
        return int(rows[0][0])

    def _release(self) -> None:
        """PostgreSQL: give the connection back to the pool after each statement, so the counters
        hold none per serving thread (a small pool serves them all)."""
        if self.backend == "postgresql":
            self.db.close()

    def purge(self, now: int) -> int:
        """Delete counters of windows that ended before ``now`` (epoch seconds); return how many."""
        try:
            return int(self.db.conn.execute("DELETE FROM rate_limits WHERE expires < ?", (now,)).rowcount)
        finally:
            self._release()

    def rows(self) -> list[dict[str, Any]]:
        """Every counter (``key``, ``bucket``, ``hits``, ``expires``); none before the first hit."""
        if self.backend == "sqlite":
            if not Path(self.path).exists():
                return []
            if not self.db.value("SELECT count(*) FROM sqlite_master WHERE name = 'rate_limits'"):
                return []
        order = 'key COLLATE "C"' if self.backend == "postgresql" else "key"  # SQLite's binary order on both
        return self.db.rows(f"SELECT key, bucket, hits, expires FROM rate_limits ORDER BY {order}, bucket")  # noqa: S608

    def close(self) -> None:
        """Close this thread's connection (on PostgreSQL: give it back to the pool)."""
        self.db.close()
