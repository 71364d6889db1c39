"""Two capture nodes on one PostgreSQL (issue 19): nothing lost, nothing doubled.

Two gunicorn servers on different 127.0.0.1 ports, each with its own instance folder, sharing
only what the README says nodes share (the database, the secret key, the content); two
``leadmagnet send --watch`` senders on the same database and a real SMTP server (aiosmtpd).
Under 200 concurrent submissions spread over both nodes and 8 concurrent registrations for each
of four 3-seat webinars (32 at once) split across them, one node is killed with ``kill -9`` (master and workers) in the
middle of the load; its clients then go to the other node, as a load balancer would retry, until
the node is started again and takes its share of the last 40.

Afterwards: every acknowledged (303) lead is stored exactly once, each webinar has exactly 3 seats
(the other 5 are waitlisted), and every queued email reached the SMTP server exactly once.

Bounded in count (200 + 32 requests) and time (each wait has a deadline); every process started
here is stopped here.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import subprocess
import sys
import threading
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from leadmagnet.store import Store
from tests.support.content import ROOT
from tests.support.servers import Gunicorn, gunicorn
from tests.support.smtp import SMTPServer
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

SUBMISSIONS = 200
CLIENTS = 12
SEATS = 3
REGISTRATIONS = 8  # for each of the webinars, at once
ROUNDS = 4  # webinars of 3 seats, registered for at the same time: more chances for a race to show
KILL_AFTER = 60  # acknowledged submissions before node B is killed
AFTER_RESTART = 40  # the last submissions wait until node B is back
WEBINAR = "q1-product-demo"
WEBINARS = [WEBINAR, *(f"{WEBINAR}-{k}" for k in range(2, ROUNDS + 1))]
EBOOK = "/seo-checklist"


def post(port: int, path: str, fields: dict[str, str]) -> int:
    """One form post on a fresh connection; its status (raises OSError when the node is gone)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, body=urllib.parse.urlencode(fields), headers={"Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@contextmanager
def sender(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """``leadmagnet send --watch`` in its own process; stopped with Ctrl-C (SIGINT) afterwards."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "leadmagnet.cli", "send", "--watch"],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def stored(url: str) -> tuple[list[str], dict[str, list[dict]]]:
    """Every submission's email (one entry per submission), and the webinar's submissions by email."""
    store = Store(url)
    try:
        submissions = store.submissions()  # first: a submission's contact is stored with it or before it
        emails = {contact["id"]: contact["email"] for contact in store.contacts()}
        webinar: dict[str, list[dict]] = {}
        for s in submissions:
            if s["offer_slug"] in WEBINARS:
                webinar.setdefault(emails[s["contact_id"]], []).append(s)
        return [emails[s["contact_id"]] for s in submissions], webinar
    finally:
        store.shutdown()


def test_two_nodes_one_postgresql_lose_nothing_and_double_nothing(tmp_path: Path, pg_url: str, smtp_server: SMTPServer) -> None:
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    page = (content / f"{WEBINAR}.md").read_text().replace("capacity: 100", f"capacity: {SEATS}")
    for slug in WEBINARS:
        (content / f"{slug}.md").write_text(page)
    migrating = Store(pg_url)
    migrating.migrate()  # once per deploy (`leadmagnet db migrate`), before the nodes start
    migrating.shutdown()

    shared = {
        "LEADMAGNET_DATABASE": pg_url,
        "LEADMAGNET_CONTENT_DIR": str(content),
        "LEADMAGNET_SECRET_KEY": "one-secret-for-every-node-of-this-test",
        "LEADMAGNET_RATE_LIMIT": "off",
        "LEADMAGNET_DUPLICATE_WINDOW": "600",  # a retried request that was stored unanswered is not stored twice
        "LEADMAGNET_SEND_IN_SERVER": "false",
        "LEADMAGNET_SEND_INTERVAL": "0.2",
        **{f"LEADMAGNET_{k}": str(v) for k, v in smtp_server.settings().items()},
    }

    def node(name: str) -> dict[str, str]:
        return {**shared, "LEADMAGNET_INSTANCE_DIR": str(tmp_path / name)}

    acked: list[str] = []  # emails answered 303, in the order answered
    statuses: Counter[int] = Counter()
    answered_by: Counter[int] = Counter()  # answers per node's port
    registrations: dict[str, int] = {}
    lock = threading.Lock()
    with ExitStack() as stack:
        a: Gunicorn = stack.enter_context(gunicorn(node("node-a"), workers=2, threads=4, log=tmp_path / "a.log"))
        b: Gunicorn = stack.enter_context(gunicorn(node("node-b"), workers=2, threads=4, log=tmp_path / "b.log"))
        ports = [a.port, b.port]
        alive = [True, True]
        senders = [stack.enter_context(sender(node(f"sender-{n}"), tmp_path / f"sender-{n}.log")) for n in (1, 2)]

        def submit(i: int, path: str, fields: dict[str, str]) -> int:
            """Post to node i % 2; when that node is gone, to the other (a load balancer's retry)."""
            for attempt in range(3):
                target = (i + attempt) % 2
                if not alive[target]:
                    continue
                port = ports[target]
                try:
                    status = post(port, path, fields)
                except (OSError, http.client.HTTPException):
                    continue  # not acknowledged: retried on the other node
                with lock:
                    statuses[status] += 1
                    answered_by[port] += 1
                return status
            return 0

        counter = iter(range(SUBMISSIONS))

        def client() -> None:
            for i in counter:  # shared: each index is taken by one thread
                if i >= SUBMISSIONS - AFTER_RESTART:
                    assert back.wait(timeout=60), "node B did not come back"
                email = f"lead{i}@example.com"
                if submit(i, EBOOK, {"email": email, "first_name": f"Lead {i}", "country": "Test"}) == 303:
                    with lock:
                        acked.append(email)

        barrier = threading.Barrier(REGISTRATIONS * ROUNDS)

        def register(slug: str, n: int) -> None:
            email = f"attendee{n}-{slug}@example.com"
            barrier.wait(timeout=30)  # all at once: 8 for each webinar, 4 of them per node
            registrations[email] = submit(n, f"/{slug}", {"email": email, "first_name": f"Attendee {n}", "consent": "y"})

        restarted: list[Gunicorn] = []
        back = threading.Event()

        def kill_and_restart_node_b() -> None:
            wait_until(lambda: len(acked) >= KILL_AFTER, timeout=60, interval=0.02, what=f"{KILL_AFTER} acknowledged submissions")
            alive[1] = False
            os.killpg(b.proc.pid, signal.SIGKILL)  # the whole node: master and workers, mid-request
            # The node comes back (on a new port) and takes its share of the last submissions again.
            again = stack.enter_context(gunicorn(node("node-b"), workers=2, threads=4, log=tmp_path / "b-again.log"))
            restarted.append(again)
            ports[1] = again.port
            alive[1] = True
            back.set()

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        threads += [threading.Thread(target=register, args=(slug, n)) for slug in WEBINARS for n in range(REGISTRATIONS)]
        threads.append(threading.Thread(target=kill_and_restart_node_b))
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads), "the load did not finish in 120 s"
        assert b.proc.wait(timeout=10) == -signal.SIGKILL
        assert restarted and all(answered_by[port] > 0 for port in (a.port, b.port, restarted[0].port)), dict(answered_by)

        # Every submission got an answer from one node or the other; none was an error.
        assert len(acked) == SUBMISSIONS, f"{SUBMISSIONS - len(acked)} submissions never acknowledged; statuses {dict(statuses)}"
        assert not [s for s in statuses if s >= 500], dict(statuses)

        # Every acknowledged lead is stored exactly once, on the one database.
        emails, webinar = stored(pg_url)
        counts = Counter(emails)
        assert [e for e in acked if counts[e] != 1] == [], "acknowledged leads not stored exactly once"
        # Exactly 3 seats across both nodes; the 5 others waitlisted, each person stored once.
        assert sorted(registrations.values()) == [303] * REGISTRATIONS * ROUNDS, registrations
        assert sorted(webinar) == sorted(registrations)
        assert all(len(rows) == 1 for rows in webinar.values())
        for slug in WEBINARS:
            statuses_of = Counter(rows[0]["status"] for rows in webinar.values() if rows[0]["offer_slug"] == slug)
            assert statuses_of == {"ok": SEATS, "waitlisted": REGISTRATIONS - SEATS}, slug

        # Every email queued is sent exactly once by the two senders together.
        store = stack.enter_context(closing(Store(pg_url)))

        def none_left() -> bool:
            for n, proc in enumerate(senders, start=1):
                if proc.poll() is not None:  # fail now, with its reason, rather than at the deadline
                    log = (tmp_path / f"sender-{n}.log").read_text(errors="replace")[-1500:]
                    raise AssertionError(f"sender {n} exited with {proc.returncode}:\n{log}")
            rows = store.outbox()
            return bool(rows) and not [r for r in rows if r["status"] in ("queued", "sending")]

        wait_until(none_left, timeout=90, interval=0.2, what="every queued email sent")
        outbox = store.outbox()
        assert Counter(r["status"] for r in outbox) == {"sent": len(outbox)}
        assert len(outbox) >= SUBMISSIONS + REGISTRATIONS * ROUNDS  # one email a lead at least
        with smtp_server.inbox.lock:
            received = Counter((str(m["To"]), str(m["Subject"])) for m in smtp_server.inbox.messages)
            message_ids = Counter(str(m["Message-ID"]) for m in smtp_server.inbox.messages)
        assert [k for k, n in received.items() if n > 1] == [], "emails received more than once"
        assert [k for k, n in message_ids.items() if n > 1] == []
        assert sorted(received) == sorted((r["to_addr"], r["subject"]) for r in outbox)
        assert all(len(store.email_attempts(r["id"])) == 1 for r in outbox)  # one attempt each: nobody sent one twice


@contextmanager
def closing(store: Store) -> Iterator[Store]:
    try:
        yield store
    finally:
        store.shutdown()
