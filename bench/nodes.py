"""Submissions per second on PostgreSQL with one and with two capture nodes, against SQLite on one node.

Three configurations side by side in the same run, each leadmagnet under the production gunicorn
settings (``leadmagnet.gunicorn_conf``) with the sample content, rate limit and duplicate window
off, so every post to ``/seo-checklist`` is stored:

- **sqlite, 1 node**: the default install, one gunicorn on an SQLite file;
- **postgresql, 1 node**: one gunicorn on a PostgreSQL database;
- **postgresql, 2 nodes**: two gunicorns (separate instance folders, the same secret and content)
  on that same database, loaded at once by two wrk processes, half the connections each.

wrk with ``bench/post.lua`` (a unique email per request), closed loop, in alternating rounds of
a few seconds so that the machine's noise falls on all three alike. Afterwards the rows stored
are counted against the answers wrk saw (a request in flight when wrk stops may be stored
unanswered, never the reverse).

Everything runs on ONE machine: the two "nodes" share its cores (and PostgreSQL's), so the
two-node figure measures what a second node costs or gains against the same CPU, not the
scaling two machines would give. PostgreSQL is ``LEADMAGNET_TEST_POSTGRES_URL`` when set (a fresh
database is made on it and dropped), else a throwaway cluster (tests/support/postgres.py, with
fsync off, as in the tests; the figure says so).

Run from the checkout: ``.venv/bin/python -m bench.nodes [--seconds 3] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

from bench._load import POST_SCRIPT, combine, wrk
from bench._results import record
from leadmagnet.store import Store
from tests.support import postgres
from tests.support.content import ROOT
from tests.support.load import FORM_PATH
from tests.support.servers import gunicorn


@contextlib.contextmanager
def pg_database() -> Iterator[tuple[str, str]]:
    """A fresh PostgreSQL database: (its URL, what server it is on)."""
    external = os.environ.get("LEADMAGNET_TEST_POSTGRES_URL")
    with contextlib.ExitStack() as stack:
        if external:
            server, where = external, "a PostgreSQL server run outside the bench (LEADMAGNET_TEST_POSTGRES_URL)"
        else:
            server, where = stack.enter_context(postgres.server()), "a throwaway PostgreSQL cluster (fsync off, as in the tests)"
        name = "lm_bench_" + uuid.uuid4().hex[:8]
        url = postgres.fresh_database(server, name)
        try:
            yield url, where
        finally:
            from leadmagnet.store.postgres import close_pools

            close_pools(url)
            postgres.drop_database(server, name)


def stored(target: str, prefix: str) -> int:
    """Submissions whose email starts with ``prefix`` (wrk's emails are ``prefix-thread-n@``)."""
    store = Store(target)
    try:
        emails = {c["id"]: c["email"] for c in store.contacts()}
        return sum(1 for s in store.submissions() if emails[s["contact_id"]].startswith(prefix + "-"))
    finally:
        store.shutdown()


def at_once(jobs: list[tuple[str, int, int, list[str]]], seconds: int) -> list[dict]:
    """Run one wrk per ``(url, connections, pid, script)`` at the same time; their results in order."""
    results: list[dict] = [{}] * len(jobs)

    def run(i: int, url: str, connections: int, pid: int, script: list[str]) -> None:
        results[i] = wrk(url, seconds, connections, pid, script=script)

    threads = [threading.Thread(target=run, args=(i, *job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=3, help="seconds of wrk load per configuration and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-record", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="lm-bench-nodes-") as tmp_name, pg_database() as (pg_url, pg_where):
        tmp = Path(tmp_name)
        migrating = Store(pg_url)
        migrating.migrate()  # once, as `leadmagnet db migrate` would, before the nodes start
        migrating.shutdown()
        secret = secrets.token_urlsafe(32)
        common = {
            "LEADMAGNET_CONTENT_DIR": str(ROOT / "content"),
            "LEADMAGNET_RATE_LIMIT": "off",
            "LEADMAGNET_DUPLICATE_WINDOW": "0",
            "LEADMAGNET_SECRET_KEY": secret,
        }

        def env(name: str, database: str) -> dict[str, str]:
            return {**common, "LEADMAGNET_INSTANCE_DIR": str(tmp / name), "LEADMAGNET_DATABASE": database}

        sqlite_file = str(tmp / "sqlite" / "leadmagnet.db")
        with (
            gunicorn(env("sqlite", sqlite_file), log=tmp / "sqlite.log") as lite,
            gunicorn(env("pg-a", pg_url), log=tmp / "pg-a.log") as node_a,
            gunicorn(env("pg-b", pg_url), log=tmp / "pg-b.log") as node_b,
        ):
            url = {name: f"{server.url}{FORM_PATH}" for name, server in (("lite", lite), ("a", node_a), ("b", node_b))}
            for name in url:
                wrk(url[name], 1, 4, script=[POST_SCRIPT, f"warm{name}"])
            c = args.connections
            runs: dict[str, list[dict]] = {"sqlite": [], "pg1": [], "pg2": []}
            for i in range(args.rounds):
                runs["sqlite"].append(wrk(url["lite"], args.seconds, c, lite.proc.pid, script=[POST_SCRIPT, f"lite{i}"]))
                runs["pg1"].append(wrk(url["a"], args.seconds, c, node_a.proc.pid, script=[POST_SCRIPT, f"one{i}"]))
                two = at_once(
                    [
                        (url["a"], c // 2, node_a.proc.pid, [POST_SCRIPT, f"twoa{i}"]),
                        (url["b"], c // 2, node_b.proc.pid, [POST_SCRIPT, f"twob{i}"]),
                    ],
                    args.seconds,
                )
                runs["pg2"].append(
                    {
                        "rps": sum(r["rps"] for r in two),
                        "p50": max(r["p50"] for r in two),
                        "p99": max(r["p99"] for r in two),
                        "non2xx": sum(r["non2xx"] for r in two),
                        "requests": sum(r["requests"] for r in two),
                        "cpu": sum(r["cpu"] for r in two),
                    }
                )
        rows_stored = {
            "sqlite": sum(stored(sqlite_file, f"lite{i}") for i in range(args.rounds)),
            "pg1": sum(stored(pg_url, f"one{i}") for i in range(args.rounds)),
            "pg2": sum(stored(pg_url, f"two{n}{i}") for i in range(args.rounds) for n in "ab"),
        }
    load_after = os.getloadavg()

    result = {name: combine(r) for name, r in runs.items()}
    answered = {name: sum(r["requests"] - r["non2xx"] for r in rs) for name, rs in runs.items()}
    base = result["sqlite"]

    def value(name: str) -> str:
        r = result[name]
        return (
            f"{r['rps']:.0f}/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, {r['non2xx']} non-3xx; {r['cpu_us']:.0f} µs server CPU each"
        )

    sqlite_value = value("sqlite")
    rows = [
        {
            "figure": "form submissions per second, PostgreSQL, 1 node (higher is better)",
            "value": value("pg1"),
            "baseline": "SQLite, 1 node",
            "baseline_value": sqlite_value,
            "ratio": round(result["pg1"]["rps"] / base["rps"], 3),
        },
        {
            "figure": "form submissions per second, PostgreSQL, 2 nodes on the same machine (higher is better)",
            "value": value("pg2"),
            "baseline": "SQLite, 1 node",
            "baseline_value": sqlite_value,
            "ratio": round(result["pg2"]["rps"] / base["rps"], 3),
        },
        {
            "figure": "rows stored vs answers wrk counted (stored >= answered: no acknowledged lead lost)",
            "value": f"PostgreSQL 1 node {rows_stored['pg1']} >= {answered['pg1']}; 2 nodes {rows_stored['pg2']} >= {answered['pg2']}",
            "baseline": "SQLite, 1 node",
            "baseline_value": f"{rows_stored['sqlite']} >= {answered['sqlite']}",
            "ratio": "ok" if all(rows_stored[n] >= answered[n] for n in rows_stored) else "LOST",
        },
    ]
    for r in rows:
        print(f"{r['figure']}: {r['value']} vs {r['baseline_value']} -> {r['ratio']}")
    if args.no_record:
        return
    command = f".venv/bin/python -m bench.nodes --seconds {args.seconds} --rounds {args.rounds} --connections {args.connections}"
    notes = (
        f"wrk -t2 -s bench/post.lua, {args.rounds} alternating rounds of {args.seconds} s per configuration, {args.connections} "
        f"connections (2 nodes: two wrk at once, {args.connections // 2} each). Each node is one gunicorn with the production "
        "settings (2 workers per core, 4 threads). PostgreSQL: "
        f"{pg_where}, on the same machine. All of it shares 2 cores: the 2-node figure is what a second node does against the "
        "same CPU (more processes, the same database's single write lock), not what a second machine would add. "
        f"Machine load (uptime's 1/5/15-minute load averages, other agents' tests included): before "
        f"{' '.join(f'{x:.2f}' for x in load_before)}, after {' '.join(f'{x:.2f}' for x in load_after)}."
    )
    record("nodes", command, rows, notes)


if __name__ == "__main__":
    main()
