"""Lead capture under load: leadmagnet's form post vs a bare Flask route doing one INSERT + COMMIT.

Two servers under the same gunicorn settings (``leadmagnet.gunicorn_conf``: gthread, 2 workers
per core, 4 threads), side by side in the same run:

- leadmagnet with the sample content, posting real forms to ``/seo-checklist`` (validation,
  spam checks, the contact upsert, the submission and its email in the outbox, one transaction,
  the signed thank-you redirect), rate limit and duplicate window off so every post is stored;
- the baseline, :mod:`bench.bare_app` ``/submit``: Flask parses the form, one parameterised
  INSERT + COMMIT in ``BEGIN IMMEDIATE`` with the same WAL and ``synchronous=NORMAL`` settings, 303.

1. Maximum rate: ``wrk`` with ``bench/post.lua`` (a unique email per request), closed loop,
   alternating rounds on the two servers. Target (issue 20): leadmagnet >= 0.6 x the bare route.
2. Latency at a fixed offered rate: :mod:`bench.openloop` sends half of leadmagnet's measured
   maximum to each server, open loop (latency counted from when each request was due, so
   queueing counts). Target: leadmagnet's p99 < 50 ms, and 0 leads lost: every email answered
   303 is in leadmagnet's database.

Run from the checkout: ``.venv/bin/python -m bench.submit [--seconds 24] [--open-seconds 15]``.
Everything stays on 127.0.0.1 and is bounded in time.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import tempfile
from pathlib import Path

from bench._load import POST_SCRIPT, bare_server, combine, wrk
from bench._results import record
from bench.openloop import OpenLoop, open_loop
from tests.support.content import ROOT
from tests.support.load import FORM_PATH, stored_emails
from tests.support.servers import gunicorn

ROUNDS = 6


def latency(m: OpenLoop) -> str:
    return f"p50 {m.percentile(50) * 1000:.1f} ms, p99 {m.percentile(99) * 1000:.1f} ms ({m.sent} sent, {m.errors} errors, {m.late} late)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=24, help="seconds of wrk load per server, over all rounds")
    parser.add_argument("--open-seconds", type=float, default=15.0, help="seconds of open-loop load per server")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--no-record", action="store_true", help="print only; leave bench/RESULTS.md alone")
    parser.add_argument("--name", default="submit", help="the section of bench/RESULTS.md (e.g. submit-before for a run of older code)")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="lm-bench-submit-") as tmp_name:
        tmp = Path(tmp_name)
        instance = tmp / "instance"
        env = {
            "LEADMAGNET_CONTENT_DIR": str(ROOT / "content"),
            "LEADMAGNET_INSTANCE_DIR": str(instance),
            "LEADMAGNET_RATE_LIMIT": "off",
            "LEADMAGNET_DUPLICATE_WINDOW": "0",
        }
        bare_db = tmp / "bare.db"
        # threads=None: the production config's threads, as the bare app gets them.
        with (
            gunicorn(env, workers=_production_workers(), log=tmp / "gunicorn.log") as server,
            bare_server({"BARE_DB": str(bare_db)}) as (bare, bport),
        ):
            lm_url = f"http://127.0.0.1:{server.port}{FORM_PATH}"
            bare_url = f"http://127.0.0.1:{bport}/submit"
            for name, url in (("warm-lm", lm_url), ("warm-bare", bare_url)):
                wrk(url, 2, 8, script=[POST_SCRIPT, name])
            slice_s = max(1, args.seconds // ROUNDS)
            runs: dict[str, list[dict]] = {"lm": [], "bare": []}
            for i in range(ROUNDS):
                runs["lm"].append(wrk(lm_url, slice_s, args.connections, server.proc.pid, script=[POST_SCRIPT, f"lm{i}"]))
                runs["bare"].append(wrk(bare_url, slice_s, args.connections, bare.pid, script=[POST_SCRIPT, f"bare{i}"]))
            lm, base = combine(runs["lm"]), combine(runs["bare"])
            rate = round(lm["rps"] / 2)
            open_lm = open_loop(server.port, FORM_PATH, rate, args.open_seconds, tag="open-lm")
            open_bare = open_loop(bport, "/submit", rate, args.open_seconds, tag="open-bare")
        emails = set(stored_emails(instance / "leadmagnet.db"))
        with sqlite3.connect(bare_db) as conn:
            bare_rows = conn.execute("SELECT count(*) FROM leads WHERE email LIKE 'bare%'").fetchone()[0]
        log_text = (tmp / "gunicorn.log").read_text(errors="replace")
    load_after = os.getloadavg()[0]

    lost = open_lm.acked - emails
    wrk_answered = {name: sum(r["requests"] - r["non2xx"] for r in runs[name]) for name in runs}
    wrk_rows = sum(1 for email in emails if email.startswith("lm"))  # the rounds' posts, not the warm-up's
    locked = log_text.count("database is locked")
    per_round = sorted(a["rps"] / b["rps"] for a, b in zip(runs["lm"], runs["bare"], strict=True))
    rows = [
        {
            "figure": "form submissions per second, wrk closed loop (higher is better)",
            "value": f"{lm['rps']:.0f}/s, p50 {lm['p50']:.1f} ms, p99 {lm['p99']:.1f} ms, {lm['non2xx']} non-3xx",
            "baseline": "bare Flask route: one INSERT + COMMIT, same SQLite settings, same gunicorn settings",
            "baseline_value": f"{base['rps']:.0f}/s, p50 {base['p50']:.1f} ms, p99 {base['p99']:.1f} ms",
            "ratio": round(lm["rps"] / base["rps"], 3),
            "target": ">= 0.6",
        },
        {
            "figure": "server CPU time per submission, gunicorn master and workers (lower is better)",
            "value": f"{lm['cpu_us']:.0f} µs",
            "baseline": "per bare insert",
            "baseline_value": f"{base['cpu_us']:.0f} µs",
            "ratio": round(lm["cpu_us"] / base["cpu_us"], 3),
        },
        {
            "figure": f"latency at a fixed offered rate of {rate}/s (half the measured maximum), open loop",
            "value": latency(open_lm),
            "baseline": "bare route at the same rate",
            "baseline_value": latency(open_bare),
            "ratio": round(open_lm.percentile(99) / open_bare.percentile(99), 3),
            "target": "p99 < 50 ms",
        },
        {
            "figure": "leads lost: answered 303 in the open-loop run but not in the database",
            "value": f"{len(lost)} of {len(open_lm.acked)}",
            "target": "0",
        },
        {
            "figure": "rows in the database vs answers wrk counted (a request in flight when wrk stops may be stored unanswered)",
            "value": f"{wrk_rows} rows >= {wrk_answered['lm']} answered",
            "baseline": "bare route, rows vs answers",
            "baseline_value": f"{bare_rows} rows >= {wrk_answered['bare']} answered",
        },
        {"figure": "'database is locked' lines in leadmagnet's log", "value": str(locked), "target": "0"},
    ]
    for r in rows:
        print(f"{r['figure']}: {r['value']}" + (f" vs {r['baseline_value']} -> {r.get('ratio', '')}" if r.get("baseline_value") else ""))
    if args.no_record:
        return
    command = (
        f".venv/bin/python -m bench.submit --seconds {args.seconds} --open-seconds {args.open_seconds:g} --connections {args.connections}"
    )
    notes = (
        f"wrk -t2 -c{args.connections} -s bench/post.lua, {ROUNDS} alternating rounds of {slice_s} s per server; the open-loop client "
        "(bench/openloop.py, asyncio, up to 64 keep-alive connections) shares the 2 cores with the servers, as wrk does. "
        f"leadmagnet/bare per round: {', '.join(f'{r:.2f}' for r in per_round)} (median {statistics.median(per_round):.2f}). "
        "A leadmagnet submission is one BEGIN IMMEDIATE transaction (contact upsert, submission row, the delivery email's outbox "
        "row) committed before the 303. "
        f"Machine load (1-minute load average, other agents' work included) {load_before:.1f} before the run, {load_after:.1f} after."
    )
    record(args.name, command, rows, notes)


def _production_workers() -> int:
    from leadmagnet import gunicorn_conf

    return gunicorn_conf.workers


if __name__ == "__main__":
    main()
