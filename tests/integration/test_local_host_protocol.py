"""The local host's own answers over a raw socket (issue 13, point 4): requests aiohttp would refuse in plain text
get the JSON error shape; slow clients are cut with 408; bodies pass on as sent; a repeated query key reaches the
function as the Functions host passes it (values joined with commas)."""
import base64
import gzip
import json
import socket

import pytest

from tests.integration.localhost import LocalHostProcess

SECRET = "key-from-the-environment-0123"


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    folder = tmp_path_factory.mktemp("protocol")
    process = LocalHostProcess(str(folder / "store.sqlite3"), {"LOCAL_REQUEST_HEADERS_TIMEOUT_SECONDS": "1",
                                                               "LOCAL_FUNCTION_KEY": SECRET,
                                                               "LOCAL_ADMIN_KEY": None},
                               args=("--app", "tests.integration.echo_app")).start()
    yield process
    process.stop()


def exchange(host, raw: bytes, then_wait: bool = False) -> tuple[int, dict, bytes]:
    """Send `raw`, read until the server closes (or one response when it keeps the connection)."""
    with socket.create_connection(("127.0.0.1", host.port), timeout=30) as sock:
        sock.sendall(raw)
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
            head, _, rest = data.partition(b"\r\n\r\n")
            length = [int(line.split(b":")[1]) for line in head.split(b"\r\n") if
                      line.lower().startswith(b"content-length:")]
            if length and len(rest) >= length[0] and not then_wait:
                break
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def json_error(host, raw: bytes, status: int, code: str | None = None) -> dict:
    got, headers, body = exchange(host, raw)
    assert got == status, body
    assert headers["content-type"].startswith("application/json")
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message", "details"} and "Traceback" not in body.decode()
    if code:
        assert error["code"] == code
    return error


def test_a_malformed_request_line_is_a_json_400(host):
    json_error(host, b"GARBAGE\r\n\r\n", 400, "bad_request")
    json_error(host, b"GET /api/echo HTTP/9.9\r\nHost: x\r\n\r\n", 400, "bad_request")


def test_an_unknown_method_is_a_json_400_and_a_wrong_one_a_json_405(host):
    json_error(host, b"G(T /api/echo HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request")
    json_error(host, b"FROB /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 400, "bad_request")
    json_error(host, b"DELETE /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405,
               "method_not_allowed")


def test_an_oversized_url_or_header_is_a_json_414_or_431(host):
    json_error(host, b"GET /api/echo?q=" + b"a" * 10000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long")
    json_error(host, b"GET /api/echo HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 10000 + b"\r\n\r\n", 431,
               "headers_too_large")
    many = b"".join(b"X-H%d: v\r\n" % n for n in range(300))
    error = json_error(host, b"GET /api/echo HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n", 431)
    assert error["code"] == "headers_too_large"


def test_a_body_over_the_host_limit_is_a_json_413_without_reading_it(host):
    json_error(host, b"POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 200000000\r\n\r\n{", 413,
               "payload_too_large")


def test_slow_headers_and_slow_bodies_get_a_json_408(host):
    json_error(host, b"GET /api/echo HTTP/1.1\r\nHost: x\r\n", 408, "request_timeout")
    json_error(host, b"POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\":", 408,
               "request_timeout")


def test_a_gzip_body_reaches_the_function_as_sent(host):
    packed = gzip.compress(b'{"a": 1}')
    for body in (packed, b"not gzip at all"):
        raw = (b"POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n"
               b"Connection: close\r\n\r\n" % len(body)) + body
        status, _, answer = exchange(host, raw)
        assert status == 200 and base64.b64decode(json.loads(answer)["body"]) == body


def test_a_repeated_query_key_reaches_the_function_joined_with_commas(host):
    raw = b"GET /api/echo?category=a&category=b&k=5&code=" + SECRET.encode() + b" HTTP/1.1\r\nHost: x\r\n" \
          b"Connection: close\r\n\r\n"
    status, _, answer = exchange(host, raw)
    assert status == 200 and json.loads(answer)["params"] == {"category": "a,b", "k": "5"}


def test_the_function_key_never_reaches_the_log(host):
    exchange(host, b"GET /api/echo?code=" + SECRET.encode() + b"&x=1 HTTP/1.1\r\nHost: x\r\nConnection: close"
                   b"\r\n\r\n")
    exchange(host, b"GET /api/echo?code=" + SECRET.encode() + b"a" * 10000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    log = host.log()
    assert "code=REDACTED" in log and SECRET not in log
    assert "Function key: (set by LOCAL_FUNCTION_KEY)" in log
    admin = [line for line in log.splitlines() if line.startswith("Admin key:")]
    assert len(admin) == 1 and "set by" not in admin[0]   # generated: printed once
