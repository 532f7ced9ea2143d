"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

Playwright's own browser download is not reachable from our machines, so the tests launch the system's
`chromium` (executable_path) and skip, saying how to install it, where there is none. Screenshots go to
``$ACORN_VAR_DIR/e2e/screenshots`` (var/e2e/screenshots by default), which CI keeps as an artifact.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium")  # Debian's package puts it on PATH (/usr/bin/chromium)
INSTALL_HINT = "browser tests need Debian's Chromium: sudo apt-get install chromium fonts-noto-cjk"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTH = 1280
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
E2E_DIR = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without Chromium every browser test is skipped, saying how to install it (the modules mark them e2e)."""
    if CHROMIUM is not None:
        return
    for item in items:
        if E2E_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.skip(reason=INSTALL_HINT))


def screenshot_dir() -> Path:
    from django.conf import settings

    folder = Path(settings.VAR_DIR) / "e2e" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per module. Playwright's sync API keeps an asyncio event loop in this thread while it runs,
    and Django refuses ORM calls from a thread with a running loop unless told that this is deliberate (the
    test thread never awaits anything): allowed while the browser is open, as before once it is closed, so
    that the rest of the suite keeps Django's check."""
    from playwright.sync_api import sync_playwright

    before = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if before is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = before


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """Pages in fresh browser contexts (one per person), 1280 px wide, closed after the test."""
    contexts: list[Any] = []

    def make(language: str = "en") -> Any:
        context = browser.new_context(
            viewport={"width": WIDTH, "height": 900},
            locale="zh-CN" if language.startswith("zh") else "en-US",
            accept_downloads=True,
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def e2e_settings(settings: Any, live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Links ACORN builds for vendors (OAuth callbacks) point at the live server; sync at the simulator's pace
    (which prepares Amazon's reports at once: no 30 s wait between polls)."""
    from channels.adapters.amazon import returns

    monkeypatch.setattr(returns, "REPORT_POLL_SECONDS", 0.01)
    settings.ACORN_BASE_URL = live_server.url
    settings.ACORN_RATE_LIMIT_SCALE = 100_000
    settings.ACORN_SYNC_INITIAL_DAYS = 90
    settings.ACORN_SYNC_TIME_BUDGET_SECONDS = 120
    return settings


def sign_in(page: Any, base: str, email: str, password: str | None = None) -> None:
    """Through the real sign-in form, as a person would."""
    from tests.factories import TEST_PASSWORD

    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password or TEST_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_load_state("domcontentloaded")


def shot(page: Any, name: str) -> Path:
    path = screenshot_dir() / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
