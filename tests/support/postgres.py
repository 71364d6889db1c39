"""A throwaway PostgreSQL server for the tests: a cluster in a temporary folder, on 127.0.0.1.

Debian's ``postgresql`` package provides the server programs (``scripts/test.sh`` installs it);
no system cluster is used or needed. PostgreSQL refuses to run as root, and CI runs as root, so
the cluster is made and run by the unprivileged ``postgres`` user the package creates (or by the
current user when it is not root). Durability settings are off (``fsync``, full-page writes): a
test cluster that loses its data in a power cut loses nothing of value, and the tests run faster.

:func:`server` yields the URL of a database the tests may use as they like; each test that needs
a clean one makes its own with :func:`fresh_database`.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.support.ports import free_port

SUPERUSER = "leadmagnet"


class Unavailable(RuntimeError):
    """No PostgreSQL server programs on this machine (or they could not start a cluster)."""


def server_bin() -> Path:
    """The folder of the newest installed PostgreSQL's ``initdb`` and ``pg_ctl``."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0
    )
    if found:
        return found[-1].parent
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    raise Unavailable("PostgreSQL's server programs are not installed (Debian: apt-get install postgresql)")


def _run_as() -> dict[str, object]:
    """subprocess arguments that run a command as the unprivileged user when we are root."""
    if os.geteuid() != 0:
        return {}
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise Unavailable("running as root and there is no 'postgres' user to run the server as") from None
    return {"user": "postgres", "group": "postgres" if _has_group("postgres") else None}


def _has_group(name: str) -> bool:
    import grp

    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


@contextlib.contextmanager
def server() -> Iterator[str]:
    """Start a throwaway cluster; yield ``postgresql://leadmagnet@127.0.0.1:PORT/postgres``; remove it."""
    bindir = server_bin()
    as_user = {k: v for k, v in _run_as().items() if v is not None}
    tmp = Path(tempfile.mkdtemp(prefix="lm-pg-"))
    data = tmp / "data"
    if as_user:
        shutil.chown(tmp, user="postgres", group=as_user.get("group"))
    tmp.chmod(0o700)
    port = free_port()
    log = tmp / "server.log"
    try:
        subprocess.run(
            [str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"],
            check=True,
            capture_output=True,
            **as_user,  # type: ignore[arg-type]
        )
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {tmp} -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=200"
        started = subprocess.run(
            [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"],
            capture_output=True,
            text=True,
            **as_user,  # type: ignore[arg-type]
        )
        if started.returncode != 0:
            detail = log.read_text(errors="replace")[-2000:] if log.exists() else started.stderr
            raise Unavailable(f"the PostgreSQL test cluster did not start: {detail}")
        try:
            yield f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], capture_output=True, **as_user)  # type: ignore[arg-type]
    except subprocess.CalledProcessError as exc:
        raise Unavailable(f"initdb failed: {exc.stderr.decode(errors='replace')[-2000:]}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def fresh_database(url: str, name: str) -> str:
    """Create (or empty) database ``name`` on the server at ``url``; return its URL."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(url: str, name: str) -> None:
    """Drop database ``name`` on the server at ``url`` (closing whatever still uses it)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
