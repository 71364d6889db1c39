"""Real servers for tests, each on a free 127.0.0.1 port and always stopped by its caller:

- :func:`start_live_server`: a Flask app behind werkzeug's server in a background thread;
- :func:`gunicorn`: the one way to run gunicorn, with the production config;
- :func:`static_server`: a plain static file server (the built site).
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from tests.support.content import ROOT
from tests.support.ports import free_port
from tests.support.waiting import wait_until


@dataclass
class LiveServer:
    app: Flask
    url: str
    server: BaseWSGIServer

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_live_server(app: Flask) -> LiveServer:
    """Serve ``app`` over real HTTP on a free 127.0.0.1 port in a background thread; the caller stops it."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = url
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return LiveServer(app, url, server)


def wait_until_up(url: str, proc: subprocess.Popen | None = None, timeout: float = 30.0, log: Path | None = None) -> None:
    """Wait until ``url`` answers; fail at once if ``proc`` (the server) exits meanwhile (its ``log`` is quoted)."""

    def answers() -> bool:
        if proc is not None and proc.poll() is not None:
            output = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            raise RuntimeError(f"server exited with {proc.returncode} before {url} answered\n{output}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except OSError:
            return False

    wait_until(answers, timeout=timeout, interval=0.1, what=f"{url} answers")


def worker_pids(master_pid: int) -> list[int]:
    """The pids of a gunicorn master's worker processes."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master_pid)], capture_output=True, text=True, check=False).stdout
    return [int(p) for p in out.split()]


class Gunicorn:
    """A running gunicorn master serving ``leadmagnet.wsgi:app``."""

    def __init__(self, proc: subprocess.Popen, port: int, log: Path | None) -> None:
        self.proc = proc
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log

    def workers(self) -> list[int]:
        return worker_pids(self.proc.pid)

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


def leadmagnet_env(settings: Mapping[str, object]) -> dict[str, str]:
    """Settings (``CONTENT_DIR=...``) as the ``LEADMAGNET_*`` environment variables the app reads."""
    return {f"LEADMAGNET_{key}": str(value) for key, value in settings.items()}


@contextmanager
def gunicorn(
    env: Mapping[str, str],
    *,
    workers: int = 1,
    threads: int | None = None,
    cwd: Path = ROOT,
    log: Path | None = None,
) -> Iterator[Gunicorn]:
    """Run gunicorn with ``leadmagnet.gunicorn_conf`` (gthread) on a free port, ``env`` added to ours.

    ``threads`` overrides the config's; ``LEADMAGNET_BASE_URL`` defaults to the server's own URL.
    The server answers ``/_ping`` before this yields, and is stopped (SIGTERM) afterwards.
    """
    port = free_port()
    full_env = {**os.environ, "LEADMAGNET_BASE_URL": f"http://127.0.0.1:{port}", **env}
    cmd = [sys.executable, "-m", "gunicorn", "-c", "python:leadmagnet.gunicorn_conf", "--bind", f"127.0.0.1:{port}"]
    cmd += ["--workers", str(workers), "--graceful-timeout", "10"]
    if threads is not None:
        cmd += ["--threads", str(threads)]
    with open(log, "wb") if log else contextlib.nullcontext(subprocess.DEVNULL) as out:
        proc = subprocess.Popen(
            [*cmd, "leadmagnet.wsgi:app"], env=full_env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Gunicorn(proc, port, log)
    try:
        wait_until_up(server.url + "/_ping", proc, log=log)
        yield server
    finally:
        server.stop()


@contextmanager
def static_server(root: Path) -> Iterator[str]:
    """Serve the files under ``root`` (``/slug`` -> ``slug.html``, like nginx try_files); yield its URL."""

    class Handler(SimpleHTTPRequestHandler):
        def translate_path(self, path: str) -> str:
            local = super().translate_path(path)
            if not os.path.exists(local) and os.path.exists(local + ".html"):
                return local + ".html"
            return local

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
