"""End-to-end fixtures: a real Daphne process on the test database, and Debian's Chromium."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.processes import DaphneServer

# Playwright's sync API keeps an event loop on the main thread; the ORM calls in these tests
# are plain synchronous code between browser steps.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture
def daphne(transactional_db: Any) -> Any:
    server = DaphneServer().start()
    yield server
    server.stop()


# Module scope: Playwright's sync API keeps an event loop running on the main thread until it
# is closed, which async tests elsewhere in the session must not meet.
@pytest.fixture(scope="module")
def browser() -> Any:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; .ci/run installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


def login(
    page: Any, base_url: str, username: str, password: str = "pw", lands_on: str = "/"
) -> None:
    """Log in through the form; a doctor lands on "/lege/", everyone else on the queue."""
    page.goto(base_url + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(base_url + lands_on)
