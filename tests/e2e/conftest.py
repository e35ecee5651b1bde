"""End-to-end fixtures: a real Daphne process on the test database, and Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.conftest import TWILIO_TEST_TOKEN

# Playwright's sync API keeps an event loop on the main thread; the ORM calls in these tests
# are plain synchronous code between browser steps.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

BACKEND = Path(__file__).resolve().parents[2] / "backend"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
COORDINATOR_PHONE = "+4755000000"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_database_url() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


class DaphneServer:
    """`daphne config.asgi:application` in its own process, on the tests' database."""

    def __init__(self, port: int | None = None, extra_env: dict[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.extra_env = extra_env or {}
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = Path(settings.VAR_DIR) / f"daphne-{self.port}.log"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
        env.update(
            DATABASE_URL=test_database_url(),
            PUBLIC_BASE_URL=self.base_url,
            TWILIO_AUTH_TOKEN=TWILIO_TEST_TOKEN,
            COORDINATOR_PHONE=COORDINATOR_PHONE,
            PORT=str(self.port),
            DEBUG="false",
            # Tasks run inside the server: these tests are about pages, not the broker (the
            # worker tests run real workers).
            CELERY_TASK_ALWAYS_EAGER="true",
        )
        env.update(self.extra_env)
        return env

    def start(self) -> DaphneServer:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "config.asgi:application",
            ],
            cwd=BACKEND,
            env=self.env(),
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.base_url + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("daphne did not start in 30 s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


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


def login(page: Any, base_url: str, username: str, password: str = "pw") -> None:
    page.goto(base_url + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(base_url + "/")
