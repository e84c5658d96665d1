"""A lean closed-loop HTTP/1.1 load generator on bare asyncio protocols.

The benchmarks share two cores with the server they measure, so the client must be cheap: requests are
encoded to bytes before the clock starts, and each connection sends its next request straight from the
data_received callback (no task, future or queue per request). One request in flight per connection, no
pipelining; a connection the server closes (`Connection: close`) is reopened.
"""
from __future__ import annotations

import asyncio
import collections
import time
from urllib.parse import urlsplit


def encode(host: str, method: str, path: str, body: bytes | None, key: str) -> bytes:
    body = body or b""
    return (f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nx-functions-key: {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode("latin-1") + body


def parse_response(buffer: bytearray) -> tuple[int, int, bool] | None:
    """(status, bytes used, keep-alive) of the complete response at the start of buffer; None if incomplete."""
    head_end = buffer.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    lines = bytes(buffer[:head_end]).split(b"\r\n")
    status = int(lines[0].split(None, 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip().lower()
    end = head_end + 4
    if b"chunked" in headers.get(b"transfer-encoding", b""):
        while True:   # chunk-size line, data, CRLF ... until the zero-size chunk and its (optional) trailers
            line_end = buffer.find(b"\r\n", end)
            if line_end < 0:
                return None
            size = int(bytes(buffer[end:line_end]).split(b";")[0], 16)
            if size == 0:
                end = buffer.find(b"\r\n\r\n", line_end)
                if end < 0:
                    return None
                end += 4
                break
            end = line_end + 2 + size + 2
            if end > len(buffer):
                return None
    elif b"content-length" in headers:
        end += int(headers[b"content-length"])
        if end > len(buffer):
            return None
    elif not (status < 200 or status in (204, 304)):
        # A body delimited by closing the connection would make latency depend on the close; refuse it.
        raise ValueError(f"HTTP {status} response has neither Content-Length nor chunked encoding")
    return status, end, headers.get(b"connection") != b"close"


class _Run:
    """State shared by the connections of one load run."""

    def __init__(self, encoded: list[bytes]):
        self.pending = collections.deque(encoded)
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.connections: list[_Connection] = []


class _Connection(asyncio.Protocol):
    def __init__(self, run: _Run):
        self.run = run
        self.buffer = bytearray()
        self.begin: float | None = None   # send time of the request in flight
        self.closed = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        run.connections.append(self)

    def connection_made(self, transport):
        self.transport = transport
        self.send_next()

    def send_next(self):
        if not self.run.pending:
            self.transport.close()
            return
        request = self.run.pending.popleft()
        self.begin = time.perf_counter()
        self.transport.write(request)

    def data_received(self, data):
        self.buffer += data
        try:
            parsed = parse_response(self.buffer)
        except ValueError as error:
            return self.fail(error)
        if parsed is None:
            return
        self.run.latencies.append(time.perf_counter() - self.begin)
        self.begin = None
        status, used, keep_alive = parsed
        self.run.statuses[status] = self.run.statuses.get(status, 0) + 1
        del self.buffer[:used]
        if self.buffer:
            return self.fail(ConnectionError(f"{len(self.buffer)} unexpected bytes after a response"))
        if keep_alive:
            self.send_next()
        else:
            self.transport.close()   # the worker reopens a connection if requests remain

    def fail(self, error: Exception):
        if not self.closed.done():
            self.closed.set_exception(error)
        self.transport.close()

    def connection_lost(self, exc):
        if self.begin is not None:
            self.fail(ConnectionError(f"connection lost with a request in flight: {exc or 'closed by server'}"))
        elif not self.closed.done():
            self.closed.set_result(None)


async def _worker(run: _Run, host: str, port: int, timeout: float):
    loop = asyncio.get_running_loop()
    while run.pending:
        _, connection = await asyncio.wait_for(loop.create_connection(lambda: _Connection(run), host, port), timeout)
        await connection.closed


async def _watchdog(run: _Run, timeout: float):
    """Fail the run when no response arrived for `timeout` seconds (a stuck server must not hang the bench)."""
    seen = -1
    while len(run.latencies) != seen:
        seen = len(run.latencies)
        await asyncio.sleep(timeout)
    raise TimeoutError(f"no response for {timeout:.0f} s after {seen} responses")


async def load(base: str, requests: list[tuple[str, str, bytes | None]], concurrency: int, key: str,
               timeout: float = 30.0) -> tuple[list[float], float, dict[int, int]]:
    """Send (method, path, body) requests over `concurrency` keep-alive connections.

    Returns (latencies in seconds, elapsed seconds, {status: count}); raises on connection errors or timeout.
    """
    url = urlsplit(base)
    if url.scheme != "http":
        raise ValueError(f"only plain http is supported, not {base!r}")
    host, port = url.hostname, url.port or 80
    encoded = [encode(url.netloc, method, path, body, key) for method, path, body in requests]
    run = _Run(encoded)
    workers = asyncio.gather(*(_worker(run, host, port, timeout) for _ in range(min(concurrency, len(encoded)))))
    watchdog = asyncio.ensure_future(_watchdog(run, timeout))
    started = time.perf_counter()
    try:
        done, _ = await asyncio.wait([workers, watchdog], return_when=asyncio.FIRST_COMPLETED)
        elapsed = time.perf_counter() - started
        (workers if workers in done else watchdog).result()   # raises a worker's error or the watchdog's timeout
    finally:
        for task in (workers, watchdog):
            task.cancel()
        for connection in run.connections:
            if connection.transport is not None:
                connection.transport.close()
        await asyncio.gather(workers, watchdog, return_exceptions=True)
    return run.latencies, elapsed, run.statuses
