"""kill -9 of a gunicorn worker in the middle of a submission load: every acknowledged (303)
submission is in the database afterwards, and the database passes ``PRAGMA integrity_check``.

Bounded: about 6 s of load from 16 client threads on 127.0.0.1; gunicorn is always stopped.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from leadmagnet.store import Store
from tests.support.content import ROOT
from tests.support.load import run_load, stored_emails
from tests.support.servers import gunicorn, worker_pids
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow


def test_kill_9_of_a_worker_loses_no_acknowledged_submission(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    env = {
        "LEADMAGNET_CONTENT_DIR": str(ROOT / "content"),
        "LEADMAGNET_INSTANCE_DIR": str(instance),
        "LEADMAGNET_RATE_LIMIT": "off",
        "LEADMAGNET_DUPLICATE_WINDOW": "0",
    }
    with gunicorn(env, workers=3, threads=2, log=tmp_path / "gunicorn.log") as server:
        port, master = server.port, server.proc
        victims = worker_pids(master.pid)
        assert len(victims) == 3
        killed: list[int] = []

        def kill_one_worker() -> None:  # well inside the load, with submissions in flight
            wait_until(lambda: len(stored_emails(instance / "leadmagnet.db")) >= 50, timeout=6, interval=0.05, what="50 stored submissions")
            os.kill(victims[0], signal.SIGKILL)
            killed.append(victims[0])

        killer = threading.Thread(target=kill_one_worker)
        killer.start()
        load = run_load(port, seconds=6, clients=16, tag="f")
        killer.join()
        # the master replaced the killed worker
        assert killed and victims[0] not in worker_pids(master.pid)
    assert len(load.acked) > 50
    emails = set(stored_emails(instance / "leadmagnet.db"))
    assert load.acked <= emails, f"{len(load.acked - emails)} acknowledged submissions are missing"
    # at most the requests in flight on the killed worker were stored without an answer
    assert len(emails - load.acked) <= 2 * 16
    store = Store(instance / "leadmagnet.db")
    try:
        assert store.integrity_check() == "ok"
        contact_ids = {c["id"] for c in store.contacts()}
        assert all(s["contact_id"] in contact_ids for s in store.submissions())  # no submission without its contact
    finally:
        store.close()
    assert load.server_errors == 0
