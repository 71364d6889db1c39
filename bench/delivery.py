"""Costs of delivery, each as a ratio against a baseline measured side by side in the same run.

Run from the checkout: ``.venv/bin/python -m bench.delivery`` (``--n`` to change the counts).
Everything stays on 127.0.0.1 and is bounded in count.

1. A submission with its delivery (``Deliveries.plan`` and ``record``: seat check and outbox row
   inside the submission's transaction; the message itself is built later by the sender)
   against the same ``record_submission`` without delivery. Building the message inside the transaction cost
   16 ms against 0.24 ms (67 times) in the first version, hence the template column.
2. A signed download (token check, submission and offer look-up, download recorded, file
   streamed) against the same file served publicly from ``/media/``, over real HTTP.
3. The sender's throughput to a real SMTP server (aiosmtpd: claim with lease, send, record the
   attempt) against plain ``smtplib.sendmail`` of the same raw messages on one connection.
"""

from __future__ import annotations

import argparse
import http.client
import shutil
import smtplib
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from aiosmtpd.controller import Controller

from bench._results import record
from leadmagnet.app import create_app
from leadmagnet.foundation import tokens
from leadmagnet.web import services_of
from tests.support.content import write_ebook, write_webinar
from tests.support.ports import free_port
from tests.support.servers import start_live_server
from tests.support.smtp import Inbox

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_TWIN = "assets/growth-playbook-cover.svg"  # shown by the growth-playbook page


def _app(tmp: Path, **overrides):
    content = tmp / "content"
    shutil.copytree(ROOT / "content", content)
    write_webinar(content, "bench-webinar", datetime.now(UTC) + timedelta(days=30), capacity=1_000_000)
    write_ebook(content, "bench-ebook", b"%PDF-1.4\n" + bytes(range(256)) * 4096, filename="bench.pdf")  # 1 MiB
    # The public twin: a published page's image replaced by the same bytes, served by /media/.
    (content / PUBLIC_TWIN).write_bytes((content / "files" / "bench.pdf").read_bytes())
    settings = {"CONTENT_DIR": str(content), "INSTANCE_DIR": str(tmp / "instance"), "THEMES_DIR": str(tmp / "themes"), "RATE_LIMIT": "off"}
    settings.update(overrides)
    return create_app(settings)


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def bench_submission(app, n: int) -> tuple[float, float]:
    store, deliveries = services_of(app).store, services_of(app).deliveries
    offer = services_of(app).catalog.get("bench-webinar").offer
    plain, delivered = [], []
    for i in range(n):
        start = time.perf_counter()
        store.record_submission(offer_slug="bench-webinar", offer_type="webinar", email=f"p{i}@example.com", fields={"first_name": "P"})
        plain.append(time.perf_counter() - start)
        start = time.perf_counter()
        deliveries.record(deliveries.plan(offer), email=f"d{i}@example.com", fields={"first_name": "D"}, meta={}, consented=False)
        delivered.append(time.perf_counter() - start)
    return _median_ms(delivered), _median_ms(plain)


def _fetch(port: int, path: str, n: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times = []
    try:
        for _ in range(n):
            start = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            assert response.status == 200 and len(body) > 1_000_000, (path, response.status)
            times.append(time.perf_counter() - start)
    finally:
        conn.close()
    return times


def bench_download(app, n: int) -> tuple[float, float]:
    client = app.test_client()
    client.post("/bench-ebook", data={"email": "reader@example.com"})
    store = services_of(app).store
    row = store.submissions("bench-ebook")[0]
    token = tokens.dump_row(app.config["SECRET_KEY"], "download", row["id"], row["created_at"])
    server = start_live_server(app)
    port = urlsplit(server.url).port
    try:
        signed, public = [], []
        for _ in range(3):  # interleaved rounds, so both see the same machine load
            signed += _fetch(port, f"/download/{token}", n // 3)
            public += _fetch(port, f"/media/{PUBLIC_TWIN}", n // 3)
    finally:
        server.stop()
    return _median_ms(signed), _median_ms(public)


def bench_sender(tmp: Path, n: int) -> tuple[float, float, int]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app = _app(tmp, SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False)
        client = app.test_client()
        for i in range(n):
            client.post("/bench-webinar", data={"email": f"m{i}@example.com", "first_name": "M"})
        store = services_of(app).store
        sent = 0
        start = time.perf_counter()
        while True:  # passes of at most 100 until the outbox is empty
            report = services_of(app).deliveries.send_once()
            if not report.sent:
                break
            sent += report.sent
        outbox_seconds = time.perf_counter() - start
        raw = [row["message"] for row in store.outbox("sent")]
        start = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for message in raw:
                smtp.sendmail("offers@example.com", ["x@example.com"], message)
        plain_seconds = time.perf_counter() - start
    finally:
        controller.stop()
    return sent / outbox_seconds, len(raw) / plain_seconds, sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=300, help="submissions, downloads and emails per measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = _app(Path(tmp))
        sub_ms, plain_ms = bench_submission(app, args.n)
        dl_ms, media_ms = bench_download(app, max(30, args.n // 5))
        out_rate, smtp_rate, sent = bench_sender(Path(tmp) / "sender", args.n)
    rows = [
        {
            "figure": "webinar submission with delivery (seat check, outbox row; the message is built later by the sender), one transaction; median, lower is better",
            "value": f"{sub_ms:.2f} ms",
            "baseline": "record_submission alone, same store",
            "baseline_value": f"{plain_ms:.2f} ms",
            "ratio": round(sub_ms / plain_ms, 2),
        },
        {
            "figure": "signed download of a 1 MiB file over HTTP (token, look-ups, download recorded); median, lower is better",
            "value": f"{dl_ms:.2f} ms",
            "baseline": "the same bytes from public /media/",
            "baseline_value": f"{media_ms:.2f} ms",
            "ratio": round(dl_ms / media_ms, 2),
        },
        {
            "figure": f"sender throughput to aiosmtpd ({sent} webinar emails: claim, build from templates with .ics, send, record each attempt); higher is better",
            "value": f"{out_rate:.0f} emails/s",
            "baseline": "smtplib.sendmail of the same built messages, one connection",
            "baseline_value": f"{smtp_rate:.0f} emails/s",
            "ratio": round(out_rate / smtp_rate, 2),
        },
    ]
    record(
        "delivery",
        f".venv/bin/python -m bench.delivery --n {args.n}",
        rows,
        "In-process store calls for the submission figures; a threaded werkzeug server on 127.0.0.1 for downloads; aiosmtpd on 127.0.0.1 for email.",
    )
    for row in rows:
        print(f"{row['figure']}: {row['value']} vs {row['baseline_value']} (ratio {row['ratio']})")


if __name__ == "__main__":
    main()
