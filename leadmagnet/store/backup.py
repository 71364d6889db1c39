"""A consistent copy of a live SQLite database (``leadmagnet backup PATH``), checked before it counts.

SQLite's online backup API (``sqlite3.Connection.backup``) copies the database page by page
through a connection of its own. It runs here in one step: the whole file is read inside one
read transaction, so the copy is the database as it was at one instant, and in WAL mode the
server's writers go on meanwhile (a step-by-step backup would restart whenever another
connection wrote). Copying the file with ``cp`` instead can catch it mid-write and miss what is
still in the ``-wal`` file.

The copy is written to a private temporary file beside the target (mode 0600: it holds personal
data), switched to a rollback journal so that it is one self-contained file, checked with
``PRAGMA integrity_check``, and only then moved into place (``os.replace``), so a failed backup
never leaves a half-written file under the target's name, nor replaces a good one.

PostgreSQL has its own tool for this, ``pg_dump``; there this verb refuses, saying so.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from leadmagnet.store.connection import Connection, DatabaseError, Verbs

COUNTED = ("contacts", "submissions")  # what the copy's report counts, to compare with the admin


class Backup(Verbs):
    """Copies of the database file."""

    def backup_to(self, target: str | Path, *, overwrite: bool = False) -> dict[str, Any]:
        """Copy the database, while the server runs, to a new SQLite file at ``target``; verify it.

        Returns ``{"path", "bytes", "integrity", "contacts", "submissions"}`` (counts of the copy;
        None for a table the database does not have yet). Raises FileExistsError when ``target``
        exists and ``overwrite`` is false, DatabaseError when the copy fails its integrity check
        (nothing is left behind), and ValueError on PostgreSQL (use ``pg_dump``).
        """
        if not isinstance(self.db, Connection):
            raise ValueError("a PostgreSQL database is backed up with pg_dump, not by leadmagnet")
        source = self.db.conn
        if source.in_transaction:
            raise ValueError("backup_to() cannot run inside a transaction: the copy would include its uncommitted writes")
        target = Path(target)
        if target.exists() and not overwrite:
            raise FileExistsError(f"{target} exists")
        if target.is_dir():
            raise IsADirectoryError(f"{target} is a folder; name the backup file")
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)  # mode 0600
        os.close(fd)
        try:
            copy = sqlite3.connect(tmp, isolation_level=None)
            try:
                source.backup(copy)  # pages=-1: every page in one step, one consistent snapshot
                copy.execute("PRAGMA journal_mode = DELETE")  # one file, no -wal beside it
                integrity = str(copy.execute("PRAGMA integrity_check").fetchone()[0])
                counts = {table: _count(copy, table) for table in COUNTED}
            finally:
                copy.close()
            if integrity != "ok":
                raise DatabaseError(f"the copy failed its integrity check ({integrity}); nothing was written to {target}")
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return {"path": str(target), "bytes": target.stat().st_size, "integrity": integrity, **counts}


def _count(conn: sqlite3.Connection, table: str) -> int | None:
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] if exists else None  # noqa: S608 - a name from COUNTED
