"""Real servers for tests: gunicorn with the production config, and a plain static file server.

Both listen on a free 127.0.0.1 port and are always stopped by the caller's ``finally``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen | None = None, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


ROOT = Path(__file__).resolve().parent.parent


def worker_pids(master_pid: int) -> list[int]:
    """The pids of a gunicorn master's worker processes."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master_pid)], capture_output=True, text=True, check=False).stdout
    return [int(p) for p in out.split()]


class Gunicorn:
    """A gunicorn process serving ``leadmagnet.wsgi:app`` with ``leadmagnet.gunicorn_conf``."""

    def __init__(self, proc: subprocess.Popen, port: int, log: Path | None) -> None:
        self.proc = proc
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log

    def stop(self) -> int:
        """SIGTERM (a normal, graceful stop) and wait; kill the whole group if it hangs. Returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        return self.proc.returncode


@contextmanager
def gunicorn_process(
    env: dict[str, str], cwd: Path, log: Path | None = None, workers: int = 1, extra_args: tuple[str, ...] = (), port: int | None = None
) -> Iterator[Gunicorn]:
    """Run gunicorn (production config, ``env`` added to ours) on ``port`` or a free one; always stop it."""
    port = port or free_port()
    cmd = [sys.executable, "-m", "gunicorn", "-c", "python:leadmagnet.gunicorn_conf", "--bind", f"127.0.0.1:{port}"]
    cmd += ["--workers", str(workers), *extra_args, "leadmagnet.wsgi:app"]
    with open(log, "wb") if log else contextlib.nullcontext(subprocess.DEVNULL) as out:
        proc = subprocess.Popen(cmd, env={**os.environ, **env}, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Gunicorn(proc, port, log)
    try:
        wait_until_up(server.url + "/_ping", proc)
        yield server
    finally:
        server.stop()


@contextmanager
def gunicorn(tmp_path: Path, settings: dict[str, str], workers: int = 1) -> Iterator[Gunicorn]:
    """Run gunicorn with ``LEADMAGNET_*`` ``settings`` in ``tmp_path`` (its log there too)."""
    port = free_port()
    env = {f"LEADMAGNET_{k}": str(v) for k, v in settings.items()}
    env.setdefault("LEADMAGNET_BASE_URL", f"http://127.0.0.1:{port}")
    with gunicorn_process(env, cwd=tmp_path, log=tmp_path / f"gunicorn-{port}.log", workers=workers, port=port) as server:
        yield server


@contextmanager
def static_server(root: Path) -> Iterator[str]:
    """Serve the files under ``root`` (``/slug`` -> ``slug.html``, like nginx try_files)."""

    class Handler(SimpleHTTPRequestHandler):
        def translate_path(self, path: str) -> str:
            local = super().translate_path(path)
            if not os.path.exists(local) and os.path.exists(local + ".html"):
                return local + ".html"
            return local

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
