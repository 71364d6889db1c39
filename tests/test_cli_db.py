"""``leadmagnet db migrate``, ``db status`` and ``backup`` (cli/database.py), on both backends, and
the start of an app on PostgreSQL: never migrating, refusing while a migration is pending."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from leadmagnet.app import PendingMigrations, create_app
from leadmagnet.cli import cli
from leadmagnet.store import Store
from tests.support.waiting import wait_until


def with_password(url: str) -> str:
    """The URL with a password in it (the test cluster trusts 127.0.0.1, so any password works)."""
    return url.replace("postgresql://leadmagnet@", "postgresql://leadmagnet:s3cret-pw@") if url.startswith("postgresql://") else url


def run(runner: CliRunner, tmp_path: Path, database: str, *args: str):
    return runner.invoke(cli, ["--instance", str(tmp_path / "instance"), *args], env={"LEADMAGNET_DATABASE": database})


def history(database: str) -> list[str]:
    store = Store(database)
    try:
        return store.pending_migrations()
    finally:
        store.shutdown()


def test_db_migrate_applies_what_is_pending_once_and_prints_the_names(store_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    database = with_password(store_url)
    names = history(database)
    assert len(names) >= 15

    first = run(runner, tmp_path, database, "db", "migrate")
    assert first.exit_code == 0, first.output
    assert [line.removeprefix("applied ") for line in first.output.splitlines() if line.startswith("applied ")] == names
    assert f"{len(names)} migration(s) applied; the schema is up to date ({names[-1]})" in first.output

    again = run(runner, tmp_path, database, "db", "migrate")
    assert again.exit_code == 0, again.output
    assert f"nothing to apply: the schema is up to date ({names[-1]})" in again.output
    assert "s3cret-pw" not in first.output + again.output


def test_db_status_lists_the_pending_migrations(store_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    database = with_password(store_url)
    store = Store(database)
    if store.backend == "sqlite":
        store.migrate(stop_before=history(database)[-2])  # an install one version behind: the last two pending
    # (PostgreSQL: a database never migrated; its baseline step applies m001-m015 as one.)
    applied, pending = store.schema_version(), store.pending_migrations()
    store.shutdown()
    assert pending

    behind = run(runner, tmp_path, database, "db", "status")
    assert behind.exit_code == 0, behind.output
    assert f"applied: {len(applied)}" + (f" (last: {applied[-1]})" if applied else "") + "\n" in behind.output
    listed = "".join(f"  {name}\n" for name in pending)
    assert f"pending: {len(pending)}\n{listed}run `leadmagnet db migrate` to apply them" in behind.output
    assert run(runner, tmp_path, database, "db", "status", "--check").exit_code == 1
    assert "s3cret-pw" not in behind.output

    assert run(runner, tmp_path, database, "db", "migrate").exit_code == 0
    current = run(runner, tmp_path, database, "db", "status", "--check")
    assert current.exit_code == 0, current.output
    assert "pending: 0 (up to date)" in current.output


def test_db_status_of_an_sqlite_file_not_made_yet_creates_nothing(tmp_path: Path) -> None:
    result = run(CliRunner(), tmp_path, str(tmp_path / "new.db"), "db", "status")
    assert result.exit_code == 0, result.output
    assert "does not exist yet" in result.output
    assert not (tmp_path / "new.db").exists()


# -- start: SQLite migrates, PostgreSQL refuses until `db migrate`


def settings_for(tmp_path: Path, database: str) -> dict[str, object]:
    return {"DATABASE": database, "INSTANCE_DIR": str(tmp_path / "instance"), "CONTENT_DIR": str(tmp_path / "content"), "TESTING": True}


def test_an_app_on_postgresql_does_not_start_with_migrations_pending(pg_url: str, tmp_path: Path) -> None:
    database = with_password(pg_url)
    with pytest.raises(PendingMigrations, match=r"run `leadmagnet db migrate` once") as caught:
        create_app(settings_for(tmp_path, database))
    assert "postgresql://leadmagnet:***@127.0.0.1" in str(caught.value)
    assert "s3cret-pw" not in str(caught.value)
    assert history(database)[0] in str(caught.value)
    store = Store(database)
    assert store.schema_version() == []  # it did not migrate on its own
    store.shutdown()

    # The CLI says the same, and exits 1, for any command that needs the app.
    result = run(CliRunner(), tmp_path, database, "contact", "ada@example.com")
    assert result.exit_code == 1
    assert "run `leadmagnet db migrate` once" in result.output and "s3cret-pw" not in result.output

    assert run(CliRunner(), tmp_path, database, "db", "migrate").exit_code == 0
    app = create_app(settings_for(tmp_path, database))
    assert app.test_client().get("/healthz").get_json()["database"] is True


def test_an_app_on_sqlite_still_migrates_at_start(tmp_path: Path) -> None:
    database = str(tmp_path / "fresh.db")
    create_app(settings_for(tmp_path, database))
    store = Store(database)
    assert store.pending_migrations() == []
    assert len(store.schema_version()) >= 15


# -- backup


def submit(store: Store, n: int) -> None:
    store.record_submission(offer_slug="guide", offer_type="ebook", email=f"lead{n}@example.com", fields={})


def test_backup_while_another_thread_writes_submissions(tmp_path: Path) -> None:
    database = str(tmp_path / "leadmagnet.db")
    Store(database).migrate()
    stop = threading.Event()
    written: list[int] = []

    def writer() -> None:
        store = Store(database)
        n = 0
        while not stop.is_set():
            submit(store, n)
            written.append(n)
            n += 1
        store.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        wait_until(lambda: len(written) >= 30, timeout=30)
        result = run(CliRunner(), tmp_path, database, "backup", str(tmp_path / "copy.db"))
        wait_until(lambda: len(written) >= 60, timeout=30)
    finally:
        stop.set()
        thread.join()

    assert result.exit_code == 0, result.output
    copy = Store(tmp_path / "copy.db")
    rows = copy.count_submissions()
    assert 30 <= rows < len(written) + 1
    assert f"integrity ok, {rows:,} contacts, {rows:,} submissions" in result.output
    assert result.output.startswith(f"backed up {database} to {tmp_path / 'copy.db'} (")
    assert {c["email"] for c in copy.contacts()} == {f"lead{n}@example.com" for n in range(rows)}


def test_backup_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    database = str(tmp_path / "leadmagnet.db")
    store = Store(database)
    store.migrate()
    submit(store, 1)
    target = tmp_path / "copy.db"
    target.write_text("yesterday's backup")

    refused = run(CliRunner(), tmp_path, database, "backup", str(target))
    assert refused.exit_code == 1
    assert f"{target} exists; choose another name, or pass --force to replace it" in refused.output
    assert target.read_text() == "yesterday's backup"

    forced = run(CliRunner(), tmp_path, database, "backup", "--force", str(target))
    assert forced.exit_code == 0, forced.output
    assert Store(target).count_submissions() == 1


def test_backup_refuses_the_database_itself_and_a_missing_database(tmp_path: Path) -> None:
    database = str(tmp_path / "leadmagnet.db")
    missing = run(CliRunner(), tmp_path, database, "backup", str(tmp_path / "copy.db"))
    assert missing.exit_code == 1
    assert f"there is no database at {database} to back up" in missing.output
    assert not Path(database).exists()

    Store(database).migrate()
    itself = run(CliRunner(), tmp_path, database, "backup", "--force", database)
    assert itself.exit_code == 1
    assert "is the database itself" in itself.output


def test_backup_on_postgresql_prints_the_pg_dump_command_with_the_password_masked(tmp_path: Path) -> None:
    database = "postgresql://lm:s3cret-pw@db.internal:5432/leads?sslmode=require"
    result = run(CliRunner(), tmp_path, database, "backup", "leads.dump")
    assert result.exit_code == 1
    assert "back up PostgreSQL with pg_dump" in result.output
    assert "pg_dump --format=custom --file=leads.dump 'postgresql://lm:***@db.internal:5432/leads?sslmode=require'" in result.output
    assert "s3cret-pw" not in result.output
    assert not (tmp_path / "leads.dump").exists()
