"""The PostgreSQL test fixtures themselves (tests/support/postgres.py, ``pg_server``, ``pg_url``,
``store_url`` in tests/conftest.py): a real server answers, each test's database is its own and
empty, and a machine without PostgreSQL skips those tests with the reason, or fails them in CI."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.support import postgres

ROOT = Path(__file__).resolve().parent.parent


def tables(url: str) -> list[str]:
    import psycopg

    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]


def test_the_server_answers_select_1(pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        assert conn.execute("SELECT current_database()").fetchone()[0] == pg_url.rsplit("/", 1)[1]


def test_the_cluster_runs_unprivileged_without_fsync(pg_url: str) -> None:
    """PostgreSQL refuses root: as root (CI) the server runs as the postgres user; durability is off."""
    import psycopg

    with psycopg.connect(pg_url) as conn:
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        assert conn.execute("SHOW fsync").fetchone()[0] == "off"
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
        owner = Path(f"/proc/{pid}").stat().st_uid  # while connected: the backend process exits with its connection
    assert owner != 0
    if os.geteuid() != 0:
        assert owner == os.geteuid()


def test_each_test_gets_an_empty_database_of_its_own(pg_server: str, pg_url: str) -> None:
    import psycopg

    assert pg_url != pg_server
    assert tables(pg_url) == []
    with psycopg.connect(pg_url) as conn:
        conn.execute("CREATE TABLE contacts (id integer PRIMARY KEY, email text)")
        conn.execute("INSERT INTO contacts VALUES (1, 'ada@example.com')")
    other = postgres.fresh_database(pg_server, "t_isolation_check")
    try:
        assert tables(other) == []  # a table made in one test's database is not in another's
        assert tables(pg_url) == ["contacts"]
    finally:
        postgres.drop_database(pg_server, "t_isolation_check")


def test_a_test_database_is_dropped_afterwards_even_with_a_connection_open(pg_server: str) -> None:
    import psycopg

    url = postgres.fresh_database(pg_server, "t_drop_check")
    left_open = psycopg.connect(url)  # as a store's pool would leave it
    try:
        postgres.drop_database(pg_server, "t_drop_check")
        with psycopg.connect(pg_server) as conn:
            assert conn.execute("SELECT count(*) FROM pg_database WHERE datname = 't_drop_check'").fetchone()[0] == 0
    finally:
        left_open.close()


def test_a_fresh_database_can_copy_a_template(pg_server: str) -> None:
    import psycopg

    template = postgres.fresh_database(pg_server, "t_template")
    try:
        with psycopg.connect(template) as conn:
            conn.execute("CREATE TABLE schema_marker (id integer)")
        copy = postgres.fresh_database(pg_server, "t_from_template", template="t_template")
        assert tables(copy) == ["schema_marker"]
        postgres.drop_database(pg_server, "t_from_template")
    finally:
        postgres.drop_database(pg_server, "t_template")


def test_store_url_gives_each_backend_a_new_database(store_url: str, tmp_path: Path) -> None:
    if store_url.startswith("postgresql://"):
        assert tables(store_url) == []
    else:
        assert Path(store_url).parent == tmp_path
        assert not Path(store_url).exists()


# -- without PostgreSQL: skipped with the reason locally, failed in CI

PROBE = """
import pytest

from tests.conftest import pg_server, pg_url  # noqa: F401 - the fixtures under test
from tests.support import postgres


def no_server_programs():
    raise postgres.NotInstalled("PostgreSQL's server programs (initdb, pg_ctl) are not installed; on Debian: apt-get install postgresql")


postgres.server_bin = no_server_programs  # this machine, as one without PostgreSQL


def test_one(pg_url):
    assert pg_url


def test_two(pg_url):
    assert pg_url
"""


def run_probe(tmp_path: Path, require: str | None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_probe.py").write_text(textwrap.dedent(PROBE), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in {postgres.REQUIRE_ENV, postgres.EXTERNAL_ENV}}
    env["PYTHONPATH"] = str(ROOT)
    if require is not None:
        env[postgres.REQUIRE_ENV] = require
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rsE", "--rootdir", str(tmp_path), str(tmp_path / "test_probe.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_postgresql_the_tests_are_skipped_naming_the_package(tmp_path: Path) -> None:
    result = run_probe(tmp_path, require=None)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 skipped" in result.stdout
    assert "apt-get install postgresql" in result.stdout


def test_without_postgresql_ci_fails_the_tests(tmp_path: Path) -> None:
    result = run_probe(tmp_path, require="1")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "2 errors" in result.stdout
    assert "LEADMAGNET_REQUIRE_POSTGRES=1 but PostgreSQL's server programs" in result.stdout


def test_an_apps_postgresql_database_is_migrated_and_its_own(pg_migrated_url: str, pg_server: str, pg_schema_template: str) -> None:
    from leadmagnet.store import Store

    store = Store(pg_migrated_url)
    try:
        assert store.pending_migrations() == []
        assert {"contacts", "submissions"} <= set(store.tables())
        store.record_submission(offer_slug="guide", offer_type="ebook", email="ada@example.com", fields={})
        assert store.count_submissions() == 1
    finally:
        store.shutdown()
    template = Store(postgres.database_url(pg_server, pg_schema_template))
    try:
        assert template.count_submissions() == 0  # the template stays empty for the next test
    finally:
        template.shutdown()
