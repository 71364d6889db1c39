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
import tempfile
from pathlib import Path

from bench._results import record
from tests.support.content import ROOT
from tests.support.load import run_load, stored_emails
from tests.support.servers import gunicorn


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
        with gunicorn(env, workers=args.workers, threads=4, log=Path(tmp) / "gunicorn.log") as server:
            port = server.port
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
