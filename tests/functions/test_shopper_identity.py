"""SHOPPER_AUTH at the functions: each mode, called with func.HttpRequest over a real SQLite store; in `jwt` mode
tokens signed with keys the test generates and verified against a JWKS a local HTTP server serves."""
import asyncio
import json

import azure.functions as func
import pytest

from functions.orders import create_order, get_user_order, list_user_orders
from functions.recommendations import user_recommendations
from shared import bootstrap
from shared.config import Settings
from tests.fakes.oidc_provider import OidcProvider


@pytest.fixture
def provider():
    server = OidcProvider()
    yield server
    server.close()


def use_mode(tmp_path, sqlite_store, **env):
    settings = Settings.from_env({"SQLITE_PATH": str(tmp_path / "store.sqlite3"), **env})
    bootstrap.override(settings=settings, store=sqlite_store)


@pytest.fixture
def jwt_mode(tmp_path, sqlite_store, provider):
    use_mode(tmp_path, sqlite_store, **provider.settings_env())
    yield provider
    bootstrap.reset()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def place(body, headers):
    return asyncio.run(create_order(func.HttpRequest("POST", "/api/orders", headers=headers,
                                                     body=json.dumps(body).encode())))


def orders_of(user, headers):
    return list_user_orders(func.HttpRequest("GET", f"/api/users/{user}/orders", headers=headers,
                                             route_params={"user_id": user}, body=b""))


def order_of(user, order_id, headers):
    return get_user_order(func.HttpRequest("GET", f"/api/users/{user}/orders/{order_id}", headers=headers,
                                           route_params={"user_id": user, "order_id": order_id}, body=b""))


def recommendations_of(user, headers):
    return asyncio.run(user_recommendations(func.HttpRequest(
        "GET", f"/api/users/{user}/recommendations", headers=headers, route_params={"user_id": user}, body=b"")))


ITEMS = [{"productId": "p1", "quantity": 1}]


def error_of(response):
    return json.loads(response.get_body())["error"]


def test_jwt_own_data_200_other_users_403(jwt_mode):
    alice, bob = bearer(jwt_mode.token("alice")), bearer(jwt_mode.token("bob"))
    assert place({"orderId": "a-1", "userId": "alice", "items": ITEMS}, alice).status_code == 201
    assert place({"orderId": "b-1", "userId": "bob", "items": ITEMS}, bob).status_code == 201
    listed = orders_of("alice", alice)
    assert listed.status_code == 200 and [o["orderId"] for o in json.loads(listed.get_body())["items"]] == ["a-1"]
    assert order_of("alice", "a-1", alice).status_code == 200
    assert recommendations_of("alice", alice).status_code == 200
    for response in (orders_of("bob", alice), order_of("bob", "b-1", alice), recommendations_of("bob", alice)):
        assert response.status_code == 403 and error_of(response)["code"] == "forbidden"


def test_jwt_an_order_belongs_to_the_token_user(jwt_mode):
    alice = bearer(jwt_mode.token("alice"))
    response = place({"orderId": "x-1", "items": ITEMS}, alice)   # no userId: the token's user
    assert response.status_code == 201 and json.loads(response.get_body())["userId"] == "alice"
    forged = place({"orderId": "x-2", "userId": "bob", "items": ITEMS}, alice)
    assert forged.status_code == 403
    assert orders_of("bob", bearer(jwt_mode.token("bob"))).get_body() == b'{"items":[],"continuationToken":null}'


@pytest.mark.parametrize("make_headers", [
    lambda p: {},
    lambda p: {"Authorization": "Basic YWxpY2U6eA=="},
    lambda p: {"Authorization": "Bearer "},
    lambda p: bearer("not-a-token"),
    lambda p: bearer(p.token("alice", exp=1)),
    lambda p: bearer(p.token("alice", iss="https://evil.example/")),
    lambda p: bearer(p.token("alice", header_kid="unknown")),
    lambda p: {"X-MS-CLIENT-PRINCIPAL-ID": "alice"},   # a header anyone can send is no proof in jwt mode
], ids=["none", "basic", "empty", "garbage", "expired", "foreign-issuer", "unknown-kid", "principal-header"])
def test_jwt_missing_or_bad_tokens_are_401_json_with_a_bearer_challenge(jwt_mode, make_headers):
    headers = make_headers(jwt_mode)
    for response in (orders_of("alice", headers), recommendations_of("alice", headers),
                     place({"userId": "alice", "items": ITEMS}, headers)):
        assert response.status_code == 401
        assert error_of(response)["code"] == "unauthorized" and error_of(response)["message"]
        assert response.headers["WWW-Authenticate"].startswith('Bearer realm="personalization"')


def test_jwt_an_unreachable_provider_is_503(jwt_mode):
    token = jwt_mode.token("alice")
    jwt_mode.down = True
    response = recommendations_of("alice", bearer(token))
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert error_of(response)["code"] == "unavailable"


def test_jwt_recommendations_fetch_keys_off_the_event_loop(jwt_mode):
    """The async route must not block its event loop on a JWKS fetch: it is done in a thread first."""
    assert recommendations_of("alice", bearer(jwt_mode.token("alice"))).status_code == 200
    assert jwt_mode.fetches == 1
    assert bootstrap.shopper_tokens().ready(jwt_mode.token("alice"))


def test_easyauth_requires_the_principal_and_only_their_own_data(tmp_path, sqlite_store):
    use_mode(tmp_path, sqlite_store, SHOPPER_AUTH="easyauth")
    try:
        alice = {"X-MS-CLIENT-PRINCIPAL-ID": "alice"}
        assert place({"userId": "alice", "items": ITEMS}, alice).status_code == 201
        assert orders_of("alice", alice).status_code == 200
        assert orders_of("bob", alice).status_code == 403
        missing = orders_of("alice", {})
        assert missing.status_code == 401 and missing.headers["WWW-Authenticate"]
        assert place({"userId": "bob", "items": ITEMS}, alice).status_code == 403
    finally:
        bootstrap.reset()


def test_key_mode_trusts_the_caller_and_honours_a_forwarded_principal(wired):
    assert place({"userId": "alice", "items": ITEMS}, {}).status_code == 201
    assert orders_of("alice", {}).status_code == 200   # a trusted backend with the function key
    assert orders_of("alice", {"X-MS-CLIENT-PRINCIPAL-ID": "bob"}).status_code == 403
    assert place({"userId": "alice", "items": ITEMS}, {"X-MS-CLIENT-PRINCIPAL-ID": "bob"}).status_code == 403


def test_jwt_without_its_settings_is_a_configuration_error_naming_them(tmp_path, sqlite_store):
    use_mode(tmp_path, sqlite_store, SHOPPER_AUTH="jwt")
    try:
        response = orders_of("alice", bearer("x.y.z"))
        assert response.status_code == 500
        assert "SHOPPER_JWKS_URL" in error_of(response)["message"]
    finally:
        bootstrap.reset()
