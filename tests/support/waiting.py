"""Waiting for a condition with a deadline, instead of sleeping a guessed time."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], *, timeout: float = 10.0, interval: float = 0.02, what: str | None = None) -> T:
    """Call ``predicate`` until it returns something truthy and return that; fail after ``timeout`` seconds.

    The AssertionError names what was awaited (``what``, else the predicate's name) and the last
    value seen, so a failure reads as the condition that never came true.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            name = what or getattr(predicate, "__name__", repr(predicate))
            raise AssertionError(f"timed out after {timeout:g} s waiting until {name} (last value: {value!r})")
        time.sleep(interval)


def flock_waiters(path: Path) -> int:
    """How many ``flock`` calls are blocked waiting for the lock on ``path`` (Linux ``/proc/locks``).

    Lets a test wait until another thread or process is really queued on a lock, rather than
    sleeping and hoping it got there.
    """
    inode = os.stat(path).st_ino
    waiting = 0
    with open("/proc/locks", encoding="ascii") as locks:
        for line in locks:
            fields = line.split()
            on_path = any(re.fullmatch(rf"[0-9a-f]+:[0-9a-f]+:{inode}", f) for f in fields)
            waiting += on_path and "->" in fields
    return waiting


def collect_lines(stream: IO[bytes]) -> list[str]:
    """Read ``stream`` (say a child process's stdout) in a background thread; the returned list
    grows as lines arrive, so a test can ``wait_until`` a line is there. Run a Python child with
    ``PYTHONUNBUFFERED=1`` so its lines arrive when printed, not when it exits."""
    lines: list[str] = []

    def read() -> None:
        for line in stream:
            lines.append(line.decode(errors="replace"))

    threading.Thread(target=read, daemon=True).start()
    return lines
