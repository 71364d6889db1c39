"""Webhooks survive the sender being killed: ``leadmagnet send --watch`` as a real process, ``kill -9``
twice, a receiver that is down while 50 leads come in; every event arrives, none after its success
was recorded.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from leadmagnet.cli import cli
from leadmagnet.web import services_of
from tests.support.content import ROOT, write_ebook
from tests.support.ports import free_port
from tests.support.receiver import Receiver
from tests.support.waiting import wait_until

pytestmark = pytest.mark.both_backends

DATA = b"%PDF-1.4\n" + bytes(range(256)) + b"\n%%EOF\n"


def start_sender(env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "leadmagnet.cli", "send", "--watch"], env=env, cwd=ROOT, stdout=out, stderr=out)


def kill9(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=10) == -signal.SIGKILL


def test_50_events_arrive_after_the_receiver_comes_back_though_the_sender_was_killed_twice(
    make_app, content_dir, instance_dir, tmp_path, cli_runner
) -> None:
    write_ebook(content_dir, "handbook", DATA, filename="handbook.pdf")
    port = free_port()  # nothing listens there yet: the receiver is down
    url = f"http://127.0.0.1:{port}/hooks"
    folders = ["--instance", str(instance_dir), "--content", str(content_dir)]
    added = cli_runner.invoke(cli, [*folders, "webhooks", "add", url, "--event", "lead.created"])
    assert added.exit_code == 0, added.output
    secret = re.search(r"whsec_\S+", added.output).group(0)

    app = make_app(RATE_LIMIT="off", WEBHOOK_ALLOW_PRIVATE=True)
    store = services_of(app).store
    client = app.test_client()
    for n in range(50):
        assert client.post("/handbook", data={"email": f"lead{n}@example.com", "first_name": "Ada"}).status_code == 303
    assert len(store.webhook_events()) == 50

    env = {
        **os.environ,
        "LEADMAGNET_INSTANCE_DIR": str(instance_dir),
        "LEADMAGNET_DATABASE": app.config["DATABASE"],
        "LEADMAGNET_CONTENT_DIR": str(content_dir),
        "LEADMAGNET_THEMES_DIR": str(tmp_path / "themes"),
        "LEADMAGNET_WEBHOOK_ALLOW_PRIVATE": "true",
        "LEADMAGNET_WEBHOOK_RETRY_SECONDS": "0.02",  # a tiny retry setting instead of waiting
        "LEADMAGNET_WEBHOOK_TIMEOUT": "1",  # a claim of a killed sender is free again after 3 s
        "LEADMAGNET_WEBHOOK_DISABLE_AFTER": "0",
        "LEADMAGNET_SEND_INTERVAL": "0.05",
    }
    log = tmp_path / "sender.log"

    def failures() -> int:
        return store.webhook_endpoint_states().get(url, {}).get("consecutive_failures", 0)

    # 1. The receiver is down: the sender fails, and is killed.
    sender = start_sender(env, log)
    wait_until(lambda: failures() >= 2, timeout=30, what="the first sender failed twice")
    kill9(sender)
    # 2. Another sender fails once more; the receiver comes back and holds its 11th request,
    #    and this sender is killed while that request is in flight.
    sender = start_sender(env, log)
    wait_until(lambda: failures() >= 3, timeout=30, what="the second sender failed too")
    receiver = Receiver(secret=secret, answers=[200], port=port, hold_after=10).start()
    try:
        wait_until(lambda: len(receiver.received) >= 11, timeout=30, what="11 requests arrived")
        kill9(sender)
        receiver.gate.set()
        # 3. A third sender delivers the rest (the killed one's claim once its lease ran out).
        sender = start_sender(env, log)
        try:
            wait_until(lambda: store.webhook_counts()[url].get("delivered") == 50, timeout=60, what="all 50 delivered")
        finally:
            sender.terminate()
            sender.wait(timeout=10)
    finally:
        receiver.stop()

    assert all(r.verified for r in receiver.received), "every request carries a valid Standard Webhooks signature"
    rows = store.webhook_deliveries(url, limit=100)
    assert len(rows) == 50 and all(r["status"] == "delivered" for r in rows)
    assert receiver.ids() == {r["webhook_id"] for r in rows}  # all 50 arrived
    delivered_at = {r["webhook_id"]: datetime.fromisoformat(r["delivered_at"]) for r in rows}
    late = [r.id for r in receiver.received if r.at > delivered_at[r.id]]
    assert late == [], "an event was sent again after its success was recorded"
    assert len(receiver.received) <= 50 + 2  # at most the request in flight at the kill went twice
