"""Shared fixtures: a real app on a temporary instance folder and database, a copy of the sample
content, a real HTTP server on a free 127.0.0.1 port, a real SMTP server, the CLI runner, and a
real PostgreSQL server with a fresh database per test.
The machinery lives in :mod:`tests.support`; this module only holds fixtures.

No state is shared between tests: every test gets its own instance folder, database and content.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from leadmagnet.app import create_app
from leadmagnet.web import services_of
from tests.support import postgres
from tests.support.content import SAMPLES
from tests.support.servers import LiveServer, start_live_server
from tests.support.smtp import ascii_only_smtp_server, smtp_server, smtputf8_server  # noqa: F401 (fixtures)


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    """A private copy of the bundled sample content, safe to edit."""
    target = tmp_path / "content"
    shutil.copytree(SAMPLES, target)
    return target


@pytest.fixture
def instance_dir(tmp_path: Path) -> Path:
    return tmp_path / "instance"


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The store backend of this test: "sqlite", or each of both in a module marked ``both_backends``."""
    return getattr(request, "param", "sqlite")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test module marked ``pytestmark = pytest.mark.both_backends`` runs each of its tests that
    use the app (or ``backend``) once on SQLite and once on a fresh PostgreSQL database."""
    if metafunc.definition.get_closest_marker("both_backends") and "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def database(backend: str, request: pytest.FixtureRequest, instance_dir: Path) -> str:
    """The app's LEADMAGNET_DATABASE for this test's backend (PostgreSQL: migrated, as
    `leadmagnet db migrate` leaves it; an app does not migrate PostgreSQL at start)."""
    if backend == "postgresql":
        return request.getfixturevalue("pg_migrated_url")
    return str(instance_dir / "leadmagnet.db")


@pytest.fixture
def make_app(content_dir: Path, instance_dir: Path, tmp_path: Path, database: str, backend: str):
    """Build an app; keyword arguments become setting overrides.

    On PostgreSQL the apps are closed after the test (their counters written, their pool closed)
    before the test's database is dropped, so nothing writes to a database that is gone.
    """
    built: list[Flask] = []

    def build(**overrides) -> Flask:
        settings = {
            "DATABASE": database,
            "CONTENT_DIR": str(content_dir),
            "INSTANCE_DIR": str(instance_dir),
            "THEMES_DIR": str(tmp_path / "themes"),
            "RELOAD_INTERVAL": 0,
            "BASE_URL": "http://127.0.0.1:5000",
            "TESTING": True,
        }
        settings.update(overrides)
        app = create_app(settings)
        built.append(app)
        return app

    yield build
    if backend == "postgresql":
        for app in built:
            services_of(app).close()


@pytest.fixture
def app(make_app) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask):
    return app.test_client()


@pytest.fixture
def store(app: Flask):
    return services_of(app).store


@pytest.fixture
def cli_runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    """The app behind a real HTTP server on 127.0.0.1, always stopped after the test."""
    server = start_live_server(app)
    try:
        yield server
    finally:
        server.stop()


# -- PostgreSQL: one throwaway cluster per session, started only when a test asks for it.


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The URL of a PostgreSQL server (superuser, its ``postgres`` database) for the session.

    ``LEADMAGNET_TEST_POSTGRES_URL`` when set (a server you run), else a throwaway cluster
    (tests/support/postgres.py) started on first use, so a run without PostgreSQL tests pays
    nothing. Without PostgreSQL's server programs the tests that use it are skipped with the
    reason and the apt package to install, unless ``LEADMAGNET_REQUIRE_POSTGRES=1`` (set by scripts/test.sh once PostgreSQL is installed), where
    they fail. A cluster that is installed but does not start always fails: that is a fault to
    see, not a machine to skip.
    """
    external = os.environ.get(postgres.EXTERNAL_ENV)
    if external:
        yield external
        return
    missing = postgres.missing()
    if missing is not None:
        if postgres.required():
            pytest.fail(f"{postgres.REQUIRE_ENV}=1 but {missing}", pytrace=False)
        pytest.skip(f"PostgreSQL TESTS SKIPPED: {missing} (bash scripts/test.sh installs it; CI requires them)")
    failed = None
    try:
        with postgres.server() as url:
            yield url
    except postgres.Unavailable as exc:
        failed = str(exc)
    if failed is not None:  # outside the except block: the message alone, not a chained traceback
        pytest.fail(failed, pytrace=False)


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database of this test alone, dropped after it."""
    name = f"lm_{uuid.uuid4().hex[:12]}"
    url = postgres.fresh_database(pg_server, name)
    try:
        yield url
    finally:
        from leadmagnet.store.postgres import close_pools

        close_pools(url)  # the stores' pools of this database, then the database itself
        postgres.drop_database(pg_server, name)  # WITH (FORCE): connections still open are closed


@pytest.fixture(scope="session")
def pg_schema_template(pg_server: str) -> str:
    """A database with every migration applied, made once per session: the template of
    :func:`pg_migrated_url` (copying it costs about what an empty database does, and saves each
    test migrating its own)."""
    from leadmagnet.store import Store

    name = f"lm_schema_template_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"  # one per xdist worker on a shared server
    url = postgres.fresh_database(pg_server, name)
    store = Store(url)
    store.migrate()
    store.shutdown()  # CREATE DATABASE ... TEMPLATE needs no one connected to it
    return name


@pytest.fixture
def pg_migrated_url(pg_server: str, pg_schema_template: str) -> Iterator[str]:
    """Like :func:`pg_url`, with the schema of every migration already in it."""
    name = f"lm_{uuid.uuid4().hex[:12]}"
    url = postgres.fresh_database(pg_server, name, template=pg_schema_template)
    try:
        yield url
    finally:
        from leadmagnet.store.postgres import close_pools

        close_pools(url)
        postgres.drop_database(pg_server, name)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """What ``LEADMAGNET_DATABASE`` (or ``Store(...)``) takes, once per backend: a new SQLite file's
    path, then a new PostgreSQL database's URL (skipped, or failed in CI, without PostgreSQL)."""
    if request.param == "sqlite":
        return str(tmp_path / "leadmagnet.db")
    return request.getfixturevalue("pg_url")


# -- Playwright: Debian's Chromium, since Playwright's own browser download is not reachable.

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}
