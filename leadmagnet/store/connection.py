"""One SQLite file: a connection per thread, and the transactions on it.

Every verb group of the store (:class:`Verbs`) works through one :class:`Connection`. Nothing
outside ``leadmagnet.store`` sees a ``sqlite3`` object: callers get dicts, and group writes with
:meth:`leadmagnet.store.Store.transaction`.

Connections are per thread, in WAL mode with a busy timeout, foreign keys and ``secure_delete``
on. A write goes through :meth:`Connection.writing`, which opens ``BEGIN IMMEDIATE``: taking the
write lock up front means a busy database makes us wait (``busy_timeout``) instead of failing
half-way with a lock upgrade error. A write made while this thread already has a transaction open
joins it, so a verb is atomic on its own and also composes into a larger transaction (a
submission, its seat and its email) that commits or rolls back as one. :meth:`Connection.checkpoint`
empties the WAL into the file, so a deleted row's old page images do not outlive it there.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from leadmagnet.foundation import database_url

BUSY_TIMEOUT_MS = 10_000

# Errors a caller may turn into "try again later" (503): the file is read-only, the disk is
# full, the database is locked past the busy timeout. Aliases, so that callers need not import
# the database driver; the PostgreSQL backend raises subclasses of these (store/postgres.py).
StoreUnavailable = sqlite3.OperationalError
IntegrityError = sqlite3.IntegrityError
DatabaseError = sqlite3.DatabaseError

Params = tuple[Any, ...] | list[Any] | dict[str, Any]

_NOT_TEXT = "Could not decode to UTF-8 column "


def not_text_message(exc: BaseException) -> str | None:
    """What to tell an admin when ``exc`` is SQLite failing to read a stored value as text; None otherwise.

    Only another program can store such a value (our writes are Python text, and PostgreSQL
    refuses it): the sqlite3 shell of a Latin-1 terminal, say. SQLite's message names the column
    and shows the value, which says where to correct it.
    """
    message = str(exc)
    if not isinstance(exc, sqlite3.OperationalError) or not message.startswith(_NOT_TEXT):
        return None
    return (
        f"The database holds a value that is not UTF-8 text, in column {message.removeprefix(_NOT_TEXT)}: another"
        " program wrote it (in another encoding?). Correct it, e.g. with the sqlite3 shell, then reload this page."
    )


def utcnow() -> str:
    """The current time as ISO 8601 UTC text with microseconds, the format of every timestamp."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def connect(target: str | Path, pool_size: int | None = None) -> Any:
    """The connection layer for ``target``: a ``postgresql://`` URL (a pool of up to ``pool_size``
    connections per process), or an SQLite file (a path or ``sqlite:///path``)."""
    text = str(target)
    if database_url.backend(text) == database_url.POSTGRESQL:
        try:
            from leadmagnet.store.postgres import POOL_SIZE, PgConnection  # psycopg is imported only for PostgreSQL
        except ImportError as exc:
            raise RuntimeError(
                f"LEADMAGNET_DATABASE is a PostgreSQL URL but its driver is not installed ({exc}); "
                "install it with: pip install 'leadmagnet[postgresql]'"
            ) from None
        return PgConnection(text, pool_size or POOL_SIZE)
    return Connection(text.removeprefix("sqlite:///"))


class Connection:
    """The connections to one SQLite file (one per thread, opened on first use) and its transactions."""

    dialect = "sqlite"

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()

    @property
    def database(self) -> Database:
        """This thread's connection as a sqlite-utils ``Database`` (for the migrations)."""
        db = getattr(self._local, "db", None)
        if db is None:
            # No sqlite-utils plugins on the store's connections: a package installed beside us
            # must not add functions to the database that holds the leads, and looking for
            # plugins reads every installed package's metadata (30-40 ms of every start).
            db = self._local.db = Database(self._open(), execute_plugins=False)
        return db

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        return self.database.conn

    def _open(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: no implicit transactions; writing() opens them explicitly.
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        # Deleted and overwritten content is zeroed, not left in free space: an erased person must
        # not stay readable in the file (some SQLite builds do this by default, most do not).
        conn.execute("PRAGMA secure_delete = ON")
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.OperationalError:
            pass  # a read-only file cannot switch journal mode; reads still work
        return conn

    def close(self) -> None:
        """Close this thread's connection (the next use opens a fresh one)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.conn.close()
            self._local.db = None

    @contextmanager
    def writing(self, lock: bool = True) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any exception (which is re-raised).

        Inside a transaction this thread already has open, the block joins it: its writes commit
        or roll back with the enclosing transaction. (``lock`` matters on PostgreSQL only: SQLite
        has one writer at a time anyway.)
        """
        conn = self.conn
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            # Inside the try: a COMMIT that fails (SQLITE_BUSY in rollback-journal mode, an I/O
            # error) can leave the transaction open, and every later verb on this thread would
            # then "join" it and never commit. Roll it back and raise instead.
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def checkpoint(self) -> bool:
        """Copy the WAL into the database file and truncate it to zero bytes; True when done.

        Waits (``busy_timeout``) for readers of older snapshots; False when one still holds the
        WAL, or this thread is inside a transaction. No-op (True) for a file not in WAL mode.
        """
        conn = self.conn
        if conn.in_transaction:
            return False
        busy, _frames, _copied = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return busy == 0

    def rows(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        """Every row of a read query, as dicts."""
        return [dict(row) for row in self.conn.execute(sql, params)]

    def row(self, sql: str, params: Params = ()) -> dict[str, Any] | None:
        """The first row of a read query as a dict, or None."""
        found = self.conn.execute(sql, params).fetchone()
        return dict(found) if found is not None else None

    def value(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row of a read query (None when there is no row)."""
        found = self.conn.execute(sql, params).fetchone()
        return found[0] if found is not None else None


class Verbs:
    """One group of the store's verbs (leads, seats, outbox...), working through one :class:`Connection`.

    Groups are composed into :class:`leadmagnet.store.Store`, never mixed into it: each holds
    its connection and nothing else, so a group can be read (and replaced for another database)
    on its own.
    """

    def __init__(self, db: Connection) -> None:
        self.db = db
