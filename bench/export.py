"""Export speed and memory at 1,000,000 contacts, against ``sqlite3 -csv`` in the same run.

Builds (once, cached under ``bench/out/``) a database of N contacts, each with one submission,
bulk-inserted with sqlite3 directly (a benchmark fixture, not app code). Then runs, as child
processes whose time and peak memory GNU ``time`` reports:

* ``leadmagnet export -o FILE`` (generic preset, CSV): contacts joined with their submissions,
  formatted and formula-neutralised in Python;
* the baseline ``sqlite3 -csv -header DB 'SELECT * FROM contacts'``: a C dump of the one table;
* ``leadmagnet export --since …`` selecting only the newest 1% of rows, to show memory stays flat
  whatever the number of rows (peak RSS at 1% vs 100%).

It also times the admin leads list's keyset pagination: the first page, a page near the oldest
row, and (for contrast) the same deep page fetched with OFFSET. Figures go to bench/RESULTS.md.

Usage: .venv/bin/python bench/export.py [--contacts N]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench._results import record  # noqa: E402
from leadmagnet.store import Store  # noqa: E402
from leadmagnet.store.reports import Filters  # noqa: E402

OUT = HERE / "out" / "export"
START = datetime(2026, 1, 1, tzinfo=UTC)
COUNTRIES = ["Germany", "France", "United Kingdom", "United States", "Spain", "Italy", "Netherlands", "Canada"]
OFFERS = [("growth-playbook", "ebook", "tofu"), ("seo-checklist", "ebook", "tofu"), ("q1-product-demo", "webinar", "mofu")]


def build(db_path: Path, n: int) -> None:
    """A fresh database with the app's schema and ``n`` contacts, one submission each."""
    if db_path.exists():
        conn = sqlite3.connect(db_path)
        have = conn.execute("SELECT count(*) FROM contacts").fetchone()[0]
        conn.close()
        if have == n:
            return
        db_path.unlink()
    db_path.parent.mkdir(parents=True, exist_ok=True)
    store = Store(db_path)
    store.migrate()
    store.close()
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")

    def when(i: int) -> str:
        return (START + timedelta(seconds=i * 20)).isoformat(timespec="microseconds")

    conn.executemany(
        "INSERT INTO contacts (id, email, first_name, last_name, company, job_title, phone, country, custom, first_seen, last_seen)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, '{}', ?, ?)",
        (
            (
                i,
                f"person{i}@example.com",
                f"First{i}",
                f"Last{i}",
                f"Company {i % 5000}",
                "Marketing manager",
                f"+49 30 {i:07d}",
                COUNTRIES[i % 8],
                when(i),
                when(i),
            )
            for i in range(1, n + 1)
        ),
    )
    conn.executemany(
        "INSERT INTO submissions (id, contact_id, offer_slug, offer_type, data, consent_text, consent_at, utm_source, spam, created_at, tags, stage, status)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, 'ok')",
        (
            (
                i,
                i,
                OFFERS[i % 3][0],
                OFFERS[i % 3][1],
                json.dumps({"email": f"person{i}@example.com", "first_name": f"First{i}"}),
                "I agree" if i % 2 else None,
                when(i) if i % 2 else None,
                ["newsletter", "linkedin", None][i % 3],
                when(i),
                json.dumps([OFFERS[i % 3][1], "2026"]),
                OFFERS[i % 3][2],
            )
            for i in range(1, n + 1)
        ),
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def measure(cmd: list[str], stdout_path: Path | None = None) -> tuple[float, float, int]:
    """Run ``cmd``; return (wall seconds, CPU seconds (user + system), peak RSS in KiB).

    Measured by GNU ``/usr/bin/time`` rather than our own ``os.wait4``: Linux carries the
    forking parent's memory high-water mark into a child's ``ru_maxrss`` across exec, so a child
    forked by this (large) Python process would report our memory, not its own.
    """
    report = OUT / "time.txt"
    with open(stdout_path or os.devnull, "wb") as out:
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%e %U %S %M", "-o", str(report), *cmd], stdout=out, stderr=subprocess.PIPE, check=False
        )
    if done.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({done.returncode}): {done.stderr.decode()}")
    seconds, user, system, kib = report.read_text().split()[-4:]
    return float(seconds), float(user) + float(system), int(kib)


def lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for _ in fh)


