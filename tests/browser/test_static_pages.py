"""The local host serves the pages and their assets, and nothing else from the repository."""
from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit


def get(shop, path: str, method: str = "GET"):
    connection = http.client.HTTPConnection(urlsplit(shop.base).netloc, timeout=30)
    connection.request(method, path)   # sent as written: no client-side normalisation of ../ or %2F
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, response.headers, body


def test_the_pages_and_assets_are_served_with_their_types(shop):
    for path, kind in (("/", "text/html"), ("/manage/", "text/html"), ("/assets/app.js", "text/javascript"),
                       ("/assets/style.css", "text/css"), ("/assets/icon.svg", "image/svg+xml")):
        status, headers, body = get(shop, path)
        assert status == 200 and headers["Content-Type"].startswith(kind) and body, path
        assert headers["Cache-Control"] == "no-cache"


def test_manage_without_a_slash_redirects(shop):
    status, headers, _ = get(shop, "/manage")
    assert status == 301 and headers["Location"] == "/manage/"


def test_config_says_which_optional_routes_the_app_has(shop):
    status, _, body = get(shop, "/config.json")
    config = json.loads(body)
    assert status == 200 and set(config["features"]) == {"trending", "boughtTogether"}
    assert config["signIn"] == {"kind": "devhost", "tokenUrl": "/.devhost/token"}


def test_nothing_outside_the_pages_is_served(shop):
    for path in ("/assets/..", "/assets/..%2F..%2Fdevhost%2Fserver.py", "/assets/../../manage.py",
                 "/assets/missing.js", "/storefront/index.html", "/devhost/static.py", "/assets/%2e%2e"):
        status, headers, body = get(shop, path)
        assert status == 404, path
        assert headers["Content-Type"].startswith("application/json")
        assert json.loads(body)["error"]["code"] == "not_found"


def test_other_methods_on_a_page_reach_the_functions_routing(shop):
    status, _, body = get(shop, "/", method="POST")
    assert status == 404 and json.loads(body)["error"]["code"] == "not_found"
    status, _, body = get(shop, "/assets/app.js", method="HEAD")
    assert status == 200 and body == b""
