"""One PostgreSQL database: the same connection interface as :mod:`leadmagnet.store.connection`.

The store's verbs are written once, against a small interface (``writing()``, ``conn.execute``,
``rows``/``row``/``value``); this module offers it on PostgreSQL through psycopg 3 and its
connection pool, so the verbs run unchanged on both backends:

* **Placeholders.** The verbs keep SQLite's ``?``; :func:`pg_sql` turns each one outside a quoted
  literal into psycopg's ``%s`` (and a literal ``%`` into ``%%``), once per distinct statement.
* **Rows** work as ``row["column"]``, ``row[0]`` and ``dict(row)``, like ``sqlite3.Row``; a
  ``numeric`` (what ``sum`` of a ``bigint`` is) comes back as ``int`` when whole, ``float`` if not.
* **One writer at a time.** :meth:`PgConnection.writing` opens a transaction and takes one
  transaction-scoped advisory lock first: the guarantee SQLite's ``BEGIN IMMEDIATE`` gives, for
  every node sharing the database. Every verb that reads and then writes on what it read (the
  seats left, a duplicate within the dedupe window, the next email due) stays correct across
  nodes without a lock of its own, and submission ids commit in id order, so an export cursor
  ("everything after id N") can never skip a row committed late. Reads take no lock; they are most
  of the work. Single-statement counters that need no ordering (rate-limit hits) write outside it.
* **Errors** are raised as subclasses of the store's error types (which are ``sqlite3``'s, see
  :mod:`leadmagnet.store.connection`), so a caller's ``except StoreUnavailable`` works on both
  backends without importing psycopg (whose import alone costs ~0.3 s an SQLite install never pays).
* **Connections** come from a ``psycopg_pool.ConnectionPool``; a thread keeps the one it took until
  :meth:`PgConnection.close` (or an error that broke it, or the end of the thread) gives it back.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.adapt import Loader
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool

# The advisory lock every write transaction holds (any fixed 64-bit number; locks are per database).
WRITE_LOCK = 7_243_019_588_112_001
POOL_SIZE = 8
# Bounded waits, as SQLite's busy timeout bounds them: a node waits at most this long for a
# connection, to connect, or for the write lock, then answers 503 (StoreUnavailable); TCP
# keepalives let the server notice a node that vanished while holding the write lock (~1 min,
# not the kernel's default two hours), so its lock is released.
POOL_WAIT_SECONDS = 10.0
CONNECT_OPTIONS = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "options": "-c lock_timeout=10s",
}


@lru_cache(maxsize=4096)
def pg_sql(sql: str) -> str:
    """``sql`` with SQLite's ``?`` placeholders as psycopg's ``%s`` and each literal ``%`` doubled.

    A ``?`` inside a quoted literal or identifier is left alone; so is a ``?`` no statement of
    ours uses as an operator (PostgreSQL's JSON ``?`` operators are not used: write ``jsonb_exists``).
    """
    out: list[str] = []
    quote = ""
    for ch in sql:
        if ch == "%":
            out.append("%%")
        elif quote:
            out.append(ch)
            if ch == quote:
                quote = ""
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        else:
            out.append(ch)
    return "".join(out)


class Unavailable(sqlite3.OperationalError):
    """The server cannot be reached, or refused (PostgreSQL's ``OperationalError``)."""


class Integrity(sqlite3.IntegrityError):
    """A constraint said no (PostgreSQL's ``IntegrityError``)."""


class Failed(sqlite3.DatabaseError):
    """Any other PostgreSQL error (bad SQL, a serialization failure...)."""


def translated(exc: psycopg.Error) -> sqlite3.DatabaseError:
    """The store's error type for psycopg error ``exc`` (same message, ``exc`` as its cause)."""
    if isinstance(exc, psycopg.IntegrityError):
        return Integrity(str(exc))
    if isinstance(exc, psycopg.OperationalError):
        return Unavailable(str(exc))
    return Failed(str(exc))


class Row:
    """One result row: by position, by column name, or as a dict (``dict(row)``)."""

    __slots__ = ("_index", "_values")

    def __init__(self, index: dict[str, int], values: tuple[Any, ...]) -> None:
        self._index = index
        self._values = values

    def __getitem__(self, key: int | str) -> Any:
        if isinstance(key, str):
            return self._values[self._index[key]]
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._index)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Row):
            return self._values == other._values
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._index, self._values, strict=True))!r})"


def _row_factory(cursor: psycopg.Cursor[Any]) -> Any:
    description = cursor.description
    if description is None:
        return tuple
    index = {column.name: i for i, column in enumerate(description)}

    def make(values: Any) -> Row:
        return Row(index, tuple(values))

    return make


