"""The service's own processes, started for real by the tests that are about them: a Redis
server of the test's own (so it can be killed and restarted), and Celery workers, on the tests'
database, and Daphne serving the app (the end-to-end tests' server)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import redis
from django.conf import settings

from tests.conftest import TWILIO_TEST_ACCOUNT, TWILIO_TEST_FROM, TWILIO_TEST_TOKEN

BACKEND = Path(__file__).resolve().parents[1] / "backend"
COORDINATOR_PHONE = "+4755000000"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_database_url() -> str:
    """The tests' database, for a process started by a test."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def service_env(**overrides: str) -> dict[str, str]:
    """The environment of a service process: this one's, on the tests' database."""
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    # Browser tests log in dozens of times a minute from one address; the limit has its own tests.
    env.update(DATABASE_URL=test_database_url(), DEBUG="false", LOGIN_RATE_PER_MINUTE="100000")
    env.update(overrides)
    return env


def kill(process: subprocess.Popen[bytes] | None) -> None:
    """SIGKILL: no clean-up, nothing after the line it was on."""
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGKILL)
        process.wait()


def stop(process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM, and SIGKILL after 10 s."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            kill(process)


T = TypeVar("T")


def at_once(work: Callable[[], T], threads: int = 4) -> list[T]:
    """Run `work` in `threads` threads released together (a barrier), each on a database
    connection of its own, closed after; the results of those that returned."""
    from django.db import connection

    results: list[T] = []
    barrier = threading.Barrier(threads)

    def run() -> None:
        barrier.wait()
        try:
            results.append(work())
        finally:
            connection.close()

    started = [threading.Thread(target=run) for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    return results


def wait_for(condition: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class RedisServer:
    """`redis-server` on a free port, keeping nothing on disk: killed, it forgets its queues."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="kontaktpunkt-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--bind", "127.0.0.1", "--port", str(self.port)),
                *("--save", "", "--appendonly", "no", "--dir", self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.answers, 10, "redis-server to answer")
        return self

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1)

    def answers(self) -> bool:
        try:
            with self.client() as client:
                return bool(client.ping())
        except redis.ConnectionError:
            return False

    def queue_length(self, queue: str = "celery") -> int:
        """Tasks waiting in Celery's default queue."""
        with self.client() as client:
            return int(client.llen(queue))

    def kill(self) -> None:
        kill(self.process)

    def restart(self) -> RedisServer:
        self.kill()
        return self.start()

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class CeleryWorker:
    """`celery -A config worker` in its own process: one task at a time, as the solo pool
    runs them, so a SIGKILL lands exactly where the test says."""

    def __init__(self, env: dict[str, str], name: str) -> None:
        self.env = env
        self.name = name
        self.log = Path(settings.VAR_DIR) / f"worker-{name}-{os.getpid()}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> CeleryWorker:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.log.write_text("")
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo"),
                *("--without-gossip", "--without-mingle", "--without-heartbeat"),
                *("-n", f"{self.name}@%h", "--loglevel=INFO"),
            ],
            cwd=BACKEND,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )

        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"worker exited: {self.output()[-3000:]}")
            return " ready." in self.output()

        wait_for(ready, 60, f"worker {self.name} to be ready")
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """No clean-up, no ack: the task it was running is left where it was."""
        kill(self.process)

    def stop(self) -> None:
        stop(self.process)


class DaphneServer:
    """Daphne serving `config.asgi:application` in its own process, on the tests' database,
    started as `make run` and deploy/ start it (`python -m config.serve`)."""

    def __init__(self, port: int | None = None, extra_env: dict[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.extra_env = extra_env or {}
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = Path(settings.VAR_DIR) / f"daphne-{self.port}.log"

    def env(self) -> dict[str, str]:
        env = service_env(
            PUBLIC_BASE_URL=self.base_url,
            TWILIO_AUTH_TOKEN=TWILIO_TEST_TOKEN,
            COORDINATOR_PHONE=COORDINATOR_PHONE,
            PORT=str(self.port),
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
                "config.serve",
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
        wait_for(self.healthy, 30, "daphne to answer /healthz")
        return self

    def healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"daphne exited: {self.log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(self.base_url + "/healthz", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        stop(self.process)


def worker_env(broker: RedisServer, twilio_url: str, **overrides: str) -> dict[str, str]:
    """A worker's environment: the test's Redis as broker, Twilio at `twilio_url` (the fake)."""
    return service_env(
        REDIS_URL=broker.url,
        CHANNEL_PREFIX=f"worker-test-{broker.port}",
        CELERY_TASK_ALWAYS_EAGER="false",
        SMS_BACKEND="twilio",
        TWILIO_ACCOUNT_SID=TWILIO_TEST_ACCOUNT,
        TWILIO_AUTH_TOKEN=TWILIO_TEST_TOKEN,
        TWILIO_FROM_NUMBER=TWILIO_TEST_FROM,
        TWILIO_API_BASE_URL=twilio_url,
        PUBLIC_BASE_URL="https://kontaktpunkt.example.test",
        **overrides,
    )


def send_task(broker: RedisServer, name: str, *args: object) -> None:
    """Publish a task to the test's Redis, as the web process or beat does."""
    from celery import Celery

    with Celery("test-producer", broker=broker.url, set_as_current=False) as app:
        app.send_task(name, args=args)
