"""A throwaway PostgreSQL server for the tests: a cluster in a temporary folder, on 127.0.0.1.

Debian's ``postgresql`` package provides the server programs (``scripts/test.sh`` installs it);
no system cluster is used or needed. PostgreSQL refuses to run as root, and CI runs as root, so
the cluster is made and run by the unprivileged ``postgres`` user the package creates (or by the
current user when it is not root). Durability settings are off (``fsync``, full-page writes): a
test cluster that loses its data in a power cut loses nothing of value, and the tests run faster.

:func:`server` yields the URL of a database the tests may use as they like; each test that needs
a clean one makes its own with :func:`fresh_database` and removes it with :func:`drop_database`.
The fixtures (``pg_server``, ``pg_url``, ``store_url``) are in ``tests/conftest.py``.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.support.ports import free_port

SUPERUSER = "leadmagnet"
APT_PACKAGE = "postgresql"  # Debian's package of the server programs (initdb, pg_ctl, postgres)
REQUIRE_ENV = "LEADMAGNET_REQUIRE_POSTGRES"  # "1" (scripts/test.sh sets it once PostgreSQL is installed): a missing server fails the tests
EXTERNAL_ENV = "LEADMAGNET_TEST_POSTGRES_URL"  # a server of your own to test against (its superuser's URL)


class Unavailable(RuntimeError):
    """The PostgreSQL test cluster could not be made or started here (the message says why)."""


class NotInstalled(Unavailable):
    """No PostgreSQL server programs on this machine: the tests that need one are skipped (or fail in CI)."""


def required() -> bool:
    """Whether PostgreSQL tests must run (CI) rather than be skipped when no server can start."""
    return os.environ.get(REQUIRE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def missing() -> str | None:
    """Why PostgreSQL tests cannot run on this machine (no server programs, no driver), or None."""
    try:
        server_bin()
    except NotInstalled as exc:
        return str(exc)
    try:
        import psycopg  # noqa: F401 - the tests and the store talk to the server through it
    except ImportError:
        return "psycopg is not installed (pip install -e '.[test]' installs it)"
    return None


def _version(bindir: Path) -> int:
    name = bindir.parent.name  # /usr/lib/postgresql/<major>/bin
    return int(name) if name.isdigit() else 0


def server_bin() -> Path:
    """The folder of the newest installed PostgreSQL's ``initdb`` and ``pg_ctl``."""
    found = sorted((p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")), key=_version)
    if found:
        return found[-1]
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    raise NotInstalled(f"PostgreSQL's server programs (initdb, pg_ctl) are not installed; on Debian: apt-get install {APT_PACKAGE}")


def _run_as() -> dict[str, str]:
    """subprocess arguments that run a command as the unprivileged ``postgres`` user when we are root."""
    if os.geteuid() != 0:
        return {}
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise Unavailable(
            f"running as root and there is no 'postgres' user to run the server as (Debian's {APT_PACKAGE} package creates it)"
        ) from None
    try:
        grp.getgrnam("postgres")
    except KeyError:
        return {"user": "postgres"}
    return {"user": "postgres", "group": "postgres"}


@contextlib.contextmanager
def server() -> Iterator[str]:
    """Start a throwaway cluster; yield ``postgresql://leadmagnet@127.0.0.1:PORT/postgres``; remove it."""
    bindir = server_bin()
    as_user = _run_as()
    tmp = Path(tempfile.mkdtemp(prefix="lm-pg-"))
    data = tmp / "data"
    log = tmp / "server.log"
    # The programs run in the cluster's folder: the postgres user may not be allowed into ours.
    run = {"cwd": tmp, "capture_output": True, "text": True, **as_user}
    try:
        if as_user:
            shutil.chown(tmp, user=as_user["user"], group=as_user.get("group"))
        tmp.chmod(0o700)
        initdb = [
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ]
        made = subprocess.run(initdb, **run)
        if made.returncode != 0:
            hint = f" (is {tmp.parent} open to the postgres user?)" if as_user else ""
            raise Unavailable(f"initdb failed{hint}: {(made.stderr or made.stdout)[-2000:]}")
        port = free_port()
        # Durability off: nothing in a test cluster is worth an fsync, and the suite runs faster.
        # The socket goes in our folder (-k), so no /var/run/postgresql is needed.
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {tmp} -c fsync=off -c full_page_writes=off"
            " -c synchronous_commit=off -c max_connections=200"
        )
        started = subprocess.run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"], **run)
        if started.returncode != 0:
            detail = log.read_text(errors="replace")[-2000:] if log.exists() else started.stderr
            raise Unavailable(f"the PostgreSQL test cluster did not start: {detail}")
        try:
            yield f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], **run)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def database_url(url: str, name: str) -> str:
    """The URL of database ``name`` on the server of ``url``."""
    return url.rsplit("/", 1)[0] + f"/{name}"


def fresh_database(url: str, name: str, template: str | None = None) -> str:
    """Create (or empty) database ``name`` on the server at ``url``, a copy of ``template``; return its URL.

    Without ``template`` it is an empty database (PostgreSQL's ``template1``). A copy of a
    template with the schema already in it is how a suite skips migrating every database.
    """
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        create = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template or "template1"))
        if conn.info.server_version >= 150000:
            # Copy the files rather than WAL-log every block: faster for a small database (38 ms
            # against 50 ms, idle machine), and the checkpoint it costs is cheap with fsync off.
            create = sql.SQL("{} STRATEGY FILE_COPY").format(create)
        conn.execute(create)
    return database_url(url, name)


def drop_database(url: str, name: str) -> None:
    """Drop database ``name`` on the server at ``url``, closing any connection still open to it."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
