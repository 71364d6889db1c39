"""The store: the one owner of the SQLite connection, every SQL statement and the migrations.

Nothing outside this package imports ``sqlite3`` or ``sqlite_utils``. Verbs are grouped by
concern in mixins (``leads``, ``delivery``, ``reports``) and take and return plain dicts.

Connections are per thread, in WAL mode with a busy timeout and foreign keys on. A write that
touches several rows goes through :meth:`Store.transaction`, which opens ``BEGIN IMMEDIATE``:
taking the write lock up front means a busy database makes us wait (``busy_timeout``) instead of
failing half-way with a lock upgrade error, and the caller answers the visitor only after COMMIT.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database

from leadmagnet.store.leads import LeadVerbs
from leadmagnet.store.migrations import migrations
from leadmagnet.store.outbox import DeliveryVerbs
from leadmagnet.store.reports import ReportVerbs

BUSY_TIMEOUT_MS = 10_000

# Errors a caller may turn into "try again later" (503): the file is read-only, the disk is
# full, the database is locked past the busy timeout.
StoreUnavailable = sqlite3.OperationalError
IntegrityError = sqlite3.IntegrityError
DatabaseError = sqlite3.DatabaseError


def utcnow() -> str:
    """The current time as ISO 8601 UTC text with microseconds, the format of every timestamp."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


class Store(LeadVerbs, DeliveryVerbs, ReportVerbs):
    """All persistent state of a leadmagnet install, in one SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()

    # -- connections and transactions -------------------------------------------------------

    @property
    def db(self) -> Database:
        """This thread's connection (opened on first use)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._open()
        return db

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

    def _open(self) -> Database:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: no implicit transactions; we open them explicitly below.
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.OperationalError:
            pass  # a read-only file cannot switch journal mode; reads still work
        return Database(conn)

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.conn.close()
            self._local.db = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; rolls back on any exception and re-raises it."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def query(self, sql: str, params: tuple | list | dict = ()) -> list[dict]:
        """Run a read query and return every row as a dict."""
        return [dict(row) for row in self.conn.execute(sql, params)]

    def query_one(self, sql: str, params: tuple | list | dict = ()) -> dict | None:
        row = self.conn.execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    # -- schema -----------------------------------------------------------------------------

    def migrate(self, stop_before: str | None = None) -> list[str]:
        """Apply pending migrations; return the names applied."""
        # Several gunicorn workers start at once: the write lock makes exactly one of them
        # apply the pending migrations while the others wait and then find nothing to do.
        with self.transaction():
            pending = [m.name for m in migrations.pending(self.db)]
            migrations.apply(self.db, stop_before=stop_before)
            applied = {m.name for m in migrations.applied(self.db)}
        return [name for name in pending if name in applied]

    def schema_version(self) -> list[str]:
        return [m.name for m in migrations.applied(self.db)]

    def tables(self) -> list[str]:
        return self.db.table_names()

    def healthcheck(self) -> bool:
        """True when the database opens and answers a query."""
        try:
            self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error:
            return False
        return True

    def integrity_check(self) -> str:
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0]
