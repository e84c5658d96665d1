"""Parsing Host.CORS as Core Tools does (split on commas, empty entries dropped, no trimming) and the headers
ASP.NET Core's CorsService picks for a `*` policy; the HTTP behaviour is in tests/browser/test_cors.py."""
import json

import pytest
from aiohttp.test_utils import make_mocked_request

from devhost.cors import CorsPolicy, load_policy
from shared.domain.errors import ConfigurationError


def request(method: str, headers: dict):
    return make_mocked_request(method, "/api/health", headers=headers)


def test_no_value_or_only_commas_is_no_policy():
    assert CorsPolicy.parse(None) is None
    assert CorsPolicy.parse("") is None
    assert CorsPolicy.parse(",,") is None


def test_entries_are_split_on_commas_lower_cased_and_not_trimmed():
    policy = CorsPolicy.parse("https://A.example,, https://b.example")
    assert policy.origins == ("https://a.example", " https://b.example")
    assert policy.allows("https://a.example")
    assert not policy.allows("https://b.example")   # " https://b.example" never matches a real Origin


def test_a_wildcard_policy_answers_any_origin_with_a_star_and_no_vary():
    policy = CorsPolicy.parse("*")
    headers = policy.headers_for(request("GET", {"Origin": "https://anyone.example"}), preflight=False)
    assert headers == {"Access-Control-Allow-Origin": "*"}


def test_one_listed_origin_is_echoed_without_vary():
    policy = CorsPolicy.parse("https://shop.example")
    headers = policy.headers_for(request("GET", {"Origin": "https://shop.example"}), preflight=False)
    assert headers == {"Access-Control-Allow-Origin": "https://shop.example"}


def test_a_wildcard_with_credentials_is_a_configuration_error():
    with pytest.raises(ConfigurationError):
        CorsPolicy.parse("https://a.example,*", credentials=True)


@pytest.mark.parametrize("host, message", [
    ({"CORS": ["https://a.example"]}, "Host.CORS"),
    ({"CORS": "https://a.example", "CORSCredentials": "yes"}, "Host.CORSCredentials"),
])
def test_local_settings_of_the_wrong_type_are_refused(tmp_path, host, message):
    path = tmp_path / "local.settings.json"
    path.write_text(json.dumps({"Values": {}, "Host": host}))
    with pytest.raises(ConfigurationError, match=message):
        load_policy(str(path))


def test_no_file_or_no_host_section_is_no_policy(tmp_path):
    assert load_policy(str(tmp_path / "missing.json")) is None
    path = tmp_path / "local.settings.json"
    path.write_text(json.dumps({"Values": {}}))
    assert load_policy(str(path)) is None
