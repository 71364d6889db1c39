"""Moving an SQLite install to an empty PostgreSQL database: ``leadmagnet db copy --to URL``.

:func:`copy_install` takes the two stores and copies every row of every table, ids kept:

1. The target is migrated, and must hold no row yet (``store_meta``, which the migration fills,
   is replaced by the source's): a copy never merges into live data.
2. Everything is copied in ONE target transaction, under the store's write lock: either the
   whole install arrives or nothing does, and no node can write in between. Tables go parents
   first (the order comes from the target's foreign keys), each streamed in batches with
   PostgreSQL's ``COPY``, so memory stays flat whatever the size.
3. The roll-up tables (``lead_days``, ``variant_lead_days``) are copied as rows like the others,
   so the triggers that keep them (on ``submissions`` and ``downloads``) are disabled for the
   transaction (``ALTER TABLE ... DISABLE TRIGGER USER``, which the tables' owner may run; no
   superuser) and enabled again before it commits; otherwise each copied submission would be
   counted twice. Foreign keys stay checked (they are system triggers, not user ones).
4. Each identity sequence is set past the largest id copied, so the next submission gets a fresh id.
5. The source is read in one snapshot (a read transaction), and its counts are taken in the same
   snapshot; after the commit every table is counted on both sides: :class:`TableCount`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from leadmagnet.store import Store

BATCH = 2_000
# Not copied: the migration ledgers (each backend keeps its own history) and rate-limit counters
# (minutes-long windows; on SQLite they live in a file of their own anyway).
NOT_COPIED = frozenset({"leadmagnet_migrations", "rate_limits"})
# Filled by the target's migration, replaced by the source's rows.
REPLACED = frozenset({"store_meta"})


class CopyRefused(ValueError):
    """The copy cannot start (the target has rows, the source is not SQLite...); the message says why."""


@dataclass(frozen=True)
class TableCount:
    """One table's rows on each side after the copy."""

    table: str
    source: int
    target: int

    @property
    def ok(self) -> bool:
        return self.source == self.target


def copy_install(source: Store, target: Store, batch: int = BATCH, progress: Callable[[str, int], None] | None = None) -> list[TableCount]:
    """Copy every row of the SQLite store ``source`` into the empty PostgreSQL store ``target``.

    Returns the count of every copied table on both sides (after the commit); ``progress`` is
    called with each table's name and the rows copied, when it is done. Raises
    :class:`CopyRefused` before writing anything when the copy cannot be made.
    """
    if source.backend != "sqlite":
        raise CopyRefused(f"the source must be an SQLite database, not {source.backend}")
    if target.backend != "postgresql":
        raise CopyRefused("the target must be a postgresql:// URL")
    source.migrate()  # what any start of the app would do: an older install is brought up to date first
    target.migrate()
    missing = [name for name in source.schema_version() if name not in target.schema_version()]
    if missing:
        raise CopyRefused(f"the target's schema lacks migration(s) {', '.join(missing)}: upgrade leadmagnet where the copy runs")
    src = source.conn
    with _snapshot(src), target.transaction():
        dst = target.conn.raw  # this thread's psycopg connection, inside the transaction
        tables = _copy_order(dst, _tables(src))
        _refuse_rows(dst, tables)
        source_counts: dict[str, int] = {}
        triggered = _user_triggers(dst, tables)
        for table in triggered:
            dst.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
        for table in tables:
            if table in REPLACED:
                dst.execute(f'DELETE FROM "{table}"')  # noqa: S608 - a table name from the catalog
            copied = _copy_table(src, dst, table, _columns(src, dst, table), batch)
            source_counts[table] = _count(src, table)  # in the same snapshot as the rows copied
            if progress is not None:
                progress(table, copied)
        for table in triggered:
            dst.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')
        _advance_sequences(dst, tables)
    return [TableCount(table, source_counts[table], _count(target.conn.raw, table)) for table in tables]


