"""The operations dashboard in a real browser: the admin key typed in and held in memory only, the active model
as the API reports it, a retraining started from the page that ends activated, rollback, live figures."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.integration.localhost import ADMIN_KEY

RUN_TIMEOUT_MS = 180_000   # a real local training run on the demo data


def connect(page, base: str):
    page.goto(base + "/manage/")
    page.get_by_test_id("admin-key").fill(ADMIN_KEY)
    page.get_by_test_id("admin-key").press("Enter")
    page.get_by_test_id("active-version").wait_for()


def active_version(shop) -> str:
    status, body, _ = shop.request("GET", "/api/manage/models/active", key=ADMIN_KEY)
    assert status == 200, body
    return body["activeVersion"]


def test_dashboard_shows_the_active_model_and_a_retraining_ends_activated(shop, page):
    connect(page, shop.base)
    before = active_version(shop)
    expect(page.get_by_test_id("active-model")).to_have_attribute("data-model-version", before)
    expect(page.get_by_test_id("active-version")).to_have_text(before)

    page.get_by_test_id("retrain").click()
    expect(page.locator("#retrain-status")).to_contain_text("requested")
    run_id = page.locator("#retrain-status").inner_text().split()[1]
    row = page.locator(f"[data-testid=training-runs] tr[data-run-id='{run_id}']")
    expect(row).to_have_attribute("data-state", "activated", timeout=RUN_TIMEOUT_MS)

    after = active_version(shop)
    assert after != before
    status, run, _ = shop.request("GET", f"/api/manage/training-runs/{run_id}", key=ADMIN_KEY)
    assert status == 200 and run["state"] == "activated" and run["modelVersion"] == after
    expect(page.get_by_test_id("active-model")).to_have_attribute("data-model-version", after)

    # Rollback from the stored versions: the previous model is active again.
    page.locator(f"#versions tr[data-model-version='{before}'] button").click()
    expect(page.get_by_test_id("active-model")).to_have_attribute("data-model-version", before)
    assert active_version(shop) == before


def test_the_admin_key_stays_in_memory_only(shop, page):
    connect(page, shop.base)
    stored = page.evaluate("JSON.stringify([Object.entries(sessionStorage), Object.entries(localStorage), "
                           "document.cookie])")
    assert ADMIN_KEY not in stored
    assert page.get_by_test_id("admin-key").input_value() == ""
    page.reload()
    expect(page.get_by_test_id("admin-key")).to_be_visible()
    expect(page.get_by_test_id("active-model")).to_be_hidden()


def test_live_figures_count_what_the_host_served(shop, page):
    status, body, _ = shop.request("GET", "/api/manage/metrics", key=ADMIN_KEY)
    assert status == 200, body
    connect(page, shop.base)
    live = page.locator("#live")
    expect(live.locator("svg.chart rect.bar")).to_have_count(len(body["ordersPerMinute"]))
    expect(live).to_contain_text(f"worker process {body['process']}")
