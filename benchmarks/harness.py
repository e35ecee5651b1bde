"""What every benchmark shares: a PostgreSQL database of its own, Daphne processes serving the
app on it (with Redis as the channel layer), signed Twilio webhooks, percentiles, results.

PostgreSQL and Redis default to this machine's (127.0.0.1, user postgres); BENCH_DATABASE_URL and
BENCH_REDIS_URL point elsewhere. The database `kp_bench` is dropped and made again by each run.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
BACKEND = ROOT / "backend"
RESULTS = ROOT / "var" / "bench"
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kp_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
TWILIO_TOKEN = "bench-twilio-auth-token"  # noqa: S105 (a benchmark's own, signs its webhooks)
PASSWORD = "bench-password"  # noqa: S105
SECRET_KEY = "bench-" + "k3y-f0r-the-b3nchmarks-0nly-" * 2


def service_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.update(
        PYTHONPATH=f"{ROOT}{os.pathsep}{BACKEND}",
        DJANGO_SETTINGS_MODULE="benchmarks.settings",
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=REDIS_URL,
        CHANNEL_PREFIX="kp-bench",
        SECRET_KEY=SECRET_KEY,
        DEBUG="false",
        DEMO_MODE="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
        TWILIO_ACCOUNT_SID="AC" + "0" * 32,
        TWILIO_FROM_NUMBER="+4759440000",
        COORDINATOR_PHONE="+4722000000",
        SMS_BACKEND="console",
        IN_PROCESS_BEAT="false",
        LOGIN_RATE_PER_MINUTE="100000",
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def setup_django() -> None:
    """Configure this process (the load generator and data loader) for the bench database."""
    os.environ.update(service_env())
    sys.path[:0] = [str(BACKEND), str(ROOT)]
    import django

    django.setup()


def fresh_database() -> None:
    """Drop and create the bench database, then migrate it (as the migration Job would)."""
    import psycopg

    parts = urlsplit(DATABASE_URL)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=BACKEND,
        env=service_env(),
        check=True,
    )
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def terminate(process: subprocess.Popen[bytes] | None) -> None:
    """Ask a server or worker to stop, then make it."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


class Daphne:
    """`python -m config.serve` (Daphne, as deploy/ runs it) on the bench database."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = RESULTS / f"daphne-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Daphne:
        RESULTS.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "config.serve", "-b", "127.0.0.1", "-p", str(self.port)),
                "config.asgi:application",
            ],
            cwd=BACKEND,
            env=service_env(PUBLIC_BASE_URL=self.base_url, PORT=str(self.port)),
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(self.log.read_text()[-2000:])
            try:
                with urllib.request.urlopen(self.base_url + "/healthz", timeout=1):  # noqa: S310
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("daphne did not answer /healthz")

    def stop(self) -> None:
        terminate(self.process)


class Worker:
    """`celery -A config worker` on the bench database, as deploy/ runs it: here one process
    (the solo pool), since one section's texts are put on inquiries one drain at a time."""

    def __init__(self, name: str = "bench") -> None:
        self.name = name
        self.log = RESULTS / f"worker-{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        RESULTS.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo"),
                *("--without-gossip", "--without-mingle", "--without-heartbeat"),
                *("-n", f"{self.name}@%h", "--loglevel=WARNING"),
            ],
            cwd=BACKEND,
            env=service_env(),
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        time.sleep(3)  # Django and Celery starting; a task sent earlier waits in Redis anyway
        if self.process.poll() is not None:
            raise RuntimeError(self.log.read_text()[-2000:])
        return self

    def stop(self) -> None:
        terminate(self.process)


def inbox_waiting() -> int:
    """Texts the webhooks stored that no worker has put on an inquiry yet."""
    from henvendelser.models import InboundText

    return InboundText.objects.filter(processed_at__isnull=True).count()


def wait_for_inbox(timeout: float = 120) -> float:
    """Seconds until every stored text is on an inquiry (the workers caught up)."""
    started = time.perf_counter()
    while inbox_waiting() and time.perf_counter() - started < timeout:
        time.sleep(0.05)
    if inbox_waiting():
        raise RuntimeError("the inbox did not drain")
    return time.perf_counter() - started


def signed_sms(base_url: str, n: int, to: str, body: str, sender: str | None = None) -> tuple:
    """(url, form body, headers) of Twilio's inbound-SMS webhook, signed as Twilio signs it."""
    from urllib.parse import urlencode

    from twilio.request_validator import RequestValidator

    url = base_url + "/webhooks/twilio/sms/"
    params = {
        "MessageSid": f"SM{n:032x}",
        "AccountSid": "AC" + "0" * 32,
        "From": sender or f"+479{n % 10_000_000:07d}",
        "To": to,
        "Body": body,
        "NumMedia": "0",
    }
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
    headers = {
        "X-Twilio-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return url, urlencode(params).encode(), headers


def copy_rows(
    table: str, columns: str, lines: Iterable[str], *, vacuum: bool = False, chunk: int = 50_000
) -> None:
    """Rows into `table` with PostgreSQL's COPY (tab-separated `lines`, each ending in a
    newline), sent in chunks of `chunk` lines; then ANALYZE (with VACUUM: the state autovacuum
    leaves a table that is written all day)."""
    from django.db import connection

    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            buffer: list[str] = []
            for line in lines:
                buffer.append(line)
                if len(buffer) == chunk:
                    copy.write("".join(buffer))
                    buffer = []
            copy.write("".join(buffer))
        cursor.execute(f"{'VACUUM ' if vacuum else ''}ANALYZE {table}")


def percentile(samples: list[float], p: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def machine() -> dict[str, Any]:
    import psycopg

    with psycopg.connect(DATABASE_URL) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    import redis

    info = redis.Redis.from_url(REDIS_URL).info("server")
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "postgresql": row[0] if row else "?",
        "redis": info.get("redis_version"),
    }


def report(name: str, summary: str, data: dict[str, Any]) -> dict[str, Any]:
    """Print the benchmark's one summary line and write its JSON to var/bench/<name>.json."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {"benchmark": name, "summary": summary, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    result.update(data)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"{name}: {summary}", flush=True)
    return result