def timed(fn, repeat: int = 5) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    args = parser.parse_args()
    n = args.contacts
    instance = OUT / f"instance-{n}"
    db = instance / "leadmagnet.db"
    t0 = time.perf_counter()
    build(db, n)
    print(f"database of {n} contacts ready in {time.perf_counter() - t0:.1f}s: {db}", file=sys.stderr)

    leadmagnet = [sys.executable, "-m", "leadmagnet.cli", "--instance", str(instance), "--content", str(ROOT / "content")]
    ours_csv, base_csv, small_csv = OUT / "ours.csv", OUT / "sqlite3.csv", OUT / "small.csv"
    base_s, base_cpu, base_kb = measure(["sqlite3", "-csv", "-header", str(db), "SELECT * FROM contacts"], base_csv)
    ours_s, ours_cpu, ours_kb = measure([*leadmagnet, "export", "-o", str(ours_csv)])
    since = (START + timedelta(seconds=int(n * 0.99) * 20)).isoformat()
    small_s, _small_cpu, small_kb = measure([*leadmagnet, "export", "--since", since, "-o", str(small_csv)])
    ours_rows, base_rows, small_rows = lines(ours_csv) - 1, lines(base_csv) - 1, lines(small_csv) - 1
    assert ours_rows == base_rows == n, (ours_rows, base_rows)
    print(
        f"leadmagnet export: {ours_s:.1f}s {ours_kb / 1024:.0f} MiB; sqlite3 -csv: {base_s:.1f}s {base_kb / 1024:.0f} MiB", file=sys.stderr
    )

    store = Store(db)
    first = timed(lambda: store.list_leads(Filters(), limit=51))
    deep = timed(lambda: store.list_leads(Filters(), before_id=1000, limit=51))
    raw = sqlite3.connect(db)
    offset = timed(
        lambda: raw.execute(
            "SELECT s.id FROM submissions s JOIN contacts c ON c.id = s.contact_id WHERE s.spam = 0 ORDER BY s.id DESC LIMIT 51 OFFSET ?",
            (n - 1000,),
        ).fetchall(),
        repeat=3,
    )
    search_first = timed(lambda: store.list_leads(Filters(search="company 42"), limit=51))

    rows = [
        {
            "figure": f"export {n:,} contacts, generic CSV to a file: time (lower is better)",
            "value": f"{ours_s:.1f} s ({n / ours_s:,.0f} rows/s)",
            "baseline": "sqlite3 -csv of the contacts table",
            "baseline_value": f"{base_s:.1f} s",
            "ratio": ours_s / base_s,
        },
        {
            "figure": "same export: CPU time, user + system (steadier than wall time on a shared machine)",
            "value": f"{ours_cpu:.1f} s",
            "baseline": "sqlite3 -csv of the contacts table",
            "baseline_value": f"{base_cpu:.1f} s",
            "ratio": ours_cpu / base_cpu,
        },
        {
            "figure": "export peak memory (RSS of the process)",
            "value": f"{ours_kb / 1024:.0f} MiB",
            "baseline": "sqlite3 -csv",
            "baseline_value": f"{base_kb / 1024:.0f} MiB",
            "ratio": ours_kb / base_kb,
        },
        {
            "figure": "export peak memory: all rows vs 1% of rows (flat memory: close to 1)",
            "value": f"{ours_kb / 1024:.0f} MiB for {n:,} rows",
            "baseline": f"same export of {small_rows:,} rows",
            "baseline_value": f"{small_kb / 1024:.0f} MiB ({small_s:.1f} s)",
            "ratio": ours_kb / small_kb,
            "target": "< 1.2",
        },
        {
            "figure": f"leads list, page near the oldest of {n:,} submissions (keyset): time",
            "value": f"{deep * 1000:.2f} ms",
            "baseline": "first page",
            "baseline_value": f"{first * 1000:.2f} ms",
            "ratio": deep / first,
            "target": "about 1 (OFFSET would grow with depth)",
        },
        {
            "figure": "same deep page fetched with OFFSET instead (why keyset)",
            "value": f"{offset * 1000:.1f} ms",
            "baseline": "keyset deep page",
            "baseline_value": f"{deep * 1000:.2f} ms",
            "ratio": offset / deep,
        },
        {
            "figure": "leads list first page with a search (company)",
            "value": f"{search_first * 1000:.1f} ms",
            "baseline": "first page, no search",
            "baseline_value": f"{first * 1000:.2f} ms",
            "ratio": search_first / first,
        },
    ]
    notes = (
        "The baseline dumps one table in C; `leadmagnet export` also joins every contact's submissions "
        "(offers, tags, stage, consent), formats ISO 8601 UTC times and neutralises formula cells in Python. "
        "Wall time, CPU time and peak memory (`ru_maxrss`) of each child process are from GNU `/usr/bin/time -f '%e %U %S %M'`; the machine is shared with other work, so the CPU-time ratio is the steadier one."
    )
    record("export", f".venv/bin/python bench/export.py --contacts {n}", rows, notes)
    for row in rows:
        print(f"{row['figure']}: {row['value']} vs {row['baseline_value']} (ratio {row['ratio']:.3g})")


if __name__ == "__main__":
    main()
