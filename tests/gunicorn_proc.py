"""gunicorn as the fault, view and throttle tests (and ``bench/submit.py``) start it: gthread
workers with a given number of threads, from the checkout, yielding ``(port, master process)``.
The mechanism is :func:`tests.servers.gunicorn_process`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from subprocess import Popen

from tests.servers import ROOT, gunicorn_process, worker_pids

__all__ = ["ROOT", "gunicorn", "worker_pids"]


@contextmanager
def gunicorn(env: dict[str, str], workers: int = 2, threads: int = 1, log: Path | None = None) -> Iterator[tuple[int, Popen]]:
    """Yield ``(port, master process)``; the master and its workers are stopped afterwards."""
    args = ("--worker-class", "gthread", "--threads", str(threads), "--graceful-timeout", "10")
    with gunicorn_process(env, cwd=ROOT, log=log, workers=workers, extra_args=args) as server:
        yield server.port, server.proc
