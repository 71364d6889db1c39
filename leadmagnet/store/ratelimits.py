"""Rate-limit counters: fixed-window hit counts in their own small SQLite file.

They live apart from the leads (``instance/ratelimit.db``), so counting hits never waits on, or
slows, lead writes. Each hit is one autocommitted UPSERT: atomic across every gunicorn worker
without a lock. The table needs no migration: it is made when first used, and its rows are
thrown away once their window has ended.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from leadmagnet.store.connection import Connection


class RateLimits:
    """Hit counters per key and window, in one SQLite file shared by every process on the machine."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.db = Connection(path)
        self._ready = False

    def count_hit(self, key: str, bucket: int, expires: int) -> int:
        """Add one hit to ``key`` in fixed window number ``bucket``; return the hits so far in it.

        ``expires`` (epoch seconds) is when the window ends: :meth:`purge` drops it after that.
        """
        conn = self.db.conn
        if not self._ready:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS rate_limits (key TEXT NOT NULL, bucket INTEGER NOT NULL, hits INTEGER NOT NULL,"
                " expires INTEGER NOT NULL, PRIMARY KEY (key, bucket)) WITHOUT ROWID"
            )
            self._ready = True
        # fetchall, not fetchone: stepping the statement to its end finishes its implicit
        # transaction now, instead of holding the write lock until the cursor is collected.
        rows = conn.execute(
            "INSERT INTO rate_limits (key, bucket, hits, expires) VALUES (?, ?, 1, ?)"
            " ON CONFLICT (key, bucket) DO UPDATE SET hits = hits + 1 RETURNING hits",
            (key, bucket, expires),
        ).fetchall()
        return int(rows[0][0])

    def purge(self, now: int) -> int:
        """Delete counters of windows that ended before ``now`` (epoch seconds); return how many."""
        return self.db.conn.execute("DELETE FROM rate_limits WHERE expires < ?", (now,)).rowcount

    def rows(self) -> list[dict[str, Any]]:
        """Every counter (``key``, ``bucket``, ``hits``, ``expires``); none before the first hit."""
        if not Path(self.path).exists():
            return []
        if not self.db.value("SELECT count(*) FROM sqlite_master WHERE name = 'rate_limits'"):
            return []
        return self.db.rows("SELECT key, bucket, hits, expires FROM rate_limits ORDER BY key, bucket")

    def close(self) -> None:
        """Close this thread's connection to the file."""
        self.db.close()
