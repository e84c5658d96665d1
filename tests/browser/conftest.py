"""Browser fixtures: one local host with demo data for the session (SHOPPER_AUTH=jwt with the host's development
identity provider, as `make run` has it), and per test a fresh headless Chromium (Debian's) with its own
user-data folder, whose console errors and uncaught page errors fail the test."""
from __future__ import annotations

import pytest

from commands.screenshots import DESKTOP, chromium
from tests.integration.localhost import LocalHostProcess

SHOPPER_ENV = {"SHOPPER_AUTH": "jwt", "SHOPPER_JWKS_URL": "", "RETRAIN_MIN_NEW_ORDERS": "0"}


@pytest.fixture(scope="session")
def shop(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shop")
    host = LocalHostProcess(str(folder / "store.sqlite3"), SHOPPER_ENV, args=("--demo", "--quiet"),
                            cwd=str(folder)).start(timeout=180)
    yield host
    host.stop()


class ConsoleWatch:
    """Every console error and uncaught exception of the pages it watches."""

    def __init__(self):
        self.problems: list[str] = []

    def watch(self, page):
        page.on("console", lambda message: message.type == "error" and self.problems.append(
            f"console error: {message.text} ({message.location.get('url', '')})"))
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        return page


@pytest.fixture
def browser_context(tmp_path):
    with chromium(str(tmp_path / "chromium-profile"), DESKTOP) as context:
        yield context


@pytest.fixture
def page(browser_context):
    watch = ConsoleWatch()
    page = watch.watch(browser_context.new_page())
    page.set_default_timeout(20_000)
    yield page
    assert watch.problems == [], "\n".join(watch.problems)
