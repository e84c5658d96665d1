"""The local host as a development identity provider (SHOPPER_AUTH=jwt, no SHOPPER_JWKS_URL), end to end through
`manage.py serve` with two worker processes: every process signs and accepts the same tokens; shoppers use their
own routes with only the token; the README's curl lines work exactly as written (but for the port)."""
import json
import os
import re
import subprocess
import urllib.request

import pytest

from tests.integration.localhost import ADMIN_KEY, ROOT, LocalHostProcess, wait_for


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    folder = tmp_path_factory.mktemp("identity-host")
    # The shopper settings `make run` gets from local.settings.sample.json.
    with open(os.path.join(ROOT, "local.settings.sample.json"), encoding="utf-8") as handle:
        shopper = {key: value for key, value in json.load(handle)["Values"].items() if key.startswith("SHOPPER_")}
    assert shopper["SHOPPER_AUTH"] == "jwt" and shopper["SHOPPER_JWKS_URL"] == ""
    process = LocalHostProcess(str(folder / "store.sqlite3"), {**shopper, "FUNCTIONS_WORKER_PROCESS_COUNT": "2"},
                               args=("--demo",))
    process.start(timeout=120)
    wait_for(lambda: "Admin key:" in process.log(), 60, "the banner: every process listens", process)
    yield process
    process.stop()


def token_for(host, user):
    status, body, headers = host.request("POST", "/.devhost/token", {"userId": user}, key=None)
    assert status == 200, body
    assert body["tokenType"] == "Bearer" and body["expiresIn"] == 3600 and body["userId"] == user
    return body["accessToken"], headers["X-Worker-Pid"]


def as_shopper(host, method, path, token, body=None):
    return host.request(method, path, body, key=None, headers={"Authorization": f"Bearer {token}"})


def test_a_shopper_uses_their_own_routes_with_only_a_token(host):
    token, _ = token_for(host, "local-alice")
    status, order, _ = as_shopper(host, "POST", "/api/orders", token,
                                  {"items": [{"productId": "P0001", "quantity": 1}]})
    assert status == 201 and order["userId"] == "local-alice"
    assert as_shopper(host, "GET", "/api/users/local-alice/orders", token)[0] == 200
    status, recommended, _ = as_shopper(host, "GET", "/api/users/local-alice/recommendations?k=3", token)
    assert status == 200 and recommended["strategy"] == "personalized"
    assert as_shopper(host, "GET", "/api/users/demo-user-0001/orders", token)[0] == 403
    assert host.request("GET", "/api/recommendations/popular?k=3", key=None)[0] == 200   # public read


def test_no_token_or_a_bad_one_is_401_and_the_function_key_is_no_substitute(host):
    for headers in ({}, {"Authorization": "Bearer nonsense"}):
        status, body, answered = host.request("GET", "/api/users/local-alice/orders", key=None, headers=headers)
        assert status == 401 and body["error"]["code"] == "unauthorized"
        assert answered["WWW-Authenticate"].startswith("Bearer")
    assert host.request("GET", "/api/users/local-alice/orders")[0] == 401   # only the function key
    assert host.request("GET", "/api/manage/training-runs", key=None)[0] == 401   # admin routes keep their key


def test_every_worker_process_accepts_every_processs_tokens(host):
    issued_by, accepted_by = set(), set()
    for attempt in range(80):
        token, issuer_pid = token_for(host, f"shopper-{attempt}")
        status, _, headers = as_shopper(host, "GET", f"/api/users/shopper-{attempt}/orders", token)
        assert status == 200
        issued_by.add(issuer_pid)
        if headers["X-Worker-Pid"] != issuer_pid:
            accepted_by.add(headers["X-Worker-Pid"])
        if len(issued_by) == 2 and accepted_by:
            break
    assert len(issued_by) == 2 and accepted_by, "the connections never reached both worker processes"


@pytest.mark.parametrize("body", [b"", b"{", b'{"userId": ""}', b'{"userId": "a/b"}', b'{"userId": 7}',
                                  b'{"userId": "a", "admin": true}', b"[]"])
def test_the_token_endpoint_answers_bad_input_with_a_json_400(host, body):
    status, answer, _ = host.request("POST", "/.devhost/token", body, key=None)
    assert status == 400 and answer["error"]["code"] == "validation_error"


def test_the_token_endpoint_refuses_other_methods_as_json(host):
    status, answer, headers = host.request("GET", "/.devhost/token", key=None)
    assert status == 405 and answer["error"]["code"] == "method_not_allowed" and headers["Allow"] == "POST"


def test_the_jwks_publishes_one_rsa_signing_key(host):
    with urllib.request.urlopen(host.base + "/.devhost/jwks.json", timeout=10) as response:
        keys = json.loads(response.read())["keys"]
    assert [(key["kty"], key["use"], key["alg"]) for key in keys] == [("RSA", "sig", "RS256")]
    assert "d" not in keys[0]   # the public half only


def test_the_banner_says_how_to_get_a_token(host):
    assert f"TOKEN=$(curl -s -H 'Accept: text/plain' -d '{{\"userId\": \"demo-user-0001\"}}' {host.base}/.devhost/token)" \
        in host.log()


def test_the_readme_curl_lines_work_as_written(host):
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        blocks = re.findall(r"```sh\n(.*?)```", handle.read(), re.S)
    block = next(text for text in blocks if "/.devhost/token" in text)
    script = block.replace("127.0.0.1:7071", f"127.0.0.1:{host.port}")
    result = subprocess.run(["bash", "-e", "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert '"error"' not in result.stdout, result.stdout
    assert '"status":"ok"' in result.stdout.replace(" ", "")
    assert '"userId":"new-shopper"' in result.stdout and '"strategy":"personalized"' in result.stdout


def test_a_shopper_deletes_and_exports_their_own_data_and_an_operator_anyones(host):
    token, _ = token_for(host, "leaving-shopper")
    assert as_shopper(host, "POST", "/api/orders", token, {"items": [{"productId": "P0002", "quantity": 1}]})[0] == 201
    status, exported, _ = as_shopper(host, "GET", "/api/users/leaving-shopper/export", token)
    assert status == 200 and len(exported["orders"]) == 1
    assert as_shopper(host, "GET", "/api/users/demo-user-0002/export", token)[0] == 403
    assert as_shopper(host, "DELETE", "/api/users/demo-user-0002", token)[0] == 403
    status, summary, _ = as_shopper(host, "DELETE", "/api/users/leaving-shopper", token)
    assert status == 200 and summary["deleted"]["orders"] == 1
    assert as_shopper(host, "GET", "/api/users/leaving-shopper/export", token)[1]["orders"] == []
    assert host.request("DELETE", "/api/manage/users/demo-user-0003")[0] == 401   # the function key is not enough
    status, summary, _ = host.request("DELETE", "/api/manage/users/demo-user-0003", key=ADMIN_KEY)
    assert status == 200 and summary["deleted"]["orders"] > 0
    status, exported, _ = host.request("GET", "/api/manage/users/demo-user-0003/export", key=ADMIN_KEY)
    assert status == 200 and exported["orders"] == [] and exported["userVector"] is None
