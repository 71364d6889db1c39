"""An open-loop load generator: requests leave at a fixed rate whatever the server's answers.

wrk is closed-loop: each connection waits for its answer before sending again, so a slow server
is sent less and its worst latencies are never measured ("coordinated omission"). Here request
``i`` is due at ``start + i / rate``; it goes out on an idle keep-alive connection (a new one is
opened while fewer than ``connections`` exist) and its latency is counted from the time it was
due, so time spent queued behind a slow answer counts, as it would for a visitor. This is how
wrk2 measures; wrk2 is not packaged by Debian, hence this small asyncio client.

Form posts carry a unique email each; the emails answered ``303`` are returned, so the caller can
check that every acknowledged lead is in the database. Everything goes to 127.0.0.1 and stops
after ``seconds`` (plus the time the last answers take, at most ``timeout``).
"""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from dataclasses import dataclass, field


@dataclass
class OpenLoop:
    rate: float
    seconds: float
    latencies: list[float] = field(default_factory=list)  # seconds, of answered requests
    statuses: dict[int, int] = field(default_factory=dict)
    acked: set[str] = field(default_factory=set)
    errors: int = 0
    late: int = 0  # requests that left more than 10 ms after their due time (the client fell behind)

    @property
    def sent(self) -> int:
        return len(self.latencies) + self.errors

    def percentile(self, p: float) -> float:
        data = sorted(self.latencies)
        return data[min(len(data) - 1, int(p / 100 * len(data)))] if data else float("nan")


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> tuple[int, bool]:
    """Send one request, read its whole answer; (status, the server keeps the connection)."""
    writer.write(request)
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    status = int(status_line.split()[1])
    length, keep = 0, True
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection" and value.strip().lower() == "close":
            keep = False
    if length:
        await reader.readexactly(length)
    return status, keep


async def _run(port: int, path: str, rate: float, seconds: float, connections: int, post: bool, tag: str, timeout: float) -> OpenLoop:
    result = OpenLoop(rate, seconds)
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    opened = 0
    loop = asyncio.get_running_loop()
    start = loop.time()
    total = int(rate * seconds)
    tasks: list[asyncio.Task[None]] = []

    async def one(i: int, due: float) -> None:
        nonlocal opened
        email = f"{tag}-{i}@example.com"
        if post:
            body = urllib.parse.urlencode({"email": email, "first_name": "Load", "country": "Test"}).encode()
            head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
            request = head.encode() + body
        else:
            request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: br, gzip\r\n\r\n".encode()
        try:
            if idle.empty() and opened < connections:
                opened += 1
                try:
                    conn = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
                except BaseException:
                    opened -= 1
                    raise
            else:
                conn = await asyncio.wait_for(idle.get(), timeout)
            try:
                status, keep = await asyncio.wait_for(_exchange(*conn, request), timeout)
            except BaseException:
                conn[1].close()
                opened -= 1
                raise
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            result.errors += 1
            return
        result.latencies.append(loop.time() - due)
        result.statuses[status] = result.statuses.get(status, 0) + 1
        if post and status == 303:
            result.acked.add(email)
        if keep:
            idle.put_nowait(conn)
        else:
            conn[1].close()
            opened -= 1

    for i in range(total):
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.010:
            result.late += 1
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    while not idle.empty():
        idle.get_nowait()[1].close()
    return result


def open_loop(
    port: int, path: str, rate: float, seconds: float, *, connections: int = 64, post: bool = True, tag: str = "o", timeout: float = 30.0
) -> OpenLoop:
    """Send ``rate`` requests a second to ``path`` on 127.0.0.1:``port`` for ``seconds``."""
    started = time.monotonic()
    result = asyncio.run(_run(port, path, rate, seconds, connections, post, tag, timeout))
    result.seconds = time.monotonic() - started
    return result
