"""The contract checked against the real local host: schemathesis (CLI, in a subprocess) reads
GET /api/openapi.json from `manage.py serve --demo`, generates requests for every operation (examples, coverage,
fuzzing and stateful phases, bounded and seeded), authenticates with the test keys, and fails on any 5xx, any
status, content type, header or body that the document does not allow, and any stack trace in a body."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

import jsonschema_rs
import pytest

from tests.integration.localhost import ADMIN_KEY, FUNCTION_KEY, ROOT, LocalHostProcess, wait_for
from tests.integration.schemathesis_hooks import no_stack_trace

# ignored_auth: a request without (or with wrong) credentials is refused where the document asks for them;
# negative_data_rejection: what the document calls invalid is refused with a 4xx.
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance", "ignored_auth", "negative_data_rejection",
          "no_stack_trace")
REJECTIONS = (400, 401, 403, 404, 405, 406, 409, 413, 414, 415, 422, 428, 429, 431)
MAX_EXAMPLES = 30
SEED = 20261201
HOOKS = os.path.join(ROOT, "tests", "integration", "schemathesis_hooks.py")
EXAMPLE_USER = "demo-user-0000"   # the user_id example of functions/contract/parameters.py


def _shopper_settings(mode: str) -> dict:
    if mode == "key":
        return {"SHOPPER_AUTH": "key"}
    # jwt with the settings `make run` gets: no SHOPPER_JWKS_URL, so the local host is the identity provider.
    with open(os.path.join(ROOT, "local.settings.sample.json"), encoding="utf-8") as handle:
        values = json.load(handle)["Values"]
    return {**{key: value for key, value in values.items() if key.startswith("SHOPPER_")}, "SHOPPER_AUTH": mode}


@pytest.fixture(scope="module", params=["key", "jwt"])
def demo_host(request, tmp_path_factory):
    """The demo shop, once per SHOPPER_AUTH mode that changes what the routes accept: `key` (function key) and
    `jwt` (shopper routes take only a bearer token, public reads no key at all)."""
    path = tmp_path_factory.mktemp(f"schemathesis-{request.param}") / "store.sqlite3"
    # No retraining by the change feed or the timer during the run: a failure is reproducible with its seed.
    settings = {"RETRAIN_MIN_NEW_ORDERS": "0", "RECONCILE_SCHEDULE": "0 0 0 1 1 *",
                **_shopper_settings(request.param)}
    process = LocalHostProcess(str(path), settings, args=("--demo", "--quiet")).start(timeout=180)
    process.mode = request.param
    yield process
    process.stop()


def _config(host, tmp_path) -> str:
    """Credentials per security scheme of the document: the function key for function-level routes, the admin key
    for admin routes, and in jwt mode a token of the demo shopper whose id the document's examples use."""
    lines = [f'[auth.openapi.adminKey]\napi_key = "{ADMIN_KEY}"']
    if host.mode == "key":
        lines.append(f'[auth.openapi.functionKey]\napi_key = "{FUNCTION_KEY}"')
    else:
        status, body, _ = host.request("POST", "/.devhost/token", {"userId": EXAMPLE_USER}, key=None)
        assert status == 200, body
        lines.append(f'[auth.openapi.shopperBearer]\nbearer = "{body["accessToken"]}"')
    # A request the host refuses for its size (body, URL, headers) is rejected too, by the host before the function.
    lines.append("[checks.negative_data_rejection]\nexpected-statuses = [" +
                 ", ".join(str(status) for status in REJECTIONS) + "]")
    path = tmp_path / "schemathesis.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _operations(base: str) -> int:
    with urllib.request.urlopen(base + "/api/openapi.json", timeout=30) as response:
        document = json.load(response)
    # Schemathesis leaves out the operation that serves the schema it loaded (tests/functions covers that one).
    return sum(len(methods) for path, methods in document["paths"].items() if path != "/openapi.json")


def _readable(output: str) -> str:
    """The run's report without the kilobytes-long reproduction URLs fuzzing produces."""
    return "\n".join(line if len(line) < 400 else line[:400] + " ..." for line in output.splitlines())


def test_the_local_host_keeps_its_contract(demo_host, tmp_path):
    marker = tmp_path / "checked"
    env = dict(os.environ, SCHEMATHESIS_HOOKS=HOOKS, NO_STACK_TRACE_MARKER=str(marker))
    command = [os.path.join(os.path.dirname(sys.executable), "schemathesis"), "--no-color",
               "--config-file", _config(demo_host, tmp_path), "run", f"{demo_host.base}/api/openapi.json",
               "--url", f"{demo_host.base}/api", "--checks", ",".join(CHECKS), "--max-examples", str(MAX_EXAMPLES),
               "--seed", str(SEED), "--workers", "1", "--request-timeout", "30"]
    result = subprocess.run(command, cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=600)
    report = _readable(result.stdout + result.stderr)
    assert result.returncode == 0, f"schemathesis found failures:\n{report[-20000:]}\n--- host log ---\n" \
                                   f"{demo_host.log()[-6000:]}"
    operations = _operations(demo_host.base)
    assert f"Selected: {operations}/{operations}" in report and f"Tested: {operations}" in report, report[-3000:]
    assert marker.exists(), "the stack trace check never ran"


class _Response:
    def __init__(self, body: str):
        self.content = body.encode()


class _Case:
    path_parameters = {"product_id": "KeyError"}
    query = headers = body = None


