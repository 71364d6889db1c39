"""One webhook request: signed per the Standard Webhooks specification, sent only where it may go.

Signing (https://www.standardwebhooks.com/): the signed content is ``{id}.{timestamp}.{body}``,
where ``id`` is the event's ``webhook-id`` (the same on every retry), ``timestamp`` the attempt's
Unix time in seconds and ``body`` the exact bytes sent. The key is the base64 part of the
``whsec_`` secret, decoded; the signature is ``v1,`` and the base64 HMAC-SHA256. The three
values travel as the ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` headers.

Server-side request forgery: a webhook URL is typed by whoever edits config.toml, but it must not
become a way to reach the machine's own services or the private network behind it (a cloud's
metadata address, an admin port on localhost). So the host name is resolved first, every address
it resolves to is checked (loopback, private, link-local, reserved, multicast, shared address
space: anything not globally routable is refused unless ``WEBHOOK_ALLOW_PRIVATE``), and the
connection is made to the address that was checked, never to the name again, so a DNS answer
that changes between the check and the connection (DNS rebinding) cannot slip through. HTTPS
still verifies the certificate against the host name (SNI and hostname check). Redirects are not
followed: a redirect could point anywhere.

The timeout bounds the whole request, not only each read: a socket's timeout restarts with every
byte, so a receiver that answers a byte every few seconds would otherwise hold the sender, and the
emails of its next passes, for hours (see :class:`Cutoff`).

Only the standard library: ``http.client`` lets us connect to the checked address ourselves,
which is the one thing this needs that a higher-level client would hide.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from leadmagnet.foundation.version import __version__

RETRY_STATUSES = frozenset({408, 409, 429})  # and every 5xx


class Refused(Exception):
    """The URL's host resolves to an address webhooks may not reach (see the module's docstring)."""


@dataclass(frozen=True)
class Answer:
    """What one attempt came to: the response code (None: no response), an error text, and what to do next.

    ``outcome`` is ``delivered`` (2xx), ``retry`` (no response, a timeout, 408, 409, 429, 5xx),
    ``final`` (any other answer: retrying cannot change it) or ``gone`` (410: stop sending there).
    ``retry_after`` is the seconds a ``Retry-After`` header asked for, if any.
    """

    outcome: str
    code: int | None = None
    error: str | None = None
    retry_after: float | None = None


def sign(secret_key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(secret_key, signed, hashlib.sha256).digest()).decode()


def headers(secret_key: bytes, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Every header of a webhook request, signature included."""
    return {
        "content-type": "application/json",
        "user-agent": f"leadmagnet/{__version__} (webhooks)",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret_key, msg_id, timestamp, body),
    }


def check_address(address: str) -> None:
    """Raise :class:`Refused` unless ``address`` (an IP) is globally routable."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback
    if not ip.is_global or ip.is_multicast:
        kind = "loopback" if ip.is_loopback else "link-local" if ip.is_link_local else "private or reserved"
        raise Refused(f"{address} is a {kind} address; webhooks go only to public addresses unless LEADMAGNET_WEBHOOK_ALLOW_PRIVATE=true")


def resolve(host: str, port: int, allow_private: bool) -> str:
    """The address to connect to for ``host``: resolved once, and (unless allowed) refused when any answer is not public.

    Every answer is checked, not just the first: a name that resolves to a public and a private
    address is refused, since we could not say which one a later resolution would pick.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OSError(f"cannot resolve {host}: {exc}") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise OSError(f"cannot resolve {host}: no address")
    if not allow_private:
        for address in addresses:
            check_address(address)
    return addresses[0]


class Cutoff:
    """Ends a request at its deadline, whatever it is waiting for.

    :meth:`cut` (run by a timer) shuts the connection's socket down, which wakes any read or write
    blocked on it at once. It shuts a duplicate of the descriptor: TLS replaces the socket object
    it wraps, and a duplicate names the same connection. A socket opened after the cut is refused.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.expired = False
        self.watched: list[socket.socket] = []

    def watch(self, sock: socket.socket) -> socket.socket:
        """Keep a duplicate of ``sock`` to shut at the deadline; returns ``sock``."""
        with self.lock:
            if self.expired:
                sock.close()
                raise TimeoutError("the deadline passed while connecting")
            self.watched.append(sock.dup())
        return sock

    def cut(self) -> None:
        """The deadline: shut every watched socket down."""
        with self.lock:
            self.expired = True
            for sock in self.watched:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        with self.lock:
            for sock in self.watched:
                sock.close()
            self.watched.clear()


class PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to an address resolved and checked beforehand; the Host header keeps the name."""

    def __init__(self, host: str, port: int, address: str, timeout: float, cutoff: Cutoff | None = None) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address
        self.cutoff = cutoff or Cutoff()

    def connect(self) -> None:
        self.sock = self.cutoff.watch(socket.create_connection((self.address, self.port), self.timeout))


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to a checked address, verifying the certificate against the host name."""

    def __init__(self, host: str, port: int, address: str, timeout: float, context: ssl.SSLContext, cutoff: Cutoff | None = None) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self.address = address
        self.tls = context
        self.cutoff = cutoff or Cutoff()

    def connect(self) -> None:
        sock = self.cutoff.watch(socket.create_connection((self.address, self.port), self.timeout))
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, request_headers: dict[str, str], *, timeout: float, allow_private: bool) -> Answer:
    """POST ``body`` to ``url`` and classify the answer (never raises for a network failure)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        address = resolve(host, port, allow_private)
    except Refused as exc:
        return Answer("retry", error=f"refused: {exc}")
    except OSError as exc:
        return Answer("retry", error=str(exc))
    cutoff = Cutoff()
    if parts.scheme == "https":
        conn: http.client.HTTPConnection = PinnedHTTPSConnection(host, port, address, timeout, ssl.create_default_context(), cutoff)
    else:
        conn = PinnedHTTPConnection(host, port, address, timeout, cutoff)
    deadline = threading.Timer(timeout, cutoff.cut)  # the whole request, not each read (see the module's docstring)
    deadline.daemon = True
    deadline.start()
    try:
        conn.request("POST", path, body=body, headers=request_headers)
        response = conn.getresponse()
        if cutoff.expired:  # cut mid-answer: the headers read may end where the cut did
            raise TimeoutError
        code, retry_after = response.status, retry_after_seconds(response.getheader("retry-after"))
        with contextlib.suppress(OSError, http.client.HTTPException):  # the answer is in: a slow body does not undo it
            response.read(4096)  # a little of the body, so the connection closes cleanly; never stored
    except TimeoutError:
        return Answer("retry", error=f"no answer within {timeout:g} seconds")
    except (OSError, http.client.HTTPException) as exc:
        if cutoff.expired:
            return Answer("retry", error=f"no answer within {timeout:g} seconds")
        return Answer("retry", error=f"{type(exc).__name__}: {exc}"[:300])
    finally:
        deadline.cancel()
        conn.close()
        cutoff.close()
    if 200 <= code < 300:
        return Answer("delivered", code)
    if code == 410:
        return Answer("gone", code, "410 Gone: the receiver asked us to stop sending")
    if code >= 500 or code in RETRY_STATUSES:
        return Answer("retry", code, f"answered {code}", retry_after)
    if 300 <= code < 400:
        return Answer("final", code, f"answered {code} (a redirect, not followed): put the final address in config.toml")
    return Answer("final", code, f"answered {code}")


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header as seconds from now: a number of seconds, or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
