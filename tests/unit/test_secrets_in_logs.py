"""Keys stay out of logs and are compared in constant time (issue 13, point 6)."""
import logging

import azure.functions as func

from devhost.routing import authorized
from devhost.server import HostKeys
from functions.http import handles_errors, redact_url
from shared.config import Settings


def test_the_code_query_parameter_is_redacted_wherever_it_is():
    assert redact_url("/api/x?code=s3cret") == "/api/x?code=REDACTED"
    assert redact_url("https://h/api/x?a=1&code=s3cret&b=2") == "https://h/api/x?a=1&code=REDACTED&b=2"
    assert redact_url("/api/x?CODE=s3cret#f") == "/api/x?CODE=REDACTED#f"
    assert redact_url("/api/x?barcode=1") == "/api/x?barcode=1"


def test_a_failing_function_logs_its_url_without_the_key(caplog):
    @handles_errors
    def broken(req):
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="functions"):
        response = broken(func.HttpRequest("GET", "https://h/api/x?code=s3cret", body=b""))
    assert response.status_code == 500
    assert "s3cret" not in caplog.text and "code=REDACTED" in caplog.text


def test_keys_compare_as_bytes_so_any_presented_value_is_just_wrong():
    assert authorized("FUNCTION", "fk", "fk", "ak") and authorized("FUNCTION", "ak", "fk", "ak")
    assert authorized("ADMIN", "ak", "fk", "ak") and not authorized("ADMIN", "fk", "fk", "ak")
    for wrong in ("f", "fk ", "ｆｋ", "\ud800", "é" * 100):
        assert not authorized("FUNCTION", wrong, "fk", "ak")


def test_only_generated_keys_are_shown_at_start():
    keys = HostKeys.from_settings(Settings.from_env({"LOCAL_FUNCTION_KEY": "from-env"}))
    lines = keys.banner_lines()
    assert lines[0] == "Function key: (set by LOCAL_FUNCTION_KEY)" and "from-env" not in " ".join(lines)
    assert lines[1] == f"Admin key:    {keys.admin_key}" and len(keys.admin_key) > 20
