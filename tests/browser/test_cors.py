"""CORS from local.settings.json's Host section, applied as `func start` applies it (ASP.NET Core's CORS
middleware with any header and any method): preflights answered 204 by the host on any path, headers only for
allowed origins, no exposed response headers; checked over HTTP and from a page on another origin in Chromium."""
from __future__ import annotations

import functools
import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from commands.screenshots import DESKTOP, chromium
from tests.integration.localhost import ROOT, LocalHostProcess

OTHER_ALLOWED = "https://shop.example"


@pytest.fixture(scope="module")
def page_origin(tmp_path_factory):
    """A plain static server on another port: another origin than the API's."""
    folder = tmp_path_factory.mktemp("other-origin")
    (folder / "index.html").write_text("<!doctype html><title>other origin</title><link rel=icon href='data:,'>")
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def write_settings(folder, host_section: dict) -> None:
    (folder / "local.settings.json").write_text(json.dumps({"IsEncrypted": False, "Values": {}, "Host": host_section}))


@pytest.fixture(scope="module")
def api(tmp_path_factory, page_origin):
    folder = tmp_path_factory.mktemp("cors-api")
    write_settings(folder, {"CORS": f"{page_origin},{OTHER_ALLOWED.upper()}", "CORSCredentials": True})
    host = LocalHostProcess(str(folder / "store.sqlite3"), args=("--quiet",), cwd=str(folder)).start()
    yield host
    host.stop()


def raw(host, method: str, path: str, headers: dict):
    request = urllib.request.Request(host.base + path, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_a_preflight_is_answered_by_the_host_without_running_a_function(api, page_origin):
    status, headers, body = raw(api, "OPTIONS", "/api/orders", {
        "Origin": page_origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert status == 204 and body == b""
    assert headers["Access-Control-Allow-Origin"] == page_origin
    assert headers["Access-Control-Allow-Methods"] == "POST"
    assert headers["Access-Control-Allow-Headers"] == "authorization,content-type"
    assert headers["Access-Control-Allow-Credentials"] == "true"
    assert headers["Vary"] == "Origin"   # several origins are listed
    assert "X-Worker-Pid" not in headers   # the functions part of the host never saw it


def test_a_preflight_on_a_path_no_function_serves_is_still_204(api, page_origin):
    status, headers, _ = raw(api, "OPTIONS", "/api/no/such/route", {
        "Origin": page_origin, "Access-Control-Request-Method": "DELETE"})
    assert status == 204 and headers["Access-Control-Allow-Methods"] == "DELETE"


def test_an_origin_not_listed_gets_no_cors_headers(api):
    status, headers, _ = raw(api, "OPTIONS", "/api/orders", {
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert status == 204 and "Access-Control-Allow-Origin" not in headers
    status, headers, _ = raw(api, "GET", "/api/health", {"Origin": "https://evil.example"})
    assert status == 200 and "Access-Control-Allow-Origin" not in headers


def test_configured_origins_are_lower_cased_request_origins_compared_exactly(api):
    _, headers, _ = raw(api, "GET", "/api/health", {"Origin": OTHER_ALLOWED})
    assert headers["Access-Control-Allow-Origin"] == OTHER_ALLOWED
    _, headers, _ = raw(api, "GET", "/api/health", {"Origin": OTHER_ALLOWED.upper()})
    assert "Access-Control-Allow-Origin" not in headers


def test_an_actual_request_gets_the_origin_and_exposes_no_headers(api, page_origin):
    status, headers, _ = raw(api, "GET", "/api/health", {"Origin": page_origin})
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == page_origin
    assert headers["Access-Control-Allow-Credentials"] == "true"
    assert "Access-Control-Expose-Headers" not in headers
    status, headers, _ = raw(api, "GET", "/api/health", {})
    assert status == 200 and "Access-Control-Allow-Origin" not in headers   # no Origin: untouched


def test_without_cors_settings_the_host_adds_no_cors_headers(shop, page_origin):
    status, headers, _ = raw(shop, "OPTIONS", "/api/orders", {
        "Origin": page_origin, "Access-Control-Request-Method": "POST"})
    assert status != 204 and "Access-Control-Allow-Origin" not in headers


def test_a_wildcard_origin_with_credentials_stops_the_host_at_start(tmp_path):
    write_settings(tmp_path, {"CORS": "*", "CORSCredentials": True})
    result = subprocess.run([sys.executable, f"{ROOT}/manage.py", "serve", "--port", "0"], cwd=tmp_path,
                            env={"PATH": "/usr/bin:/bin", "SQLITE_PATH": str(tmp_path / "s.sqlite3")},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "configuration error: Host.CORS '*' together with Host.CORSCredentials true is refused: the CORS protocol "
        "does not allow a wildcard origin with credentials"]


def test_a_page_on_another_origin_calls_the_api_as_a_browser_would(api, page_origin, tmp_path):
    script = """async (base) => {
        const response = await fetch(base + '/api/health', {headers: {Authorization: 'Bearer x', 'X-Probe': '1'}});
        return {status: response.status, body: await response.json(), pid: response.headers.get('X-Worker-Pid')};
    }"""
    with chromium(str(tmp_path / "profile"), DESKTOP) as context:
        page = context.new_page()
        page.goto(page_origin + "/")
        result = page.evaluate(script, api.base)
        assert result["status"] == 200 and result["body"]["status"] == "ok"
        assert result["pid"] is None   # not exposed: a script on another origin cannot read custom headers
        page.goto(api.base + "/config.json")   # the same call from the API's own origin reads it
        assert page.evaluate(script, api.base)["pid"]


def test_a_page_on_an_origin_not_listed_is_refused_by_the_browser(shop, page_origin, tmp_path):
    with chromium(str(tmp_path / "profile"), DESKTOP) as context:
        page = context.new_page()
        page.goto(page_origin + "/")
        outcome = page.evaluate("""async (base) => {
            try { await fetch(base + '/api/health'); return 'read'; } catch (error) { return error.name; }
        }""", shop.base)
        assert outcome == "TypeError"
