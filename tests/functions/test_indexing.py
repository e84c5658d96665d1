"""Does what the Python worker does: import function_app, find the one FunctionApp, get_functions() once."""
import importlib
import os
import subprocess
import sys

import azure.functions as func

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

EXPECTED_HTTP = {
    "health": ("health", {"GET"}, "ANONYMOUS"),
    "create_order": ("orders", {"POST"}, "FUNCTION"),
    "list_user_orders": ("users/{user_id}/orders", {"GET"}, "FUNCTION"),
    "get_user_order": ("users/{user_id}/orders/{order_id}", {"GET"}, "FUNCTION"),
}


def index_functions():
    module = importlib.import_module("function_app")
    apps = [value for value in vars(module).values() if isinstance(value, func.FunctionApp)]
    assert len(apps) == 1, "the worker needs exactly one FunctionApp"
    return {function.get_function_name(): function for function in apps[0].get_functions()}


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
