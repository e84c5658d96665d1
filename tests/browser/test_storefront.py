"""The storefront in a real browser against the real local host with demo data: sign-in with a token from the
host's development identity provider, cart, checkout, and recommendations that follow the order at once."""
from __future__ import annotations

import inspect
import json
import os
import random
import secrets
import urllib.request

from playwright.sync_api import expect

from commands.screenshots import PHONE, ROOT, chromium
from devhost.demo import demo_catalogue, demo_orders, load_demo
from tests.browser.conftest import ConsoleWatch

DEMO_SEED = inspect.signature(load_demo).parameters["seed"].default
RECOMMENDED_IDS = """() => Array.from(document.querySelectorAll('[data-testid=recommendations] [data-product-id].card'))
                         .map((card) => card.dataset.productId)"""


def sign_in(page, base: str, user_id: str) -> list[str]:
    """Sign in as `user_id`; the product ids "Recommended for you" shows then."""
    page.goto(base + "/")
    page.get_by_test_id("shopper").fill(user_id)
    page.get_by_test_id("sign-in").click()
    page.locator("[data-testid=recommendations] .card").first.wait_for()
    return page.evaluate(RECOMMENDED_IDS)


def config(base: str) -> dict:
    with urllib.request.urlopen(base + "/config.json") as response:
        return json.load(response)


def test_new_shopper_checks_out_and_recommendations_follow_within_two_seconds(shop, page):
    user_id = f"browser-{secrets.token_hex(4)}"
    before = sign_in(page, shop.base, user_id)
    # Nothing bought yet: the cold-start list (what trends now in the demo shop, else popularity).
    assert page.get_by_test_id("recommendations").get_attribute("data-strategy") in ("trending", "popular")
    bought = before[0]
    page.locator(f"[data-testid=recommendations] [data-testid=add-to-cart][data-product-id='{bought}']").click()
    expect(page.locator(f"[data-testid=cart] [data-product-id='{bought}']")).to_have_count(1)

    reads = []
    page.on("request", lambda request: f"/api/users/{user_id}/recommendations" in request.url and reads.append(request))
    with page.expect_response(lambda response: response.url.endswith("/api/orders")) as placed:
        page.get_by_test_id("checkout").click()
    assert placed.value.status == 201
    session_token = placed.value.headers["x-session-token"]
    # Within 2 s of the click, with no page reload: a different list, without the product just bought.
    page.wait_for_function(f"""() => {{
        const ids = ({RECOMMENDED_IDS})();
        return ids.length > 0 && !ids.includes({json.dumps(bought)}) && ids.join() !== {json.dumps(",".join(before))};
    }}""", timeout=2000)
    after = page.evaluate(RECOMMENDED_IDS)
    assert [request.headers.get("x-session-token") for request in reads] == [session_token]   # read your write
    assert bought not in after and after != before
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1   # still the first page load
    expect(page.get_by_test_id("cart").locator(".cart-line")).to_have_count(0)

    active = shop.request("GET", "/api/manage/models/active", key="test-admin-key")[1]["activeVersion"]
    footer = page.get_by_test_id("strategy")
    expect(footer).to_contain_text("personalized")
    expect(footer).to_contain_text(active)


def test_a_double_click_on_checkout_places_one_order(shop, page):
    sign_in(page, shop.base, f"browser-{secrets.token_hex(4)}")
    for button in page.locator("[data-testid=popular] [data-testid=add-to-cart]").all()[:2]:
        button.click()
    expect(page.get_by_test_id("cart").locator(".cart-line")).to_have_count(2)
    page.get_by_test_id("checkout").dblclick()
    expect(page.locator(".notice")).to_contain_text("is placed")
    page.get_by_role("link", name="Orders").click()
    orders = page.get_by_test_id("orders").locator("article.order")
    expect(orders).to_have_count(1)
    expect(orders.first.locator("li")).to_have_count(2)


def test_the_host_names_the_pages_at_start(shop):
    assert f"Storefront:   {shop.base}/   Operations dashboard: {shop.base}/manage/" in shop.log()


def test_optional_sections_follow_what_the_app_serves(shop, page):
    features = config(shop.base)["features"]
    sign_in(page, shop.base, "demo-user-0001")
    expect(page.get_by_test_id("popular").locator(".card")).to_have_count(8)
    expect(page.get_by_test_id("trending")).to_have_count(1 if features["trending"] else 0)
    first = page.locator("[data-testid=recommendations] .card a.card-link").first
    product_id = page.locator("[data-testid=recommendations] .card").first.get_attribute("data-product-id")
    first.click()
    expect(page.locator(f"section.product[data-product-id='{product_id}']")).to_be_visible()
    expect(page.get_by_test_id("similar").locator(".card").first).to_be_visible()
    expect(page.get_by_test_id("bought-together")).to_have_count(1 if features["boughtTogether"] else 0)
    expect(page.locator(f"section.product [data-testid=add-to-cart][data-product-id='{product_id}']")).to_be_enabled()


def test_a_demo_shopper_sees_their_order_history_with_catalogue_titles(shop, page):
    sign_in(page, shop.base, "demo-user-0001")
    page.get_by_role("link", name="Orders").click()
    orders = page.get_by_test_id("orders").locator("article.order")
    expect(orders.first).to_be_visible()
    first_line = orders.first.locator("li a").first
    product_id = first_line.get_attribute("href").rsplit("/", 1)[1]
    title = shop.request("GET", f"/api/products/{product_id}", key=None)[1]["title"]
    expect(first_line).to_have_text(title)


def test_the_demo_shoppers_offered_exist_in_the_demo_data():
    rng = random.Random(DEMO_SEED)   # as load_demo draws them
    shoppers = {order["userId"] for order in demo_orders(demo_catalogue(rng), rng)}
    with open(os.path.join(ROOT, "storefront", "config.json"), encoding="utf-8") as handle:
        offered = json.load(handle)["demoShoppers"]
    assert offered and set(offered) <= shoppers


def test_phone_width_has_no_sideways_scrolling(shop, tmp_path):
    with chromium(str(tmp_path / "phone-profile"), PHONE, is_mobile=True) as context:
        watch = ConsoleWatch()
        page = watch.watch(context.new_page())
        sign_in(page, shop.base, "demo-user-0002")
        page.get_by_test_id("popular").get_by_test_id("add-to-cart").first.click()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow}px wider than a phone screen"
        columns = page.evaluate("""getComputedStyle(document.querySelector('[data-testid=popular] .grid'))
                                   .gridTemplateColumns.split(' ').length""")
        assert columns == 2
        assert watch.problems == []
