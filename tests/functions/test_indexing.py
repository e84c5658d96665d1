"""Does what the Python worker does: import function_app, find the one FunctionApp, get_functions() once."""
import functools
import importlib
import os
import subprocess
import sys

import azure.functions as func

from commands.serve import route_prefix
from devhost import validation

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

EXPECTED_HTTP = {
    "health": ("health", {"GET"}, "ANONYMOUS"),
    "create_order": ("orders", {"POST"}, "FUNCTION"),
    "list_user_orders": ("users/{user_id}/orders", {"GET"}, "FUNCTION"),
    "get_user_order": ("users/{user_id}/orders/{order_id}", {"GET"}, "FUNCTION"),
}


@functools.lru_cache(maxsize=None)
def indexed() -> tuple:
    """get_functions() once per process: a second call on one app raises (library bug)."""
    module = importlib.import_module("function_app")
    apps = [value for value in vars(module).values() if isinstance(value, func.FunctionApp)]
    assert len(apps) == 1, "the worker needs exactly one FunctionApp"
    return tuple(apps[0].get_functions())


def index_functions():
    return {function.get_function_name(): function for function in indexed()}


def test_http_functions_have_expected_routes_methods_and_auth():
    functions = index_functions()
    for name, (route, methods, level) in EXPECTED_HTTP.items():
        trigger = functions[name].get_trigger()
        assert trigger.route == route
        assert {str(getattr(m, "value", m)) for m in trigger.methods} == methods
        assert str(getattr(trigger.auth_level, "value", trigger.auth_level)).upper() == level
        # A route parameter declared as a function argument breaks indexing in Azure.
        assert list(functions[name].get_user_function().__code__.co_varnames[:1]) == ["req"]
        assert functions[name].get_function_json()


def test_import_reads_no_settings_and_opens_nothing():
    """A broken setting must not break indexing: import with a nonsense configuration in a fresh process."""
    env = dict(os.environ, STORE_BACKEND="nonsense", COSMOS_CONSISTENCY_LEVEL="bogus", SQLITE_PATH="/proc/nope/x")
    code = ("import function_app, azure.functions as f;"
            "print(len(function_app.app.get_functions()))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) >= len(EXPECTED_HTTP)


def test_no_route_the_functions_host_would_refuse():
    functions = indexed()
    http = [function for function in functions if function.get_trigger().type == "httpTrigger"]
    assert http, "the app has HTTP functions"
    for function in http:   # the host's own space, checked plainly as well as by the validator below
        route = (function.get_trigger().route or function.get_function_name()).strip("/").lower()
        assert not route.startswith(("admin", "runtime")), function.get_function_name()
    assert validation.check_worker(functions) == []
    assert validation.check_host(functions) == []
    assert validation.check_routes(functions, route_prefix(os.path.join(ROOT, "host.json"))) == []
