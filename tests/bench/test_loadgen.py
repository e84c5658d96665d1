"""bench.loadgen against a tiny in-process aiohttp server: every request gets exactly its own response."""
from __future__ import annotations

import asyncio
import collections
import json
import socket
import threading

import pytest
from aiohttp import web

from bench.common import http_load
from bench.loadgen import load, parse_response

KEY = "test-key"


@pytest.fixture(scope="module")
def server():
    """Base URL of an aiohttp app on a free port in a background thread, and the paths it has seen."""
    seen: list[str] = []

    @web.middleware
    async def record(request, handler):
        assert request.headers["x-functions-key"] == KEY and request.headers["Content-Type"] == "application/json"
        seen.append(request.method + " " + request.path_qs)
        return await handler(request)

    async def ok(request):
        return web.json_response({"id": request.match_info["id"]})

    async def echo(request):
        body = await request.read()
        return web.json_response({"n": json.loads(body)["n"], "length": len(body)}, status=201)  # 500 if garbled

    async def close(request):
        response = web.json_response({"id": request.match_info["id"]})
        response.force_close()   # sends `Connection: close`; the client must reconnect
        return response

    async def chunked(request):
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for part in (b'{"parts": [', b'"a", ', b'"b"]}'):
            await response.write(part)
        await response.write_eof()
        return response

    async def slow(request):
        await asyncio.sleep(0.05)
        return web.json_response({})

    app = web.Application(middlewares=[record])
    app.add_routes([web.get("/ok/{id}", ok), web.post("/echo", echo), web.get("/close/{id}", close),
                    web.get("/chunked/{id}", chunked), web.get("/slow/{id}", slow)])
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", seen
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_mixed_requests_each_get_their_own_response(server):
    base, seen = server
    seen.clear()
    requests = []
    for number in range(150):
        requests += [("GET", f"/ok/{number}", None), ("GET", f"/missing/{number}", None),
                     ("POST", "/echo", json.dumps({"n": number, "pad": "x" * number}).encode()),
                     ("GET", f"/close/{number}", None), ("GET", f"/chunked/{number}", None)]
    result = http_load(base, requests, concurrency=8, key=KEY)
    assert result["statuses"] == {200: 450, 404: 150, 201: 150}
    assert result["count"] == len(requests) and result["per_second"] > 0
    # The server saw each request exactly once: nothing lost, duplicated or merged.
    assert collections.Counter(seen) == collections.Counter(f"{method} {path}" for method, path, _ in requests)


def test_latency_spans_the_whole_response(server):
    base, _ = server
    result = http_load(base, [("GET", f"/slow/{n}", None) for n in range(8)], concurrency=4, key=KEY)
    assert result["statuses"] == {200: 8} and result["p50_ms"] >= 50


def test_connection_refused_raises():
    with socket.socket() as sock:   # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(OSError):
        http_load(f"http://127.0.0.1:{port}", [("GET", "/", None)], concurrency=2, key=KEY)


def test_silent_server_times_out_instead_of_hanging():
    with socket.socket() as sock:   # the kernel completes the handshake, nobody ever answers
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with pytest.raises(TimeoutError):
            asyncio.run(load(base, [("GET", "/", None)] * 4, 2, KEY, timeout=0.3))


def test_server_closing_mid_request_raises():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)

        def hang_up():
            for _ in range(2):
                connection, _ = sock.accept()
                connection.recv(1024)
                connection.close()
        threading.Thread(target=hang_up, daemon=True).start()
        with pytest.raises(ConnectionError):
            asyncio.run(load(f"http://127.0.0.1:{sock.getsockname()[1]}", [("GET", "/", None)] * 4, 2, KEY,
                             timeout=5))


def test_parser_waits_for_complete_responses():
    response = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
    for cut in range(len(response)):
        assert parse_response(bytearray(response[:cut])) is None
    assert parse_response(bytearray(response)) == (200, len(response), True)
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
               b"3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n")   # one chunk, then a trailer
    for cut in range(len(chunked)):
        assert parse_response(bytearray(chunked[:cut])) is None
    assert parse_response(bytearray(chunked)) == (200, len(chunked), False)
    assert parse_response(bytearray(b"HTTP/1.1 204 No Content\r\n\r\n")) == (204, 27, True)
    with pytest.raises(ValueError):
        parse_response(bytearray(b"HTTP/1.1 200 OK\r\n\r\nuntil close"))
