"""What the worker indexes in each SHOPPER_AUTH mode, each in a fresh process (get_functions() once per process):
the Functions host checks keys before a function runs, so routes a browser calls without a key must be ANONYMOUS."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHOPPER_ROUTES = {"create_order", "list_user_orders", "get_user_order", "user_recommendations", "delete_user",
                  "export_user"}
PUBLIC_READS = {"get_product", "similar_products", "popular_products", "trending_products", "bought_together"}
INDEX = ("import json, function_app;"
         "print(json.dumps({f.get_function_name(): str(getattr(f.get_trigger().auth_level, 'value', "
         "f.get_trigger().auth_level)).upper() for f in function_app.app.get_functions() "
         "if f.get_trigger().type == 'httpTrigger'}))")


def indexed(mode: str | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "SHOPPER_AUTH"}
    if mode is not None:
        env["SHOPPER_AUTH"] = mode
    result = subprocess.run([sys.executable, "-c", INDEX], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("mode", [None, "key"])
def test_key_mode_needs_the_function_key_everywhere(mode):
    levels = indexed(mode)
    assert {levels[name] for name in SHOPPER_ROUTES | PUBLIC_READS} == {"FUNCTION"}
    assert levels["health"] == levels["openapi"] == "ANONYMOUS"


@pytest.mark.parametrize("mode", ["jwt", "easyauth"])
def test_verified_modes_open_shopper_routes_and_public_reads_to_the_function_check(mode):
    levels = indexed(mode)
    assert {levels[name] for name in SHOPPER_ROUTES | PUBLIC_READS} == {"ANONYMOUS"}
    admin = {name for name, level in levels.items() if level == "ADMIN"}
    assert {"put_product", "start_training_run", "set_active_model", "manage_delete_user",
            "manage_export_user"} <= admin
    others = set(levels) - SHOPPER_ROUTES - PUBLIC_READS - admin - {"health", "openapi"}   # always anonymous
    assert others == set(), f"routes neither shopper, public nor admin: {others}"


def test_a_verified_mode_never_runs_unchecked_when_the_setting_changes_to_key():
    """Indexed anonymous under SHOPPER_AUTH=jwt, then asked with settings that say key: refused, not opened."""
    code = ("import asyncio, json, os, azure.functions as func;"
            "from functions.orders import list_user_orders;"
            "os.environ['SHOPPER_AUTH'] = 'key';"
            "r = list_user_orders(func.HttpRequest('GET', '/api/users/u/orders', route_params={'user_id': 'u'},"
            " body=b''));"
            "print(r.status_code, json.loads(r.get_body())['error']['code'])")
    env = dict(os.environ, SHOPPER_AUTH="jwt", SQLITE_PATH=os.devnull + "-unused")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["500", "configuration_error"]
