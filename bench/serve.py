"""Serving speed: a landing page through gunicorn vs a bare Flask app serving the same bytes.

Four targets, measured in alternating rounds in the same run with the same load generator
(``wrk``, 50 connections, 2 threads, ``Accept-Encoding: br, gzip`` like a browser):

(a) a landing page through gunicorn with the production settings (``leadmagnet.gunicorn_conf``);
(d) the baseline: :mod:`bench.bare_app`, a Flask app with no leadmagnet code, under the same
    gunicorn settings, answering the exact bytes and headers that (a) answered (saved from a real
    response before the run): what Flask and gunicorn cost to send this page, nothing more;
(b) leadmagnet's own ``/_ping`` route (context only: it carries leadmagnet's per-request hooks, so
    it is not a baseline that (a) is judged against);
(c) the same page from ``leadmagnet build``, served by nginx (``gzip_static``) on 2 workers;
(e) the floor: the same bytes and headers from a plain WSGI callable in the bare app's process
    (no Flask request, no routing), same gunicorn: what gunicorn alone costs. Landing pages skip
    Flask too (leadmagnet/web/fastpath.py), so (a) is also compared with (e).

Target (issue 20): (a) >= 0.9 x (d) in requests per second. The machine is shared, so the targets
run in alternating rounds, each round's (a)/(d) ratio is kept to show the spread, and the
servers' CPU time per request (gunicorn master and workers, user + system, read from ``/proc``) is
recorded too: it moves much less than requests per second when other work takes the cores.
Everything listens on 127.0.0.1 and is stopped afterwards.
Usage: ``.venv/bin/python -m bench.serve [--seconds 24] [--connections 50]``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from bench._load import ROOT, bare_server, combine, free_port, stop, wait_for, wrk
from bench._results import record

VENV_BIN = Path(sys.executable).parent
SLUG = "growth-playbook"
ROUNDS = 8
# Headers a server sets per response: the bare app's gunicorn adds its own.
PER_RESPONSE = {"date", "server", "content-length", "connection", "keep-alive", "transfer-encoding"}


def save_response(url: str, path: Path) -> int:
    """Save the body and headers of ``url`` (as a browser asks for it) for the bare app; its size."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": "br, gzip"})
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
        headers = [(k, v) for k, v in response.getheaders() if k.lower() not in PER_RESPONSE]
    path.write_text(json.dumps({"body": base64.b64encode(body).decode(), "headers": headers}))
    return len(body) + sum(len(k) + len(v) + 4 for k, v in headers)


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
    parser.add_argument("--seconds", type=int, default=24, help="seconds of load per target, over all rounds")
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
            size = save_response(page_url, tmp / "page.json")
            with bare_server({"BARE_PAGE": str(tmp / "page.json")}) as (bare, bport):
                bare_url = f"http://127.0.0.1:{bport}/page"
                raw_url = f"http://127.0.0.1:{bport}/raw-page"
                for url in (page_url, bare_url):
                    wrk(url, 2, args.connections)  # warm every worker (leadmagnet's page cache)
                # The machine is shared: alternate short rounds so that a burst of other load hits
                # every target alike, then combine the rounds.
                slice_s = max(1, args.seconds // ROUNDS)
                targets = (
                    ("page", page_url, gunicorn.pid),
                    ("bare", bare_url, bare.pid),
                    ("raw", raw_url, bare.pid),
                    ("ping", ping_url, gunicorn.pid),
                    ("static", static_url, None),
                )
                runs: dict[str, list[dict]] = {name: [] for name, _url, _pid in targets}
                for _ in range(ROUNDS):
                    for name, url, pid in targets:
                        runs[name].append(wrk(url, slice_s, args.connections, pid))
            page, bare_page, raw, ping, static = (combine(runs[name]) for name in ("page", "bare", "raw", "ping", "static"))
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

    bare_name = "(d) bare Flask app (no leadmagnet code), same gunicorn settings, same bytes and headers"
    rows = [
        row(f"(a) landing page /{SLUG} via gunicorn, req/s ratio (higher is better)", page, bare_name, bare_page, ">= 0.9"),
        {
            "figure": "(a) server CPU time per landing-page request, gunicorn master and workers (lower is better)",
            "value": f"{page['cpu_us']:.0f} µs",
            "baseline": "(d) per bare-app request, its gunicorn master and workers",
            "baseline_value": f"{bare_page['cpu_us']:.0f} µs",
            "ratio": round(page["cpu_us"] / bare_page["cpu_us"], 3),
            "target": "",
        },
        row(
            f"(a) landing page /{SLUG} against the floor, req/s ratio (context)",
            page,
            "(e) the same bytes from a plain WSGI callable (no Flask), same gunicorn settings: gunicorn alone",
            raw,
        ),
        row("(b) leadmagnet's own /_ping (context: it carries leadmagnet's hooks), req/s ratio", ping, bare_name, bare_page),
        row(f"(c) exported /{SLUG} from nginx, req/s ratio", static, bare_name, bare_page),
    ]
    per_round = sorted(p["rps"] / b["rps"] for p, b in zip(runs["page"], runs["bare"], strict=True))
    for r in rows:
        print(f"{r['figure']}: {r['value']} vs {r['baseline_value']} -> {r['ratio']}")
    command = f".venv/bin/python -m bench.serve --seconds {args.seconds} --connections {args.connections}"
    notes = (
        f"wrk -t2 -c{args.connections} --latency -H 'Accept-Encoding: br, gzip'; gunicorn with leadmagnet.gunicorn_conf "
        f"defaults (gthread, 2 workers per core, 4 threads) for both (a) and (d); the page is {size} bytes of body and headers "
        "(brotli), the same for (a) and (d). nginx-light 2 workers with gzip_static. wrk shares the 2 cores with the servers. "
        f"Each target ran {ROUNDS} alternating rounds of {slice_s} s (the machine is shared); rps is the mean of the rounds, "
        "p50 the median of the rounds' p50, p99 the worst round's. "
        f"(a)/(d) per round: {', '.join(f'{r:.2f}' for r in per_round)} (median {statistics.median(per_round):.2f})."
    ) + (f" {args.note}" if args.note else "")
    record("serve", command, rows, notes)


if __name__ == "__main__":
    main()
