"""Concurrent form submissions over HTTP, as the fault test and ``bench.submit`` generate them.

The load generator is plain threads with ``http.client`` keep-alive connections: simple, bounded
in time, and good enough to saturate a 2-core machine. Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import http.client
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from leadmagnet.store import Store

FORM_PATH = "/seo-checklist"


@dataclass
class Load:
    """What the clients saw: latencies of acknowledged requests, status counts, acked emails."""

    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    acked: set[str] = field(default_factory=set)
    errors: int = 0
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        data = sorted(self.latencies)
        return data[min(len(data) - 1, int(p / 100 * len(data)))]


def run_load(port: int, seconds: float, clients: int, path: str = FORM_PATH, post: bool = True, tag: str = "b") -> Load:
    """``clients`` threads send requests to ``path`` for ``seconds``; posts use a unique email each."""
    load = Load()
    deadline = time.monotonic() + seconds
    ok_status = 303 if post else 200

    def client(n: int) -> None:
        conn: http.client.HTTPConnection | None = None
        i = 0
        while time.monotonic() < deadline:
            i += 1
            email = f"{tag}{n}-{i}@example.com"
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                start = time.perf_counter()
                if post:
                    body = urllib.parse.urlencode({"email": email, "first_name": f"Load {n}", "country": "Test"})
                    conn.request("POST", path, body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
                else:
                    conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                elapsed = time.perf_counter() - start
            except (OSError, http.client.HTTPException):
                # A killed worker drops its connections: not acknowledged, so it may be lost.
                with load.lock:
                    load.errors += 1
                if conn is not None:
                    conn.close()
                conn = None
                continue
            with load.lock:
                load.statuses[response.status] = load.statuses.get(response.status, 0) + 1
                if response.status == ok_status:
                    load.latencies.append(elapsed)
                    if post:
                        load.acked.add(email)
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 60)
    load.seconds = time.monotonic() - started
    return load


def stored_emails(db: Path) -> list[str]:
    """Every submission's email in the database at ``db``, read through the store's verbs."""
    store = Store(db)
    try:
        submissions = store.submissions()  # first: a submission's contact is stored with it or before it
        emails = {contact["id"]: contact["email"] for contact in store.contacts()}
        return [emails[submission["contact_id"]] for submission in submissions]
    finally:
        store.close()
