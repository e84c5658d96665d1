"""The storefront's optional sections follow the routes the app has and the pages can reach without a key:
"Trending now" appears for an anonymous trending route, "Bought together" stays out (and is never requested) for
a route that needs the function key."""
from __future__ import annotations

import json
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SHOPPER_ENV
from tests.browser.test_storefront import sign_in
from tests.integration.localhost import LocalHostProcess


@pytest.fixture(scope="module")
def shop_with_extras(tmp_path_factory):
    folder = tmp_path_factory.mktemp("extras")
    host = LocalHostProcess(str(folder / "store.sqlite3"), SHOPPER_ENV, cwd=str(folder),
                            args=("--demo", "--quiet", "--app", "tests.browser.feature_app:app")).start(timeout=180)
    yield host
    host.stop()


def test_config_lists_only_the_routes_reachable_without_a_key(shop_with_extras):
    with urllib.request.urlopen(shop_with_extras.base + "/config.json") as response:
        assert json.load(response)["features"] == {"trending": True, "boughtTogether": False}


def test_trending_shows_and_bought_together_is_never_asked_for(shop_with_extras, page):
    asked = []
    page.on("request", lambda request: "/bought-together" in request.url and asked.append(request.url))
    sign_in(page, shop_with_extras.base, "demo-user-0003")
    expect(page.get_by_test_id("trending").locator(".card")).to_have_count(8)
    page.locator("[data-testid=trending] .card a.card-link").first.click()
    expect(page.get_by_test_id("similar")).to_be_visible()
    expect(page.get_by_test_id("bought-together")).to_have_count(0)
    assert asked == []
