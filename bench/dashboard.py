"""The admin dashboard at 1,000,000 submissions, against the sqlite3 shell counting the same in one run.

Builds (once, cached under ``bench/out/dashboard/``) a database of N submissions spread over a
year, three offers (two ebooks, and a webinar with 5% of the leads), several sources, mediums, campaigns, referrers and browsers, 5% spam, a
download for a third of the ebook leads and a sent email for every lead, plus a year of page
views with their details. The rows are bulk-inserted with sqlite3 into a database migrated up to
the migration before the roll-ups, then the app's own migration builds ``lead_days`` from them
(its time is a figure: what an upgrade of a large install costs once). A database cached by an
earlier version is upgraded in place by the migrations it lacks, timed (the same kind of figure).

Then it times, median of ``--repeat`` runs each:

* ``GET /admin/`` for the whole year (every chart, breakdown and the funnel), through the Flask
  test client with a logged-in session: the whole request, template included (wall time, and the
  process's CPU time, steadier on a shared machine);
* the same for the last 30 days;
* the baseline: ``sqlite3`` (the shell, in C) running the equivalent counts straight on the
  submissions table: leads per offer and day, then per source, medium and campaign (the GROUP
  BYs the dashboard would run without its roll-up).

Usage: .venv/bin/python -m bench.dashboard [--submissions N] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench._results import record  # noqa: E402
from leadmagnet.app import create_app  # noqa: E402
from leadmagnet.foundation.traffic import referrer_domain  # noqa: E402
from leadmagnet.store import Store  # noqa: E402
from leadmagnet.web import services_of  # noqa: E402
from leadmagnet.web.admin import add_admin  # noqa: E402

OUT = HERE / "out" / "dashboard"
YEAR = date(2026, 1, 1)
OFFERS = [("growth-playbook", "ebook"), ("seo-checklist", "ebook"), ("q1-product-demo", "webinar")]
SOURCES = ["newsletter", "linkedin", "google", "twitter", "partner", None]
MEDIUMS = ["email", "social", "cpc", None]
CAMPAIGNS = [f"campaign-{i}" for i in range(8)] + [None]
REFERRERS = [f"https://www.site{i}.example/page" for i in range(10)] + [None]
AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Version/17.1 Safari/605.1.15",
]
PASSWORD = "correct horse battery staple"  # noqa: S105 - a throw-away admin of the benchmark database
BASELINE_SQL = """
SELECT offer_slug, substr(created_at, 1, 10), count(*) FROM submissions WHERE spam = 0 GROUP BY 1, 2;
SELECT lower(utm_source), count(*) FROM submissions WHERE spam = 0 GROUP BY 1;
SELECT lower(utm_medium), count(*) FROM submissions WHERE spam = 0 GROUP BY 1;
SELECT lower(utm_campaign), count(*) FROM submissions WHERE spam = 0 GROUP BY 1;
"""


def build(db_path: Path, n: int) -> float:
    """The database of ``n`` submissions (reused when it exists); returns the roll-up migration's seconds."""
    meta = db_path.with_suffix(".json")
    if db_path.exists() and meta.exists() and json.loads(meta.read_text()).get("n") == n:
        return float(json.loads(meta.read_text())["migration_s"])
    for stale in (db_path, meta):
        stale.unlink(missing_ok=True)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    store = Store(db_path)
    store.migrate(stop_before="m013_dashboard_rollups")
    store.close()
    rng = random.Random(17)
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    seconds_per_lead = 365 * 86400 / n

    def when(i: int) -> str:
        return (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=i * seconds_per_lead)).isoformat(timespec="microseconds")

    conn.executemany(
        "INSERT INTO contacts (id, email, custom, first_seen, last_seen) VALUES (?, ?, '{}', ?, ?)",
        ((i, f"person{i}@example.com", when(i), when(i)) for i in range(1, n + 1)),
    )

    def submissions():
        for i in range(1, n + 1):
            slug, kind = OFFERS[2] if i % 20 == 0 else OFFERS[i % 2]  # a webinar seats fewer people than ebooks reach
            spam = 1 if rng.random() < 0.05 else 0
            yield (
                i,
                i,
                slug,
                kind,
                "{}",
                rng.choice(SOURCES),
                rng.choice(MEDIUMS),
                rng.choice(CAMPAIGNS),
                rng.choice(REFERRERS),
                rng.choice(AGENTS),
                spam,
                "spam" if spam else "ok",
                when(i),
            )

    conn.executemany(
        "INSERT INTO submissions (id, contact_id, offer_slug, offer_type, data, utm_source, utm_medium, utm_campaign, referrer,"
        " user_agent, spam, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        submissions(),
    )
    conn.execute(
        "INSERT INTO downloads (submission_id, created_at) SELECT id, created_at FROM submissions"
        " WHERE spam = 0 AND offer_type = 'ebook' AND id % 3 != 0"
    )
    conn.execute(
        "INSERT INTO outbox (submission_id, contact_id, kind, to_addr, subject, message, status, next_attempt_at, created_at, sent_at)"
        " SELECT id, contact_id, 'delivery', 'x@example.com', 'Your guide', X'', 'sent', created_at, created_at,"
        " strftime('%Y-%m-%dT%H:%M:%S.000000+00:00', created_at, '+' || (id % 300) || ' seconds') FROM submissions WHERE spam = 0"
    )
    views, details = [], []
    for d in range(365):
        day = (YEAR + timedelta(days=d)).isoformat()
        for slug, _kind in OFFERS:
            for source in SOURCES:
                views.append((slug, day, source or "", rng.randint(20, 120)))
            for dimension, values in (
                ("medium", MEDIUMS),
                ("campaign", CAMPAIGNS),
                ("referrer", REFERRERS),
                ("device", ("phone", "tablet", "desktop")),
            ):
                for value in values:
                    counted_as = referrer_domain(value) if dimension == "referrer" else value or ""
                    details.append((slug, day, dimension, counted_as, rng.randint(20, 120)))
    conn.executemany("INSERT INTO page_views (offer_slug, day, utm_source, views) VALUES (?, ?, ?, ?)", views)
    conn.execute("COMMIT")
    conn.close()
    store = Store(db_path)
    started = time.perf_counter()
    store.migrate()  # m010 builds lead_days from the million rows
    migration_s = time.perf_counter() - started
    store.close()
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.executemany("INSERT INTO page_view_details (offer_slug, day, dimension, value, views) VALUES (?, ?, ?, ?, ?)", details)
    conn.execute("ANALYZE")
    conn.close()
    meta.write_text(json.dumps({"n": n, "migration_s": migration_s}))
    return migration_s


