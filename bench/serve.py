"""Serving speed: a landing page through gunicorn vs the same server's constant route vs nginx.

Three targets, measured one after the other in the same run with the same load generator
(``wrk``, 50 connections, 2 threads, ``Accept-Encoding: br, gzip`` like a browser):

(a) a landing page through gunicorn with the production settings (``leadmagnet.gunicorn_conf``);
(b) the same server's bare ``/_ping`` route: the floor of what Flask + gunicorn cost per request;
(c) the same page from ``leadmagnet build``, served by nginx (``gzip_static``) on 2 workers.

Target: (a) >= 0.9 x (b) in requests per second. The machine is shared, so the targets run in
alternating rounds, each round's (a)/(b) ratio is kept to show the spread, and the server's CPU
time per request (gunicorn master and workers, user + system, read from ``/proc``) is recorded
too: it moves much less than requests per second when other work takes the cores. Everything
listens on 127.0.0.1 and is stopped afterwards.
Usage: ``.venv/bin/python -m bench.serve [--seconds 20] [--connections 50]``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench._results import record

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
SLUG = "growth-playbook"
ROUNDS = 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer 200: {exc}") from None
            time.sleep(0.2)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid``, its live children and its reaped ones.

    The reaped children count because gunicorn recycles workers (``max_requests``) mid-run.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # a process that ended while we looked
        ppid, utime, stime, cutime, cstime = int(fields[1]), *(int(f) for f in fields[11:15])
        if int(stat.parent.name) == pid:
            total += utime + stime + cutime + cstime
        elif ppid == pid:
            total += utime + stime
    return total / ticks


def wrk(url: str, seconds: int, connections: int, pid: int | None = None) -> dict:
    """Run wrk once; return requests/s, p50 and p99 latency in ms, the error count, the number of
    requests and (with ``pid``) the server's CPU seconds used meanwhile."""
    before = server_cpu(pid) if pid else 0.0
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", "Accept-Encoding: br, gzip", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = parse_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = parse_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    cpu = server_cpu(pid) - before if pid else 0.0
    return {"rps": rps, "p50": p50, "p99": p99, "non2xx": int(errors.group(1)) if errors else 0, "requests": requests, "cpu": cpu}


def combine(runs: list[dict]) -> dict:
    """Rounds of equal length: mean rps, median of the per-round p50 and the worst p99."""
    return {
        "rps": statistics.fmean(r["rps"] for r in runs),
        "p50": statistics.median(r["p50"] for r in runs),
        "p99": max(r["p99"] for r in runs),
        "non2xx": sum(r["non2xx"] for r in runs),
        "cpu_us": sum(r["cpu"] for r in runs) / max(1, sum(r["requests"] for r in runs)) * 1e6,
    }


def parse_ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


