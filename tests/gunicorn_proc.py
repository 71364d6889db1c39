"""Start leadmagnet under a real gunicorn on a free 127.0.0.1 port, and always stop it.

Used by the fault test and the page-view exit test (and the same way by ``bench/submit.py``).
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(port: int, deadline_s: float = 30.0) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/_ping")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer on port {port} within {deadline_s} s")


def worker_pids(master_pid: int) -> list[int]:
    """The pids of the master's worker processes (from /proc)."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master_pid)], capture_output=True, text=True, check=False).stdout
    return [int(p) for p in out.split()]


@contextmanager
def gunicorn(env: dict[str, str], workers: int = 2, threads: int = 1, log: Path | None = None) -> Iterator[tuple[int, subprocess.Popen]]:
    """Yield ``(port, master process)``; the master and its workers are stopped afterwards."""
    port = free_port()
    cmd = [
        sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
        "--worker-class", "gthread", "--threads", str(threads), "--graceful-timeout", "10",
        "-c", "python:leadmagnet.gunicorn_conf", "leadmagnet.wsgi:app",
    ]  # fmt: skip
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_up(port)
        yield port, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        if log:
            out.close()