@pytest.mark.parametrize("body", [
    '{"error": {"code": "internal_error", "message": "Traceback (most recent call last):\\n  File \\"x.py\\", '
    'line 3, in f", "details": null}}',
    '{"error": {"code": "validation_error", "message": "bad", "details": {"reason": "ValueError: nope"}}}',
    'Traceback (most recent call last):',
])
def test_the_stack_trace_check_fails_on_a_trace(body):
    with pytest.raises(AssertionError):
        no_stack_trace(None, _Response(body), _Case())


def test_the_stack_trace_check_passes_clean_errors_and_echoed_ids():
    no_stack_trace(None, _Response('{"error": {"code": "not_found", "message": "product \'KeyError\' is not in the '
                                   'active model", "details": null}}'), _Case())
    no_stack_trace(None, _Response('{"error": {"code": "validation_error", "message": "the body is not valid JSON",'
                                   ' "details": {"reason": "Expecting value: line 1 column 1 (char 0)"}}}'), _Case())


def test_training_runs_route_answers_training_requests_only(demo_host):
    """The trainingRuns container also holds the request ledger and the new-order counter: GET
    /api/manage/training-runs/{run_id} must not serve them as if they were training requests."""
    order = {"userId": EXAMPLE_USER, "items": [{"productId": "P0001", "quantity": 1}]}
    if demo_host.mode == "key":
        status, body, _ = demo_host.request("POST", "/api/orders", order)
    else:
        token = demo_host.request("POST", "/.devhost/token", {"userId": EXAMPLE_USER}, key=None)[1]["accessToken"]
        status, body, _ = demo_host.request("POST", "/api/orders", order, key=None,
                                            headers={"Authorization": f"Bearer {token}"})
    assert status == 201, body
    status, run, _ = demo_host.request("POST", "/api/manage/training-runs", key=ADMIN_KEY)
    assert status in (202, 409), run
    wait_for(lambda: demo_host.request("GET", "/api/manage/training-runs", key=ADMIN_KEY)[1]["items"], 30,
             "a training request is listed", demo_host)
    for internal in ("requests-ledger", "new-orders"):
        status, body, _ = demo_host.request("GET", f"/api/manage/training-runs/{internal}", key=ADMIN_KEY)
        assert status == 404 and body["error"]["code"] == "not_found", (internal, body)


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/api/products/P0001%0A", 400),        # reaches the function, which refuses the id
    ("DELETE", "/api/manage/rules/a%0Ab", 404),    # reaches the function: no such rule
    ("GET", "/api/manage/rules/a%0Db", 404),
    ("GET", "/api/health%0A", 404),                # `health` + newline is another path, served by no function
])
def test_a_newline_in_the_path_is_a_character_of_it(demo_host, method, path, status):
    """Found by schemathesis: the local host answered a path holding a decoded newline with aiohttp's plain-text
    404. Kestrel decodes %0A in the path to a newline, and ASP.NET routing matches a parameter on any characters
    but '/', so the function decides; a literal segment never matches with a newline after it."""
    code, body, headers = demo_host.request(method, path, key=ADMIN_KEY)
    assert code == status, body
    assert headers["Content-Type"].startswith("application/json") and body["error"]["code"], body


def _shopper_get(host, path: str):
    if host.mode == "key":
        return host.request("GET", path)
    token = host.request("POST", "/.devhost/token", {"userId": EXAMPLE_USER}, key=None)[1]["accessToken"]
    return host.request("GET", path, key=None, headers={"Authorization": f"Bearer {token}"})


def test_explained_recommendations_and_rules_have_the_documented_shapes(demo_host):
    """The `because` of every kind the demo shop gives (history, rule) and the rule routes' bodies, validated
    against the document the host serves, so the schemas describe what the code really returns."""
    status, document, _ = demo_host.request("GET", "/api/openapi.json", key=None)
    assert status == 200

    def check(name: str, body: dict) -> None:
        validator = jsonschema_rs.validator_for({**document["components"]["schemas"][name],
                                                 "components": document["components"]})
        errors = [error.message for error in validator.iter_errors(body)]
        assert not errors, (name, errors, body)

    path = f"/api/users/{EXAMPLE_USER}/recommendations?explain=true&k=20"
    status, before, _ = _shopper_get(demo_host, path)
    assert status == 200 and len(before["items"]) > 1, before
    # The list's last item pinned first: a product the list may show (not bought, in stock).
    rule = {"action": "pin", "products": [before["items"][-1]["productId"]], "position": 1, "lists": ["personalized"]}
    status, stored, _ = demo_host.request("PUT", "/api/manage/rules/contract-pin", rule, key=ADMIN_KEY)
    assert status in (200, 201), stored
    check("Rule", stored)
    try:
        status, listed, _ = demo_host.request("GET", "/api/manage/rules", key=ADMIN_KEY)
        assert status == 200 and stored in listed["items"]
        check("RuleList", listed)
        status, body, _ = _shopper_get(demo_host, path)
        assert status == 200 and body["strategy"] == "personalized", body
        check("UserRecommendations", body)
        kinds = {item["because"]["kind"] for item in body["items"]}
        assert body["items"][0]["because"] == {"kind": "rule", "ruleId": "contract-pin"}, body["items"][0]
        assert "history" in kinds, kinds
    finally:
        status, _, _ = demo_host.request("DELETE", "/api/manage/rules/contract-pin", key=ADMIN_KEY)
        assert status == 204
    for path, name in (("/api/recommendations/trending", "TrendingProducts"),
                       ("/api/products/P0001/bought-together", "BoughtTogether")):
        status, body, _ = _shopper_get(demo_host, path)
        assert status == 200, (path, body)
        check(name, body)