def write_cost(n: int = 2000) -> tuple[float, float]:
    """Median seconds of ``record_submission`` on a fresh database with the roll-up's triggers and
    indexes, and without them (migrated up to the migration before): what a lead pays for them."""
    import tempfile

    medians = []
    for stop in ("m013_dashboard_rollups", None):
        with tempfile.TemporaryDirectory(prefix="lm-bench-") as tmp:
            store = Store(Path(tmp) / "cost.db")
            store.migrate(stop_before=stop)
            runs = []
            for i in range(n):
                meta = {
                    "utm_source": SOURCES[i % 5],
                    "utm_campaign": CAMPAIGNS[i % 8],
                    "referrer": REFERRERS[i % 10],
                    "user_agent": AGENTS[i % 5],
                }
                started = time.perf_counter()
                store.record_submission(
                    offer_slug=OFFERS[i % 3][0], offer_type=OFFERS[i % 3][1], email=f"p{i}@example.com", fields={}, meta=meta
                )
                runs.append(time.perf_counter() - started)
            store.close()
            medians.append(statistics.median(runs))
    without, with_rollup = medians
    return with_rollup, without


def timed(fn, repeat: int, cpu: list[float] | None = None) -> tuple[float, list[float]]:
    """Median wall seconds of ``fn`` over ``repeat`` runs, and every run; each run's process CPU
    seconds are appended to ``cpu`` when given."""
    runs = []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        fn()
        runs.append(time.perf_counter() - started)
        if cpu is not None:
            cpu.append(time.process_time() - started_cpu)
    return statistics.median(runs), runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n = args.submissions
    instance = OUT / f"instance-{n}"
    db = instance / "leadmagnet.db"
    t0 = time.perf_counter()
    migration_s = build(db, n)
    print(f"database of {n:,} submissions ready in {time.perf_counter() - t0:.1f} s: {db}", file=sys.stderr)
    upgrade = Store(db)
    started = time.perf_counter()
    upgraded = upgrade.migrate()  # what a cached database lacks (a later version's migrations)
    upgrade_s = time.perf_counter() - started
    upgrade.close()
    if upgraded:
        print(f"upgraded by {', '.join(upgraded)} in {upgrade_s:.1f} s", file=sys.stderr)

    settings = {"INSTANCE_DIR": str(instance), "CONTENT_DIR": str(ROOT / "content"), "ADMIN_LOGIN_LIMIT": "off", "WTF_CSRF_ENABLED": False}
    app = create_app(settings)
    store = services_of(app).store
    add_admin(store, "bench@example.com", PASSWORD)
    client = app.test_client()
    assert client.post("/admin/login", data={"email": "bench@example.com", "password": PASSWORD}).status_code == 303

    def dashboard(query: str) -> None:
        response = client.get("/admin/" + query)
        assert response.status_code == 200 and b'role="img"' in response.data, response.status_code

    dashboard("?since=2026-01-01&until=2026-12-31")  # once untimed: templates compiled, caches warm
    load = os.getloadavg()[0]
    year_cpu: list[float] = []
    month_cpu: list[float] = []
    year_s, year_runs = timed(lambda: dashboard("?since=2026-01-01&until=2026-12-31"), args.repeat, year_cpu)
    month_s, month_runs = timed(lambda: dashboard("?since=2026-12-01&until=2026-12-31"), args.repeat, month_cpu)
    load_after = os.getloadavg()[0]

    def shell() -> None:
        subprocess.run(["sqlite3", str(db)], input=BASELINE_SQL, capture_output=True, text=True, check=True)

    base_s, base_runs = timed(shell, args.repeat)
    write_with, write_without = write_cost()
    counted = store.query("SELECT count(*) AS n FROM submissions")[0]["n"]
    rollup_rows = store.query("SELECT count(*) AS n FROM lead_days")[0]["n"]
    rows = [
        {
            "figure": f"GET /admin/ over a year of {counted:,} submissions (charts, 5 breakdowns, funnel, response times): median time, lower is better",
            "value": f"{year_s * 1000:.0f} ms",
            "baseline": "sqlite3 shell counting leads per offer and day, source, medium and campaign on the submissions table",
            "baseline_value": f"{base_s * 1000:.0f} ms",
            "ratio": year_s / base_s,
            "target": "< 1",
        },
        {
            "figure": "the same request over the year: median time against issue 20's target (200 ms)",
            "value": f"{year_s * 1000:.0f} ms wall, {statistics.median(year_cpu) * 1000:.0f} ms CPU",
            "baseline": "issue 20's target",
            "baseline_value": "200 ms",
            "ratio": year_s / 0.2,
            "target": "< 1",
        },
        {
            "figure": "GET /admin/ for the last 30 days: median time",
            "value": f"{month_s * 1000:.0f} ms",
            "baseline": "the same sqlite3 shell counts",
            "baseline_value": f"{base_s * 1000:.0f} ms",
            "ratio": month_s / base_s,
        },
        {
            "figure": "what a lead pays: record_submission (its own transaction) with the roll-up's triggers and indexes, median of 2,000",
            "value": f"{write_with * 1000:.2f} ms",
            "baseline": "the same without them (a database migrated up to m009)",
            "baseline_value": f"{write_without * 1000:.2f} ms",
            "ratio": write_with / write_without,
        },
        {
            "figure": "upgrade: the roll-up migration (m010) building lead_days from the existing submissions, once",
            "value": f"{migration_s:.1f} s ({rollup_rows:,} roll-up rows)",
            "baseline": "one dashboard over the year",
            "baseline_value": f"{year_s * 1000:.0f} ms",
            "ratio": migration_s / year_s,
        },
    ]
    if upgraded:
        rows.append(
            {
                "figure": f"upgrade of this cached database by {', '.join(upgraded)} (roll-ups built from the existing rows), once",
                "value": f"{upgrade_s:.1f} s",
                "baseline": "one dashboard over the year",
                "baseline_value": f"{year_s * 1000:.0f} ms",
                "ratio": upgrade_s / year_s,
            }
        )
    downloads = store.query("SELECT count(*) AS n FROM downloads")[0]["n"]
    notes = (
        f"The database: {counted:,} submissions over 2026 (5% spam, 5% for a webinar), {downloads:,} downloads, a sent email per lead, "
        "a year of page views with their details. In-process Flask test client, logged in, after one untimed request (templates "
        "compiled); the request is the whole page: the per-offer table (roll-ups for whole UTC days: lead_days, and offer_days "
        "for downloads and people on their first time), the charts (three per offer and for all, 365 days each), 5 breakdowns "
        "(covering indexes), the funnel with response times (lead_responses), the template. The sqlite3 shell is a new process "
        f"each run (its start-up is part of its time). Load average (1 min) when the timing began: {load:.2f}, when it ended: "
        f"{load_after:.2f} (2 cores shared with other work). All runs: year "
        f"{', '.join(f'{r * 1000:.0f}' for r in year_runs)} ms (CPU {', '.join(f'{r * 1000:.0f}' for r in year_cpu)} ms); "
        f"30 days {', '.join(f'{r * 1000:.0f}' for r in month_runs)} ms (CPU {', '.join(f'{r * 1000:.0f}' for r in month_cpu)} ms); "
        f"sqlite3 {', '.join(f'{r * 1000:.0f}' for r in base_runs)} ms."
    )
    record("dashboard", f".venv/bin/python -m bench.dashboard --submissions {n} --repeat {args.repeat}", rows, notes)
    for row in rows:
        print(f"{row['figure']}: {row['value']} vs {row['baseline_value']} (ratio {row['ratio']:.3g})")


if __name__ == "__main__":
    main()