@contextmanager
def _snapshot(conn: Any) -> Iterator[None]:
    """One read transaction on the SQLite connection ``conn``: every table read at the same moment."""
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("COMMIT")


def _tables(src: Any) -> list[str]:
    rows = src.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall()
    return [r[0] for r in rows if not r[0].startswith(("sqlite_", "_")) and r[0] not in NOT_COPIED]


def _copy_order(dst: Any, tables: list[str]) -> list[str]:
    """``tables`` with every parent before its children (the target's foreign keys), else by name."""
    known = {r[0] for r in dst.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").fetchall()}
    absent = [t for t in tables if t not in known]
    if absent:
        raise CopyRefused(f"the target has no table {', '.join(absent)}: upgrade leadmagnet where the copy runs")
    parents: dict[str, set[str]] = {t: set() for t in tables}
    for child, parent in dst.execute(
        "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint"
        " WHERE contype = 'f' AND connamespace = current_schema()::regnamespace"
    ).fetchall():
        if child in parents and parent in parents and parent != child:
            parents[child].add(parent)
    ordered: list[str] = []
    while parents:
        ready = sorted(t for t, needs in parents.items() if not needs - set(ordered))
        if not ready:
            raise CopyRefused(f"foreign keys form a cycle among {', '.join(sorted(parents))}")
        ordered.extend(ready)
        for t in ready:
            del parents[t]
    return ordered


def _refuse_rows(dst: Any, tables: list[str]) -> None:
    filled = [t for t in tables if t not in REPLACED and dst.execute(f'SELECT EXISTS (SELECT 1 FROM "{t}")').fetchone()[0]]  # noqa: S608
    if filled:
        raise CopyRefused(
            f"the target database already has rows (in {', '.join(filled)}); copy into an empty database"
            " (createdb a new one), so that no row of the target is overwritten or mixed with the copy"
        )


def _user_triggers(dst: Any, tables: list[str]) -> list[str]:
    rows = dst.execute(
        "SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal AND tgrelid::regclass::text = ANY(%s) ORDER BY 1",
        (tables,),
    ).fetchall()
    return [r[0] for r in rows]


def _columns(src: Any, dst: Any, table: str) -> list[str]:
    """The source's columns of ``table``; each must exist in the target."""
    ours = [r[1] for r in src.execute(f'PRAGMA table_info("{table}")').fetchall()]
    theirs = {
        r[0]
        for r in dst.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = %s", (table,)
        ).fetchall()
    }
    absent = [c for c in ours if c not in theirs]
    if absent:
        raise CopyRefused(f"the target's table {table} has no column {', '.join(absent)}: upgrade leadmagnet where the copy runs")
    return ours


def _copy_table(src: Any, dst: Any, table: str, columns: list[str], batch: int) -> int:
    """Stream ``table`` from SQLite into PostgreSQL with ``COPY``, ``batch`` rows at a time; return the rows copied."""
    names = ", ".join(f'"{c}"' for c in columns)
    cursor = src.execute(f'SELECT {names} FROM "{table}" ORDER BY rowid')  # noqa: S608 - names from the catalogs
    copied = 0
    with dst.cursor().copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
        while rows := cursor.fetchmany(batch):
            for row in rows:
                copy.write_row(tuple(row))
            copied += len(rows)
    return copied


def _advance_sequences(dst: Any, tables: list[str]) -> None:
    """Set each identity column's sequence so its next value is past the largest id copied."""
    for table in tables:
        for (column,) in dst.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = %s AND is_identity = 'YES'",
            (table,),
        ).fetchall():
            dst.execute(
                f'SELECT setval(pg_get_serial_sequence(%s, %s), coalesce(max("{column}"), 0) + 1, false) FROM "{table}"',  # noqa: S608
                (f'"{table}"', column),
            )


def _count(conn: Any, table: str) -> int:
    """The rows of ``table`` (on either side: the SQL reads alike)."""
    return int(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])  # noqa: S608
