"""`manage.py screenshots`: start a local host with demo data in a temporary folder, open the storefront and the
dashboard in headless Chromium (Debian's, /usr/bin/chromium) at desktop and phone widths, and write the pictures to
docs/images/. Needs the test requirements (Playwright): `pip install -r requirements-dev.txt`."""
from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def add_arguments(parser) -> None:
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "images"), help="folder for the PNG files")
    parser.add_argument("--shopper", default="demo-user-0001", help="the shopper signed in on the storefront")


@contextlib.contextmanager
def chromium(user_data_dir: str, viewport: dict = DESKTOP, is_mobile: bool = False):
    """A fresh headless Chromium context (its own user-data folder), as the browser tests use it."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, viewport=viewport,
            is_mobile=is_mobile, has_touch=is_mobile, device_scale_factor=2 if is_mobile else 1)
        try:
            yield context
        finally:
            context.close()


@contextlib.contextmanager
def demo_host(folder: str, extra_env: dict | None = None):
    """`manage.py serve --demo` on a free port with its store in `folder`; yields (base URL, admin key)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    admin_key = secrets.token_urlsafe(16)
    env = dict(os.environ, SQLITE_PATH=os.path.join(folder, "store.sqlite3"), LOCAL_ADMIN_KEY=admin_key,
               SHOPPER_AUTH="jwt", SHOPPER_JWKS_URL="", PYTHONUNBUFFERED="1", **(extra_env or {}))
    log = open(os.path.join(folder, "host.log"), "wb")
    process = subprocess.Popen([sys.executable, os.path.join(ROOT, "manage.py"), "serve", "--demo", "--quiet",
                                "--port", str(port)], cwd=folder, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the local host exited: see {log.name}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(base + "/api/health", timeout=5):
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the local host did not answer: see {log.name}")
            time.sleep(0.3)
        yield base, admin_key
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def shoot_storefront(page, base: str, shopper: str, path: str) -> None:
    page.goto(base + "/")
    page.get_by_test_id("shopper").fill(shopper)
    page.get_by_test_id("sign-in").click()
    page.get_by_test_id("recommendations").locator("[data-product-id]").first.wait_for()
    page.get_by_test_id("popular").locator("[data-product-id]").first.wait_for()
    for index in (0, 2):
        page.get_by_test_id("recommendations").get_by_test_id("add-to-cart").nth(index).click()
    page.locator(".toast.show").wait_for(state="detached")   # the "added" message fades after a few seconds
    page.screenshot(path=path, full_page=False)


def shoot_dashboard(page, base: str, admin_key: str, path: str, full_page: bool) -> None:
    page.goto(base + "/manage/")
    page.get_by_test_id("admin-key").fill(admin_key)
    page.get_by_test_id("admin-key").press("Enter")
    page.get_by_test_id("active-version").wait_for()
    page.get_by_test_id("retrain").click()
    page.locator('[data-testid=training-runs] tr[data-state=activated]').first.wait_for(timeout=120_000)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=path, full_page=full_page)


def run(args) -> int:
    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder, demo_host(folder) as (base, admin_key):
        # Some traffic first, so the live figures have something to show.
        with chromium(os.path.join(folder, "warm")) as context:
            page = context.new_page()
            for shopper in ("demo-user-0002", "demo-user-0003", "new-shopper-1"):
                shoot_storefront(page, base, shopper, os.path.join(folder, "warm.png"))
                page.get_by_test_id("checkout").click()
                page.get_by_test_id("recommendations").locator("[data-product-id]").first.wait_for()
                page.evaluate("sessionStorage.clear()")
        for name, viewport, mobile in (("", DESKTOP, False), ("-phone", PHONE, True)):
            with chromium(os.path.join(folder, f"store{name}"), viewport, mobile) as context:
                shoot_storefront(context.new_page(), base, args.shopper,
                                 os.path.join(args.out, f"storefront{name}.png"))
            with chromium(os.path.join(folder, f"dash{name}"), viewport, mobile) as context:
                shoot_dashboard(context.new_page(), base, admin_key, os.path.join(args.out, f"dashboard{name}.png"),
                                full_page=not mobile)
    print(f"screenshots written to {args.out}")
    return 0
