"""One migration history on both backends: the same names, the same tables, columns, indexes and
roll-up triggers, applied once even when several nodes migrate at the same moment."""

from __future__ import annotations

import threading
from pathlib import Path

from leadmagnet.store import Store
from leadmagnet.store.migrations import postgres as pg_migrations

# SQLite makes these for its own bookkeeping or for constraints PostgreSQL names differently.
SQLITE_ONLY_TABLES = {"_sqlite_migrations"}
PG_ONLY_TABLES = {"leadmagnet_migrations", "rate_limits"}  # rate limits: SQLite keeps them in a file of their own


def sqlite_names(tmp_path: Path) -> list[str]:
    return Store(tmp_path / "names.db").pending_migrations()


def test_every_migration_has_a_postgresql_step_of_the_same_name(tmp_path: Path) -> None:
    assert pg_migrations.history() == sqlite_names(tmp_path)


def schema_of_sqlite(store: Store) -> dict[str, set[str]]:
    tables = [t for t in store.tables() if t not in SQLITE_ONLY_TABLES]
    return {t: {row["name"] for row in store.query(f"PRAGMA table_info({t})")} for t in tables}


def schema_of_postgresql(store: Store) -> dict[str, set[str]]:
    rows = store.query("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()")
    schema: dict[str, set[str]] = {}
    for row in rows:
        if row["table_name"] not in PG_ONLY_TABLES:
            schema.setdefault(row["table_name"], set()).add(row["column_name"])
    return schema


def test_both_backends_have_the_same_tables_columns_indexes_and_triggers(tmp_path: Path, pg_url: str) -> None:
    lite, pg = Store(tmp_path / "lm.db"), Store(pg_url)
    lite.migrate()
    pg.migrate()
    assert schema_of_postgresql(pg) == schema_of_sqlite(lite)

    lite_indexes = {r["name"] for r in lite.query("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}
    pg_indexes = {
        r["indexname"]
        for r in pg.query("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
        if not r["indexname"].endswith(("_pkey", "_key"))
    }
    assert pg_indexes - {"leadmagnet_migrations_pkey"} == lite_indexes - {"idx__sqlite_migrations_migration_set_name"}

    lite_triggers = {r["name"] for r in lite.query("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    pg_triggers = {r["tgname"] for r in pg.query("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")}
    assert pg_triggers == lite_triggers
    pg.shutdown()


def test_nodes_migrating_at_once_apply_each_step_once(pg_url: str) -> None:
    stores = [Store(pg_url) for _ in range(4)]
    applied: list[list[str]] = []
    start = threading.Barrier(len(stores))

    def migrate(store: Store) -> None:
        start.wait(timeout=10)
        applied.append(store.migrate())

    threads = [threading.Thread(target=migrate, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(len(names) for names in applied) == [0, 0, 0, len(pg_migrations.history())]
    assert stores[0].pending_migrations() == []
    assert stores[0].schema_version() == pg_migrations.history()
    assert stores[0].migrate() == []
    for store in stores:
        store.shutdown()
