"""`manage.py serve` on a function app the Functions host would refuse: it stops, non-zero, with the host's message
and the function's name on one line, no traceback. The shipped app starts (the other integration tests)."""
import os
import subprocess
import sys

import pytest

from devhost import validation as rules
from tests.integration.localhost import ROOT, free_port


def serve(tmp_path, factory: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, SQLITE_PATH=str(tmp_path / "store.sqlite3"), PYTHONUNBUFFERED="1")
    command = [sys.executable, "manage.py", "serve", "--port", str(free_port()),
               "--app", f"tests.integration.invalid_apps:{factory}"]
    try:   # an app the host accepted would serve until stopped: that is a failure here
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"manage.py serve kept running on {factory}: {expired.stdout}")


@pytest.mark.parametrize("factory, function, message", [
    ("admin_route", "start_run", rules.BUILT_IN_ROUTES),
    ("runtime_route", "status", rules.BUILT_IN_ROUTES),
    ("administration_route", "reports", rules.BUILT_IN_ROUTES),
    ("duplicate_route", "list_orders_again", rules.ROUTE_CONFLICT.format("list_orders")),
    ("invalid_name", "get-order!", rules.INVALID_NAME.format("get-order!")),
    ("unparseable_route", "get_order", "There is an incomplete parameter in the route template."),
])
def test_serve_stops_on_an_app_the_host_refuses(tmp_path, factory, function, message):
    result = serve(tmp_path, factory)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"The '{function}' function is in error: ") and message in lines[0]
    assert "Traceback" not in result.stderr and "Local functions host on" not in result.stdout


def test_serve_stops_when_the_worker_cannot_index_the_app(tmp_path):
    result = serve(tmp_path, "route_parameter_argument")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        "Worker failed to index functions: cannot load the get_user function: the following parameters are "
        "declared in Python but not in function.json: {'user_id'}"]