class NumberLoader(Loader):
    """``numeric`` as ``int`` when whole (``sum`` of integers), else ``float``: what SQLite returns."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        if text.lstrip("-").isdigit():
            return int(text)
        return float(text)


class PgCursor:
    """What a verb's ``conn`` offers: ``execute``/``executemany`` with ``?`` placeholders."""

    def __init__(self, conn: psycopg.Connection[Any], give_back: Callable[[psycopg.Connection[Any]], None] | None = None) -> None:
        self.raw = conn
        # ``give_back(conn)`` when this object goes unreferenced while still holding ``conn`` (the
        # thread that held it ended without close()); an owner giving it back itself detaches it.
        self.release = weakref.finalize(self, give_back or (lambda _conn: None), conn)
        self.release.atexit = False

    def execute(self, sql: str, params: Any = ()) -> psycopg.Cursor[Any]:
        try:
            return self.raw.execute(pg_sql(sql), params if params is not None else ())
        except psycopg.Error as exc:
            raise translated(exc) from exc

    def executemany(self, sql: str, seq: Any) -> psycopg.Cursor[Any]:
        cursor = self.raw.cursor()
        try:
            cursor.executemany(pg_sql(sql), list(seq))
        except psycopg.Error as exc:
            raise translated(exc) from exc
        return cursor

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != TransactionStatus.IDLE


def _configure(conn: psycopg.Connection[Any]) -> None:
    conn.adapters.register_loader("numeric", NumberLoader)


_OPEN: weakref.WeakSet[PgConnection] = weakref.WeakSet()


def close_pools(url: str | None = None) -> None:
    """Close the pool of every open connection layer (to ``url`` only, when given): tests that drop
    a database, and process exit."""
    for db in list(_OPEN):
        if url is None or db.url == url:
            db.pool.close()
            _OPEN.discard(db)


class PgConnection:
    """The connections to one PostgreSQL database (a pool; one pinned per thread) and its transactions."""

    dialect = "postgresql"

    def __init__(self, url: str, pool_size: int = POOL_SIZE) -> None:
        self.url = url
        self.path = url
        self.pool = ConnectionPool(
            url,
            min_size=0,  # opened on first use; idle ones closed after max_idle
            max_size=max(pool_size, 2),
            num_workers=1,
            kwargs={"autocommit": True, "row_factory": _row_factory, **CONNECT_OPTIONS},
            configure=_configure,
            check=ConnectionPool.check_connection,  # a connection broken by a server restart is replaced, not handed out
            timeout=POOL_WAIT_SECONDS,
            open=True,
            name="leadmagnet",
        )
        self._local = threading.local()
        _OPEN.add(self)

    @property
    def conn(self) -> PgCursor:
        """This thread's connection (taken from the pool on first use)."""
        held = getattr(self._local, "conn", None)
        if held is None or held.raw.closed:
            try:
                raw = self.pool.getconn()
            except psycopg.Error as exc:
                raise translated(exc) from exc
            # A thread that ends without close() (a worker thread, a thread pool's) gives it back
            # then: its thread-local is dropped, and with it the last reference to the cursor.
            held = self._local.conn = PgCursor(raw, self.pool.putconn)
        return held

    def close(self) -> None:
        """Give this thread's connection back to the pool (the next use takes one again)."""
        held = getattr(self._local, "conn", None)
        if held is not None:
            self._local.conn = None
            held.release.detach()
            if held.in_transaction and not held.raw.closed:
                held.raw.execute("ROLLBACK")
            self.pool.putconn(held.raw)

    def shutdown(self) -> None:
        """Close the whole pool (process exit, tests)."""
        self.close()
        self.pool.close()

    def _broken(self) -> None:
        held = getattr(self._local, "conn", None)
        if held is not None and (held.raw.broken or held.raw.closed):
            self._local.conn = None
            held.release.detach()
            self.pool.putconn(held.raw)  # the pool discards a broken connection

    @contextmanager
    def writing(self, lock: bool = True) -> Iterator[PgCursor]:
        """``BEGIN`` + the write lock … ``COMMIT``, rolled back on any exception (which is re-raised).

        Inside a transaction this thread already has open, the block joins it. ``lock=False`` is
        for a single atomic statement that needs no ordering against other writes.
        """
        conn = self.conn
        if conn.in_transaction:
            yield conn
            return
        try:
            try:
                conn.raw.execute("BEGIN")
                if lock:
                    conn.raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                yield conn
                conn.raw.execute("COMMIT")
            except psycopg.Error as exc:
                raise translated(exc) from exc
        except BaseException:
            if not conn.raw.closed and conn.in_transaction:
                conn.raw.execute("ROLLBACK")
            self._broken()
            raise

    def checkpoint(self) -> bool:
        """Nothing to do: PostgreSQL's own checkpoints handle its WAL (see ``Privacy.vacuum``)."""
        return True

    # A statement that returns no rows (a test's DELETE through ``Store.query``) reads as none, as
    # on SQLite, instead of psycopg's "the last operation didn't produce records".

    def rows(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        cursor = self._read(sql, params)
        return [dict(row) for row in cursor.fetchall()] if cursor.description is not None else []

    def row(self, sql: str, params: Any = ()) -> dict[str, Any] | None:
        cursor = self._read(sql, params)
        found = cursor.fetchone() if cursor.description is not None else None
        return dict(found) if found is not None else None

    def value(self, sql: str, params: Any = ()) -> Any:
        cursor = self._read(sql, params)
        found = cursor.fetchone() if cursor.description is not None else None
        return found[0] if found is not None else None

    def _read(self, sql: str, params: Any) -> psycopg.Cursor[Any]:
        try:
            return self.conn.execute(sql, params)
        except Unavailable:
            self._broken()
            raise
