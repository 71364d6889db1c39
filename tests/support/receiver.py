"""A real webhook receiver on 127.0.0.1 that verifies every request per the Standard Webhooks spec.

The verification is written here from the specification, not imported from leadmagnet: the
signed content is ``{webhook-id}.{webhook-timestamp}.{body}``, the key the base64 after ``whsec_``,
and ``webhook-signature`` a space-separated list of ``v1,<base64 HMAC-SHA256>``; one must match
(compared in constant time), and the timestamp must be within five minutes of now.

``answers`` scripts the responses: a list of status codes given to each event id in turn (the
last one repeats), so ``[500, 500, 200]`` fails every event twice before taking it. With
``hold_after``, requests after that many are recorded on arrival and then held until ``gate`` is
set: a test can kill the sender while a request is in flight.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOLERANCE = 300  # seconds, the spec's suggested tolerance


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The Standard Webhooks verification: True when one ``v1`` signature matches and the timestamp is fresh."""
    msg_id, stamp, signatures = headers.get("webhook-id"), headers.get("webhook-timestamp"), headers.get("webhook-signature")
    if not (msg_id and stamp and signatures) or not stamp.isdigit() or abs(time.time() - int(stamp)) > TOLERANCE:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()).decode()
    for item in signatures.split(" "):
        version, _, signature = item.partition(",")
        if version == "v1" and hmac.compare_digest(signature, expected):
            return True
    return False


@dataclass
class Received:
    id: str
    type: str
    body: dict[str, Any]
    raw: bytes
    headers: dict[str, str]
    verified: bool
    answered: int
    at: datetime  # when it arrived (UTC)


@dataclass
class Receiver:
    """A running receiver: ``url``, every request in ``received``; :meth:`stop` closes it."""

    secret: str
    answers: list[int]
    port: int = 0
    received: list[Received] = field(default_factory=list)
    extra_headers: dict[str, str] = field(default_factory=dict)
    hold_after: int | None = None  # requests after this many wait for ``gate`` before answering
    gate: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Receiver:
        receiver = self
        lock = threading.Lock()
        tries: dict[str, int] = {}

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                arrived = datetime.now(UTC)
                msg_id = headers.get("webhook-id", "")
                with lock:
                    n = tries.get(msg_id, 0)
                    tries[msg_id] = n + 1
                    code = receiver.answers[min(n, len(receiver.answers) - 1)]
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        body = {}
                    ok = verify(receiver.secret, headers, raw)
                    receiver.received.append(Received(msg_id, body.get("type", ""), body, raw, headers, ok, code, arrived))
                    held = receiver.hold_after is not None and len(receiver.received) > receiver.hold_after
                if held:
                    receiver.gate.wait(30)
                self.send_response(code)
                for name, value in receiver.extra_headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def ids(self, answered: int | None = None) -> set[str]:
        return {r.id for r in self.received if answered is None or r.answered == answered}
