"""Rate limiting: limit parsing, fixed windows, and counters shared by separate processes (and, on
PostgreSQL, by every node: the counters live in the database's ``rate_limits`` table)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from leadmagnet.leads import throttle
from leadmagnet.leads.throttle import Limit, Throttle, parse_limit
from leadmagnet.store import Store
from leadmagnet.store.ratelimits import RateLimits
from leadmagnet.web import services_of

pytestmark = pytest.mark.both_backends


@pytest.fixture
def counters(store_url: str) -> str:
    """Where counters live, once per backend: an SQLite file of their own, or a migrated PostgreSQL database."""
    if store_url.startswith("postgresql://"):
        store = Store(store_url)
        store.migrate()  # the rate_limits table is the migrations' on PostgreSQL
        store.shutdown()
    return store_url


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10/minute", Limit(10, 60)),
        ("100 per hour", Limit(100, 3600)),
        ("5/10seconds", Limit(5, 10)),
        ("3/DAY", Limit(3, 86400)),
        ("10/min", Limit(10, 60)),
        ("100/hr", Limit(100, 3600)),
        ("5/30s", Limit(5, 30)),
        ("2 per d", Limit(2, 86400)),
        ("off", None),
        ("", None),
    ],
)
def test_parse_limit(text: str, expected: Limit | None) -> None:
    assert parse_limit(text) == expected


@pytest.mark.parametrize("text", ["ten per minute", "10/fortnight", "0/minute", "10", "10/m", "5/0minutes", "5 per 0 hour", "5/00s"])
def test_parse_limit_rejects_nonsense_with_an_example(text: str) -> None:
    with pytest.raises(ValueError, match="10/minute"):
        parse_limit(text)


@pytest.mark.parametrize("name", throttle.LIMIT_SETTINGS)
def test_an_unreadable_limit_setting_stops_the_app_at_start_naming_it(make_app, name: str) -> None:
    # Not a 500 on every form post later, with the app apparently fine.
    with pytest.raises(ValueError, match=f"LEADMAGNET_{name}: rate limit '10 a minute' is not understood; write it like 10/minute"):
        make_app(**{name: "10 a minute"})


def test_the_cli_reports_an_unreadable_limit_without_a_traceback(tmp_path: Path) -> None:
    env = {"LEADMAGNET_INSTANCE_DIR": str(tmp_path / "instance"), "LEADMAGNET_RATE_LIMIT": "lots", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "leadmagnet.cli", "contact", "nobody@example.com"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "LEADMAGNET_RATE_LIMIT: rate limit 'lots' is not understood" in done.stderr
    assert "Traceback" not in done.stderr


def test_hits_within_the_limit_pass_then_429_until_the_window_ends(counters: str) -> None:
    t = Throttle(RateLimits(counters))
    now = 60 * 1000 + 20.0  # 20 s into a minute window
    assert [t.hit("ip:a", "3/minute", now=now) for _ in range(3)] == [(True, 0)] * 3
    allowed, retry_after = t.hit("ip:a", "3/minute", now=now)
    assert not allowed
    assert retry_after == 40
    # another key has its own budget; the next window starts afresh
    assert t.hit("ip:b", "3/minute", now=now) == (True, 0)
    assert t.hit("ip:a", "3/minute", now=now + 40) == (True, 0)


def test_off_never_limits(counters: str) -> None:
    t = Throttle(RateLimits(counters))
    assert all(t.hit("k", "off")[0] for _ in range(50))
    assert t.counters.rows() == []


def test_two_counters_on_one_database_count_into_one_window(counters: str) -> None:
    """Two RateLimits on the same target (two nodes on one PostgreSQL, two workers on one file): one budget."""
    first, second = Throttle(RateLimits(counters)), Throttle(RateLimits(counters))
    now = 3600 * 10 + 5.0
    allowed = [t.hit("login:shared", "5/hour", now=now)[0] for _ in range(4) for t in (first, second)]
    assert allowed == [True] * 5 + [False] * 3
    assert [(row["key"], row["hits"]) for row in first.counters.rows()] == [("3600:login:shared", 8)]
    assert first.counters.purge(now=int(now) + 3600) == 1 and second.counters.rows() == []


def test_counters_are_shared_between_processes(counters: str) -> None:
    """Two real processes (as two gunicorn workers, or two nodes) share one budget through the file or the database."""
    db = counters
    code = (
        "import sys; from leadmagnet.leads.throttle import Throttle; from leadmagnet.store.ratelimits import RateLimits;"
        "t = Throttle(RateLimits(sys.argv[1]));"
        "print(sum(t.hit('shared', '10/hour', now=7200.0)[0] for _ in range(8)))"
    )
    runs = [subprocess.Popen([sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    allowed = [int(p.communicate(timeout=30)[0]) for p in runs]
    assert sum(allowed) == 10  # 16 hits, exactly 10 allowed across both processes


def test_the_apps_throttle_uses_the_instance_file_or_the_database(app, backend: str) -> None:
    app_throttle = services_of(app).throttle
    assert app_throttle.hit("login:1.2.3.4", "1/minute") == (True, 0)
    allowed, retry_after = app_throttle.hit("login:1.2.3.4", "1/minute")
    assert not allowed and 1 <= retry_after <= 60
    if backend == "sqlite":
        assert (Path(app.instance_path) / "ratelimit.db").is_file()
    else:  # every node's counters in the shared database, no file of this machine's
        assert not (Path(app.instance_path) / "ratelimit.db").exists()
        rows = services_of(app).store.query("SELECT key, hits FROM rate_limits")
        assert [(row["key"].endswith("login:1.2.3.4"), row["hits"]) for row in rows] == [(True, 2)]


def test_unwritable_counters_fail_open(counters: str) -> None:
    t = Throttle(RateLimits(counters))
    t.hit("k", "1/minute")
    if t.counters.backend == "sqlite":
        t.counters.db.conn.execute("PRAGMA query_only = ON")  # the file cannot be written any more
    else:
        t.counters.db.conn.execute("DROP TABLE rate_limits")  # the counters cannot be written any more
    assert t.hit("k", "1/minute") == (True, 0)


@pytest.mark.slow
def test_the_form_limit_is_shared_by_every_gunicorn_worker(tmp_path: Path) -> None:
    """Through real HTTP: 4 workers, a new connection per request, still 3 allowed in all."""
    import http.client
    import urllib.parse

    from tests.support.content import ROOT
    from tests.support.servers import gunicorn

    env = {
        "LEADMAGNET_CONTENT_DIR": str(ROOT / "content"),
        "LEADMAGNET_INSTANCE_DIR": str(tmp_path / "i"),
        "LEADMAGNET_RATE_LIMIT": "3/hour",
    }
    codes = []
    with gunicorn(env, workers=4) as server:
        port = server.port
        for i in range(12):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            body = urllib.parse.urlencode({"email": f"p{i}@example.com"})
            conn.request("POST", "/seo-checklist", body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
            response = conn.getresponse()
            codes.append(response.status)
            if response.status == 429:
                assert int(response.getheader("Retry-After")) >= 1
            conn.close()
    assert codes == [303] * 3 + [429] * 9
