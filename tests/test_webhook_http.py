"""One webhook request: the Standard Webhooks signature, the address checks, how answers are classified."""

from __future__ import annotations

import base64
import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from leadmagnet.delivery.webhook_http import Refused, check_address, headers, post, resolve, retry_after_seconds, sign
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
