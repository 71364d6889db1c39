"""Load test of lead capture: gunicorn with 4 workers, 50 concurrent submitters for 30 s.

Run from the checkout: ``.venv/bin/python -m bench.submit`` (``--seconds``, ``--clients``,
``--workers`` to change the shape). Everything stays on 127.0.0.1 and is bounded in time.

It first measures the same server's requests per second on ``/_ping`` (a constant response,
the baseline) with the same number of clients, then posts real forms to ``/seo-checklist``
(a unique email each, rate limit off) and reports submissions per second, p50/p99 latency, the
5xx count, and whether the rows in the database equal the acknowledged (303) responses. Figures
go to ``bench/RESULTS.md`` through :func:`bench._results.record`.

The load generator is plain threads with ``http.client`` keep-alive connections: simple, bounded,
and good enough to saturate a 2-core machine; on such a machine it competes with the server for
CPU, which is one more reason to read the ratio rather than the absolute figures.
"""

from __future__ import annotations

import argparse
import http.client
import sqlite3
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from bench._results import record
from tests.gunicorn_proc import ROOT, gunicorn

FORM_PATH = "/seo-checklist"


@dataclass
class Load:
    """What the clients saw: latencies of acknowledged requests, status counts, acked emails."""

    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    acked: set[str] = field(default_factory=set)
    errors: int = 0
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        data = sorted(self.latencies)
        return data[min(len(data) - 1, int(p / 100 * len(data)))]


def run_load(port: int, seconds: float, clients: int, path: str = FORM_PATH, post: bool = True, tag: str = "b") -> Load:
    """``clients`` threads send requests to ``path`` for ``seconds``; posts use a unique email each."""
    load = Load()
    deadline = time.monotonic() + seconds
    ok_status = 303 if post else 200

    def client(n: int) -> None:
        conn: http.client.HTTPConnection | None = None
        i = 0
        while time.monotonic() < deadline:
            i += 1
            email = f"{tag}{n}-{i}@example.com"
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                start = time.perf_counter()
                if post:
                    body = urllib.parse.urlencode({"email": email, "first_name": f"Load {n}", "country": "Test"})
                    conn.request("POST", path, body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
                else:
                    conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                elapsed = time.perf_counter() - start
            except (OSError, http.client.HTTPException):
                # A killed worker drops its connections: not acknowledged, so it may be lost.
                with load.lock:
                    load.errors += 1
                if conn is not None:
                    conn.close()
                conn = None
                continue
            with load.lock:
                load.statuses[response.status] = load.statuses.get(response.status, 0) + 1
                if response.status == ok_status:
                    load.latencies.append(elapsed)
                    if post:
                        load.acked.add(email)
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 60)
    load.seconds = time.monotonic() - started
    return load


def stored_emails(db: Path) -> list[str]:
    """Every submission's email in the database (a fresh read-only look after the load)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [row[0] for row in conn.execute("SELECT c.email FROM submissions s JOIN contacts c ON c.id = s.contact_id")]
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the submission run")
    parser.add_argument("--baseline-seconds", type=float, default=10.0, help="length of the /_ping run")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--no-record", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lm-bench-") as tmp:
        instance = Path(tmp) / "instance"
        env = {
            "LEADMAGNET_CONTENT_DIR": str(ROOT / "content"),
            "LEADMAGNET_INSTANCE_DIR": str(instance),
            "LEADMAGNET_RATE_LIMIT": "off",
            "LEADMAGNET_DUPLICATE_WINDOW": "0",
        }
        with gunicorn(env, workers=args.workers, threads=4, log=Path(tmp) / "gunicorn.log") as (port, _proc):
            run_load(port, 2, min(args.clients, 8), post=False, path="/_ping")  # warm every worker
            ping = run_load(port, args.baseline_seconds, args.clients, path="/_ping", post=False)
            subs = run_load(port, args.seconds, args.clients)
        emails = stored_emails(instance / "leadmagnet.db")
        log_text = (Path(tmp) / "gunicorn.log").read_text(errors="replace")

    ping_rps = ping.ok / ping.seconds
    sub_rps = subs.ok / subs.seconds
    rows_match = len(emails) == len(subs.acked) and set(emails) == subs.acked
    locked = log_text.count("database is locked")
    print(f"/_ping: {ping_rps:.0f} req/s ({ping.ok} in {ping.seconds:.1f} s)")
    print(
        f"submit: {sub_rps:.0f} submissions/s ({subs.ok} in {subs.seconds:.1f} s), p50 {subs.percentile(50) * 1000:.0f} ms, p99 {subs.percentile(99) * 1000:.0f} ms"
    )
    print(f"statuses {subs.statuses}, connection errors {subs.errors}, 5xx {subs.server_errors}, 'database is locked' in log: {locked}")
    print(f"rows in database {len(emails)} == acknowledged 303s {len(subs.acked)}: {rows_match}")
    if args.no_record:
        return
    command = f".venv/bin/python -m bench.submit --seconds {args.seconds:g} --clients {args.clients} --workers {args.workers}"
    shape = f"gunicorn {args.workers} workers x 4 threads, {args.clients} clients"
    record(
        "submit",
        command,
        [
            {
                "figure": f"form submissions per second ({shape}; higher is better)",
                "value": f"{sub_rps:.0f}/s",
                "baseline": "GET /_ping (constant response), same server and clients",
                "baseline_value": f"{ping_rps:.0f}/s",
                "ratio": sub_rps / ping_rps if ping_rps else "",
            },
            {
                "figure": "submission latency p50 / p99",
                "value": f"{subs.percentile(50) * 1000:.0f} ms / {subs.percentile(99) * 1000:.0f} ms",
                "baseline": "/_ping p50 / p99",
                "baseline_value": f"{ping.percentile(50) * 1000:.0f} ms / {ping.percentile(99) * 1000:.0f} ms",
                "ratio": subs.percentile(50) / ping.percentile(50) if ping.latencies else "",
            },
            {
                "figure": "5xx responses / connection errors / 'database is locked' log lines",
                "value": f"{subs.server_errors} / {subs.errors} / {locked}",
                "target": "0 / 0 / 0",
            },
            {
                "figure": "rows in the database == acknowledged (303) submissions",
                "value": f"{len(emails)} == {len(subs.acked)}: {'yes' if rows_match else 'NO'}",
                "target": "yes",
            },
        ],
        notes="Clients are Python threads on the same 2-core machine as the server, so absolute figures are low; "
        "the ratio to /_ping is the figure to compare between runs. Each submission is one BEGIN IMMEDIATE "
        "transaction (contact upsert, submission row, delivery's outbox row) committed before the 303.",
    )


if __name__ == "__main__":
    main()
