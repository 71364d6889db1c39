"""One webhook request: the Standard Webhooks signature, the address checks, how answers are classified."""

from __future__ import annotations

import base64
import contextlib
import shutil
import socket
import ssl
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from leadmagnet.delivery.webhook_http import (
    PinnedHTTPConnection,
    PinnedHTTPSConnection,
    Refused,
    check_address,
    headers,
    post,
    resolve,
    retry_after_seconds,
    sign,
)
from tests.support.receiver import Receiver, verify


def test_signature_matches_the_specifications_test_vector() -> None:
    # The example of the Standard Webhooks specification and its reference libraries.
    key = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    signature = sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_headers_verify_with_an_independent_implementation_and_fail_when_tampered() -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    body = b'{"type":"lead.created"}'
    stamp = int(datetime.now(UTC).timestamp())
    sent = headers(base64.b64decode(secret[6:]), "msg_1", stamp, body)
    assert sent["webhook-id"] == "msg_1" and sent["webhook-timestamp"] == str(stamp)
    assert verify(secret, sent, body)
    assert not verify(secret, sent, body + b" ")
    assert not verify(secret, {**sent, "webhook-id": "msg_2"}, body)
    assert not verify(secret, {**sent, "webhook-timestamp": str(stamp - 3600)}, body)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 - an address refused, not bound
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ],
)
def test_addresses_that_are_not_public_are_refused(address: str) -> None:
    with pytest.raises(Refused, match="LEADMAGNET_WEBHOOK_ALLOW_PRIVATE"):
        check_address(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    check_address(address)


def test_a_name_is_checked_after_resolution_and_the_checked_address_is_the_one_used() -> None:
    with pytest.raises(Refused, match="loopback"):
        resolve("localhost", 80, allow_private=False)
    assert resolve("localhost", 80, allow_private=True) in ("127.0.0.1", "::1")


def test_post_to_localhost_by_name_is_refused_unless_allowed() -> None:
    receiver = Receiver(secret="whsec_" + base64.b64encode(b"s" * 32).decode(), answers=[204]).start()
    try:
        url = f"http://localhost:{receiver.port}/hooks"
        refused = post(url, b"{}", {}, timeout=5, allow_private=False)
        assert refused.outcome == "retry" and refused.error.startswith("refused:") and receiver.received == []
        allowed = post(url.replace("localhost", "127.0.0.1"), b"{}", {}, timeout=5, allow_private=True)
        assert allowed.outcome == "delivered" and allowed.code == 204
        assert receiver.received[0].headers["host"] == f"127.0.0.1:{receiver.port}"
    finally:
        receiver.stop()


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (200, "delivered"),
        (500, "retry"),
        (503, "retry"),
        (408, "retry"),
        (409, "retry"),
        (429, "retry"),
        (410, "gone"),
        (400, "final"),
        (401, "final"),
        (301, "final"),
    ],
)
def test_answers_are_classified(code: int, outcome: str) -> None:
    receiver = Receiver(secret="whsec_" + base64.b64encode(b"s" * 32).decode(), answers=[code]).start()
    try:
        assert post(receiver.url, b"{}", {}, timeout=5, allow_private=True).outcome == outcome
    finally:
        receiver.stop()


def test_a_receiver_that_never_answers_times_out_and_is_retried() -> None:
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        answer = post(f"http://127.0.0.1:{silent.getsockname()[1]}/", b"{}", {}, timeout=0.3, allow_private=True)
    assert answer.outcome == "retry" and answer.code is None and "0.3 seconds" in answer.error


def test_the_timeout_bounds_the_whole_request_not_each_read() -> None:
    """A receiver that answers a byte at a time never lets one read time out: the deadline ends it."""
    stop = threading.Event()

    def trickle(listener: socket.socket) -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            with contextlib.suppress(OSError):
                for _ in range(400):  # a byte every 50 ms, for 20 s at most
                    if stop.wait(0.05):
                        break
                    conn.sendall(b"a")

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        server = threading.Thread(target=trickle, args=(listener,), daemon=True)
        server.start()
        started = time.monotonic()
        answer = post(f"http://127.0.0.1:{listener.getsockname()[1]}/", b"{}", {}, timeout=0.5, allow_private=True)
        took = time.monotonic() - started
        stop.set()
        server.join(10)
    assert answer.outcome == "retry" and answer.error == "no answer within 0.5 seconds"
    assert took < 5


def test_nobody_listening_is_retried() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    answer = post(f"http://127.0.0.1:{port}/", b"{}", {}, timeout=2, allow_private=True)
    assert answer.outcome == "retry" and "Connection" in answer.error


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds(format_datetime(now + timedelta(minutes=5), usegmt=True), now) == 300
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_the_connection_goes_to_the_checked_address_never_to_the_name_again() -> None:
    """DNS rebinding: once checked, the address is used as it is; the name only travels in the Host header."""
    receiver = Receiver(secret="whsec_" + base64.b64encode(b"s" * 32).decode(), answers=[200]).start()
    try:
        conn = PinnedHTTPConnection("rebound.invalid", receiver.port, "127.0.0.1", timeout=5)
        conn.request("POST", "/hooks", body=b"{}")
        assert conn.getresponse().status == 200
        conn.close()
        assert receiver.received[0].headers["host"] == f"rebound.invalid:{receiver.port}"
    finally:
        receiver.stop()


def self_signed(tmp_path, name: str):
    """A certificate for ``name`` made by openssl, and the key."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={name}",
         "-addext", f"subjectAltName=DNS:{name}", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_https_to_the_checked_address_still_verifies_the_certificate_against_the_name(tmp_path) -> None:
    cert, key = self_signed(tmp_path, "hooks.example.test")
    receiver = Receiver(secret="whsec_" + base64.b64encode(b"s" * 32).decode(), answers=[200]).start()
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)
    receiver.server.socket = server_side.wrap_socket(receiver.server.socket, server_side=True)
    try:
        trusting = ssl.create_default_context(cafile=str(cert))
        good = PinnedHTTPSConnection("hooks.example.test", receiver.port, "127.0.0.1", timeout=5, context=trusting)
        good.request("POST", "/hooks", body=b"{}")
        assert good.getresponse().status == 200
        good.close()
        wrong = PinnedHTTPSConnection("other.example.test", receiver.port, "127.0.0.1", timeout=5, context=trusting)
        with pytest.raises(ssl.SSLCertVerificationError, match=r"other\.example\.test"):
            wrong.request("POST", "/hooks", body=b"{}")
        wrong.close()
        assert [r.headers["host"] for r in receiver.received] == [f"hooks.example.test:{receiver.port}"]
    finally:
        receiver.stop()