NGINX_CONF = """
worker_processes 2;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 5;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        gzip_static on;
        location / {{ try_files $uri $uri.html =404; }}
        location /static/ {{ add_header Cache-Control "public, max-age=31536000, immutable"; }}
    }}
}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--note", default="", help="appended to the notes in RESULTS.md (say how other runs of the same code went)")
    args = parser.parse_args()
    if not shutil.which("wrk") or not shutil.which("nginx"):
        sys.exit("bench/serve.py needs wrk and nginx: apt-get install wrk nginx-light")

    with tempfile.TemporaryDirectory(prefix="lm-bench-serve-") as tmp_name:
        tmp = Path(tmp_name)
        tmp.chmod(0o755)  # nginx workers started by root run as nobody and must read the export
        shutil.copytree(ROOT / "content", tmp / "content")
        gport, nport = free_port(), free_port()
        env = {
            **os.environ,
            "LEADMAGNET_CONTENT_DIR": str(tmp / "content"),
            "LEADMAGNET_INSTANCE_DIR": str(tmp / "instance"),
            "LEADMAGNET_BASE_URL": f"http://127.0.0.1:{gport}",
        }
        # (c) the static export, built with the real command
        subprocess.run([str(VENV_BIN / "leadmagnet"), "build", str(tmp / "out")], env=env, check=True, capture_output=True)

        gunicorn = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "-c", "python:leadmagnet.gunicorn_conf", "--bind", f"127.0.0.1:{gport}", "leadmagnet.wsgi:app"],
            env=env,
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        (tmp / "nginx.conf").write_text(NGINX_CONF.format(tmp=tmp, port=nport, root=tmp / "out"))
        nginx = subprocess.Popen(
            ["nginx", "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            page_url = f"http://127.0.0.1:{gport}/{SLUG}"
            ping_url = f"http://127.0.0.1:{gport}/_ping"
            static_url = f"http://127.0.0.1:{nport}/{SLUG}"
            for url in (ping_url, page_url, static_url):
                wait_for(url)
            wrk(page_url, 2, args.connections)  # warm every worker's page cache
            # The machine is shared: alternate short rounds so that a burst of other load hits
            # every target alike, then combine the rounds (rps summed over time, latency medians).
            slice_s = max(1, args.seconds // ROUNDS)
            runs: dict[str, list[dict]] = {"page": [], "ping": [], "static": []}
            for _ in range(ROUNDS):
                for name, url in (("page", page_url), ("ping", ping_url), ("static", static_url)):
                    runs[name].append(wrk(url, slice_s, args.connections, gunicorn.pid if name != "static" else None))
            page, ping, static = (combine(runs[name]) for name in ("page", "ping", "static"))
        finally:
            stop(gunicorn)
            stop(nginx)

    def row(figure: str, m: dict, baseline: str, base: dict, target: str = "") -> dict:
        return {
            "figure": figure,
            "value": f"{m['rps']:.0f} req/s, p50 {m['p50']:.2f} ms, p99 {m['p99']:.2f} ms"
            + (f", {m['non2xx']} non-2xx" if m["non2xx"] else ""),
            "baseline": baseline,
            "baseline_value": f"{base['rps']:.0f} req/s, p50 {base['p50']:.2f} ms, p99 {base['p99']:.2f} ms",
            "ratio": round(m["rps"] / base["rps"], 3),
            "target": target,
        }

    rows = [
        row(
            f"(a) landing page /{SLUG} via gunicorn, req/s ratio (higher is better)",
            page,
            "(b) /_ping on the same gunicorn",
            ping,
            ">= 0.9",
        ),
        row(f"(c) exported /{SLUG} from nginx, req/s ratio", static, "(b) /_ping on gunicorn", ping),
        row("(a) landing page via gunicorn vs (c) nginx static, req/s ratio", page, "(c) nginx static export", static),
        {
            "figure": "(a) server CPU time per landing-page request, gunicorn master and workers (lower is better)",
            "value": f"{page['cpu_us']:.0f} µs",
            "baseline": "(b) per /_ping request, same server",
            "baseline_value": f"{ping['cpu_us']:.0f} µs",
            "ratio": round(page["cpu_us"] / ping["cpu_us"], 3),
            "target": "",
        },
    ]
    per_round = sorted(p["rps"] / b["rps"] for p, b in zip(runs["page"], runs["ping"], strict=True))
    for r in rows:
        print(f"{r['figure']}: {r['value']} vs {r['baseline_value']} -> {r['ratio']}")
    command = f".venv/bin/python -m bench.serve --seconds {args.seconds} --connections {args.connections}"
    notes = (
        f"wrk -t2 -c{args.connections} -d{args.seconds}s --latency -H 'Accept-Encoding: br, gzip'; gunicorn with leadmagnet.gunicorn_conf "
        f"defaults (gthread, 2 workers per core, 4 threads); nginx-light 2 workers with gzip_static. wrk shares the 2 cores with the server. "
        f"Each target ran {ROUNDS} alternating rounds of {slice_s} s (the machine is shared); rps is the mean of the rounds, "
        "p50 the median of the rounds' p50, p99 the worst round's. "
        f"(a)/(b) per round (page round vs the ping round right after it): {', '.join(f'{r:.2f}' for r in per_round)} "
        f"(median {statistics.median(per_round):.2f})."
    ) + (f" {args.note}" if args.note else "")
    record("serve", command, rows, notes)


if __name__ == "__main__":
    main()
