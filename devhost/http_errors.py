"""The local host's own HTTP errors in the JSON error shape, and its limits on slow clients.

aiohttp answers requests it cannot parse (a bad request line, an unknown method token, a URL or header over its
line limit, too many headers) itself, in plain text. The Functions host (Kestrel) refuses the same requests; here
they get `{"error": {"code", "message", "details"}}` like every other error. Slow clients are cut as Kestrel cuts
them: request headers must arrive within `headers_timeout` seconds (Kestrel's RequestHeadersTimeout, 30 s), a
body at a minimum rate after a grace period (MinRequestBodyDataRate: 240 bytes/s, 5 s), both answered 408.

aiohttp offers no hook for these answers but the protocol class, so the runner below builds its server with a
RequestHandler subclass; tests/integration/test_local_host_protocol.py checks each case over a raw socket."""
from __future__ import annotations

import asyncio
import json
import logging

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod, BadStatusLine, LineTooLong
from aiohttp.web_protocol import RequestHandler

log = logging.getLogger("devhost")
MIN_BODY_BYTES_PER_SECOND = 240
BODY_GRACE_SECONDS = 5.0


def error_body(code: str, message: str, details: object = None) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "details": details}}).encode()


def json_error(status: int, code: str, message: str, headers: dict | None = None) -> web.Response:
    return web.Response(status=status, body=error_body(code, message), content_type="application/json",
                        headers=headers)


class JsonErrorRequestHandler(RequestHandler):
    """One connection. Parse errors answered in JSON; a request whose headers are not complete in time is
    answered 408 and the connection closed."""

    headers_timeout = 30.0

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        # The length of the request line seen so far: a line over the limit is 414, any other line 431.
        self._line_length = self._head_line_length = 0
        self._line_done = False
        self._headers_timer = None
        self._arm_headers_timer()

    def data_received(self, data: bytes) -> None:
        if not getattr(self, "_request_in_progress", False):
            if not self._line_done:
                end = data.find(b"\n")
                self._line_length += len(data) if end < 0 else end
                self._line_done = end >= 0
            self._arm_headers_timer()
        queued = len(self._messages)
        super().data_received(data)
        if len(self._messages) > queued:   # a request's headers are complete (or failed to parse)
            self._head_line_length, self._line_length, self._line_done = self._line_length, 0, False
            self._cancel_headers_timer()

    def connection_lost(self, exc) -> None:
        self._cancel_headers_timer()
        super().connection_lost(exc)

    def _arm_headers_timer(self) -> None:
        if self._headers_timer is None:
            self._headers_timer = self._loop.call_later(self.headers_timeout, self._headers_timed_out)

    def _cancel_headers_timer(self) -> None:
        if self._headers_timer is not None:
            self._headers_timer.cancel()
            self._headers_timer = None

    def _headers_timed_out(self) -> None:
        self._headers_timer = None
        if getattr(self, "_request_in_progress", False) or self._messages or self.transport is None:
            return
        body = error_body("request_timeout", f"the request headers did not arrive within "
                                             f"{self.headers_timeout:g} s")
        head = (f"HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
                "\r\nConnection: close\r\n\r\n").encode()
        log.info("408: request headers timed out")
        self.transport.write(head + body)
        self.force_close()
        self.transport.close()

    def handle_error(self, request, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if request.writer.output_size > 0:
            raise ConnectionError("the response is sent already; cannot send the error")
        status, code, text = _describe(status, exc, self._head_line_length > self.max_line_size)
        # One line, without the request's bytes: they may hold a function key (code=...).
        log.info("%d %s: %s", status, code, type(exc).__name__ if exc else "error")
        response = json_error(status, code, text)
        response.force_close()
        return response


def _describe(status: int, exc: BaseException | None, long_line: bool) -> tuple[int, str, str]:
    if isinstance(exc, LineTooLong):
        if long_line:
            return 414, "uri_too_long", "the request line (method, URL, version) is too long"
        return 431, "headers_too_large", "a request header is too long"
    if isinstance(exc, BadHttpMethod):
        return 400, "bad_request", "the request method is not a valid HTTP method"
    if isinstance(exc, BadStatusLine):
        return 400, "bad_request", "the request line is malformed"
    if status == 400 and exc is not None and "too many headers" in str(exc).lower():
        return 431, "headers_too_large", "the request has too many headers"
    if status < 500:
        return status, "bad_request", "the request is not valid HTTP"
    return 500, "internal_error", "the host failed to handle this request"


class JsonErrorServer(web.Server):
    def __init__(self, *args, headers_timeout: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.headers_timeout = headers_timeout

    def __call__(self) -> RequestHandler:
        handler = JsonErrorRequestHandler(self, loop=self._loop, **self._kwargs)
        handler.headers_timeout = self.headers_timeout
        return handler


class JsonErrorRunner(web.AppRunner):
    """An AppRunner whose server speaks JSON errors. Request bodies are passed on as sent (no decompression of
    `Content-Encoding: gzip`): the Functions host hands the worker the raw bytes too."""

    def __init__(self, app: web.Application, headers_timeout: float, **kwargs):
        super().__init__(app, auto_decompress=False, **kwargs)
        self._headers_timeout = headers_timeout

    async def _make_server(self) -> web.Server:
        built = await super()._make_server()
        return JsonErrorServer(built.request_handler, request_factory=built.request_factory,
                               handler_cancellation=built.handler_cancellation, loop=built._loop,
                               headers_timeout=self._headers_timeout, **built._kwargs)


async def read_body(request: web.Request, limit: int) -> bytes:
    """The body, or web.HTTPException subclasses the caller turns into JSON: 413 over `limit`, 408 when it
    arrives slower than MIN_BODY_BYTES_PER_SECOND after BODY_GRACE_SECONDS."""
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    loop = asyncio.get_running_loop()
    started, chunks, size = loop.time(), [], 0
    while True:
        allowed = started + BODY_GRACE_SECONDS + size / MIN_BODY_BYTES_PER_SECOND
        try:
            chunk = await asyncio.wait_for(request.content.readany(), timeout=max(allowed - loop.time(), 0.01))
        except asyncio.TimeoutError:
            raise web.HTTPRequestTimeout() from None
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=size)
        chunks.append(chunk)
