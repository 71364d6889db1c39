"""``store.backup_to`` (store/backup.py): a consistent, verified copy of a live SQLite database."""

from __future__ import annotations

import sqlite3
import stat
import threading
from contextlib import closing
from pathlib import Path

import pytest

from leadmagnet.store import Store
from tests.support.waiting import wait_until


def submit(store: Store, n: int) -> None:
    store.record_submission(offer_slug="guide", offer_type="ebook", email=f"lead{n}@example.com", fields={"first_name": f"Lead {n}"})


@pytest.fixture
def live_store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "leadmagnet.db")
    store.migrate()
    return store


def test_a_backup_taken_while_another_thread_writes_is_whole_and_consistent(live_store: Store, tmp_path: Path) -> None:
    stop = threading.Event()
    written: list[int] = []

    def writer() -> None:
        writer_store = Store(live_store.path)  # another connection, as a server worker has
        n = 0
        while not stop.is_set():
            submit(writer_store, n)
            written.append(n)
            n += 1
        writer_store.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        wait_until(lambda: len(written) >= 50, timeout=30)
        before = len(written)
        report = live_store.backup_to(tmp_path / "backups" / "copy.db")
        during = len(written)
        wait_until(lambda: len(written) >= during + 20, timeout=30)  # the writer was never blocked for good
    finally:
        stop.set()
        thread.join()

    assert report["integrity"] == "ok"
    assert before <= report["submissions"] <= during + 1  # a snapshot taken while writing went on
    assert report["contacts"] == report["submissions"]  # one contact per submission here: no half-written lead
    # One self-contained private file (personal data), no temporary file left beside it.
    assert [p.name for p in (tmp_path / "backups").iterdir()] == ["copy.db"]
    assert stat.S_IMODE((tmp_path / "backups" / "copy.db").stat().st_mode) == 0o600
    with closing(sqlite3.connect(tmp_path / "backups" / "copy.db")) as plain:
        assert plain.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    copy = Store(tmp_path / "backups" / "copy.db")  # opens it as a server would
    assert copy.integrity_check() == "ok"
    assert copy.count_submissions() == report["submissions"]
    emails = {row["email"] for row in copy.contacts()}
    assert emails == {f"lead{n}@example.com" for n in range(report["contacts"])}  # the first N, none missing
    assert copy.schema_version() == live_store.schema_version()
    copy.close()


def test_an_existing_file_is_kept_unless_overwrite(live_store: Store, tmp_path: Path) -> None:
    submit(live_store, 1)
    target = tmp_path / "copy.db"
    target.write_text("an older backup")
    with pytest.raises(FileExistsError):
        live_store.backup_to(target)
    assert target.read_text() == "an older backup"
    report = live_store.backup_to(target, overwrite=True)
    assert report["submissions"] == 1
    assert Store(target).count_submissions() == 1


def test_a_backup_inside_a_transaction_is_refused(live_store: Store, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="inside a transaction"), live_store.transaction():
        live_store.backup_to(tmp_path / "copy.db")
    assert not (tmp_path / "copy.db").exists()


def test_a_backup_on_postgresql_is_refused(pg_url: str, tmp_path: Path) -> None:
    store = Store(pg_url)
    with pytest.raises(ValueError, match="pg_dump"):
        store.backup_to(tmp_path / "copy.db")
    assert not (tmp_path / "copy.db").exists()
