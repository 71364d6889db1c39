"""What bench/serve and bench/submit share: wrk runs, server CPU time, and the bare baseline server.

The baseline (:mod:`bench.bare_app`) runs under the same gunicorn settings as leadmagnet's
production config (:mod:`leadmagnet.gunicorn_conf`: worker class, workers, threads, keep-alive),
read from that module so that the two cannot drift apart.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POST_SCRIPT = str(Path(__file__).resolve().parent / "post.lua")


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


def wrk(url: str, seconds: int, connections: int, pid: int | None = None, script: list[str] | None = None) -> dict:
    """Run wrk once; return requests/s, p50 and p99 latency in ms, the error count, the number of
    requests and (with ``pid``) the server's CPU seconds used meanwhile.

    ``script``: ``[lua_file, *arguments]`` (e.g. :data:`POST_SCRIPT` and a prefix for its emails).
    """
    before = server_cpu(pid) if pid else 0.0
    lua = ["-s", script[0], url, "--", *script[1:]] if script else [url]
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", "Accept-Encoding: br, gzip", *lua],
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


def gunicorn_settings(workers: int | None = None) -> list[str]:
    """leadmagnet's production gunicorn settings as command-line flags (for the bare app)."""
    from leadmagnet import gunicorn_conf as conf

    return [
        "--worker-class", conf.worker_class,
        "--workers", str(workers or conf.workers),
        "--threads", str(conf.threads),
        "--keep-alive", str(conf.keepalive),
    ]  # fmt: skip


@contextlib.contextmanager
def bare_server(env: dict[str, str], workers: int | None = None) -> Iterator[tuple[subprocess.Popen, int]]:
    """Run :mod:`bench.bare_app` under gunicorn on a free port; yield (process, port)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", *gunicorn_settings(workers), "--bind", f"127.0.0.1:{port}", "bench.bare_app:app"],
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/_ping")
        yield proc, port
    finally:
        stop(proc)
