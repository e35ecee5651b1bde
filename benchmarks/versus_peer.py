"""Peer: django-helpdesk (the newest release on PyPI), in a virtualenv of its own on the same
PostgreSQL and served the same way (one Daphne process, token authentication, a connection
pool), against Kontaktpunkt in the same run under the same load: 8 connections creating
records through the API for BENCH_SECONDS, then listing the open queue. Target: >= 3x."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from benchmarks import harness, load

SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
PEER_DIR = Path(__file__).resolve().parent / "peer"
PEER_VENV = harness.RESULTS / "peer-venv"
PEER_PACKAGES = ["django-helpdesk[teams]", "psycopg[binary,pool]", "daphne"]
PEER_DB = urlunsplit(urlsplit(harness.DATABASE_URL)._replace(path="/kp_peer"))


def peer_python() -> str:
    """The peer's own virtualenv, made (from PyPI) the first time and kept in var/bench."""
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PEER_PACKAGES], check=True)
    return str(python)


def peer_env() -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(PEER_DIR),
        "DJANGO_SETTINGS_MODULE": "settings",
        "PEER_DATABASE_URL": PEER_DB,
    }


def peer_version(python: str) -> str:
    out = subprocess.run(
        [python, "-m", "pip", "show", "django-helpdesk"], capture_output=True, text=True
    )
    return next(
        (line.split()[-1] for line in out.stdout.splitlines() if line.startswith("Version")), "?"
    )


def start_peer(python: str) -> tuple[subprocess.Popen[bytes], str, str, int]:
    import psycopg

    admin = urlunsplit(urlsplit(PEER_DB)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS kp_peer WITH (FORCE)")
        conn.execute("CREATE DATABASE kp_peer")
    env = peer_env()
    subprocess.run([python, "-m", "django", "migrate", "--noinput", "-v", "0"], env=env, check=True)
    token, queue = subprocess.run(
        [python, str(PEER_DIR / "peer_setup.py")],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    port = harness.free_port()
    log = (harness.RESULTS / "peer-daphne.log").open("wb")
    process = subprocess.Popen(
        [python, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "peer_asgi:application"],
        cwd=PEER_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/helpdesk/api/", timeout=1)  # noqa: S310
            break
        except urllib.error.HTTPError:
            break  # it answers (401 without a token)
        except OSError:
            time.sleep(0.2)
    return process, base, token, int(queue)


def our_world() -> tuple[str, int]:
    from rest_framework.authtoken.models import Token

    from tests.factories import ALWAYS_OPEN, SectionFactory, UserFactory

    section = SectionFactory(opening_hours=ALWAYS_OPEN)
    coordinator = UserFactory(role="coordinator", sections=[section])
    return Token.objects.create(user=coordinator).key, section.pk


async def measure(ours: str, our_token: str, section: int, peer: str, token: str, queue: int):
    def json_post(url: str, body: dict[str, Any], auth: str) -> load.Request:
        return (
            "POST",
            url,
            json.dumps(body).encode(),
            {"Authorization": auth, "Content-Type": "application/json"},
        )

    def our_create(n: int) -> load.Request:
        return json_post(
            ours + "/api/inquiries/",
            {
                "section": section,
                "channel": "phone",
                "caller_phone": f"+4790{n:06d}",
                "summary": f"Ringte om timen {n}",
            },
            f"Token {our_token}",
        )

    def peer_create(n: int) -> load.Request:
        return json_post(
            peer + "/helpdesk/api/tickets/",
            {
                "queue": queue,
                "title": f"Ringte om timen {n}",
                "description": f"Ringte om timen {n}",
                "submitter_email": f"f{n}@example.test",
                "priority": 3,  # "normal", required by its API
            },
            f"Token {token}",
        )

    def reading(url: str, key: str) -> Callable[[int], load.Request]:
        return lambda n: ("GET", url, None, {"Authorization": f"Token {key}"})

    our_list = reading(ours + "/api/inquiries/?open=true", our_token)
    peer_list = reading(peer + "/helpdesk/api/tickets/?status=1", token)  # status 1: open

    await load.closed_loop(our_create, seconds=1, start=900_000)
    await load.closed_loop(peer_create, seconds=1, start=900_000)
    result = {
        "create": {
            "ours": (await load.closed_loop(our_create, seconds=SECONDS)).as_dict(),
            "peer": (await load.closed_loop(peer_create, seconds=SECONDS)).as_dict(),
        },
        "list": {
            "ours": (await load.closed_loop(our_list, seconds=SECONDS)).as_dict(),
            "peer": (await load.closed_loop(peer_list, seconds=SECONDS)).as_dict(),
        },
    }
    return result


def run() -> dict[str, Any]:
    python = peer_python()
    harness.fresh_database()
    harness.setup_django()
    our_token, section = our_world()
    daphne = harness.Daphne().start()
    peer, peer_base, token, queue = start_peer(python)
    try:
        result = asyncio.run(measure(daphne.base_url, our_token, section, peer_base, token, queue))
    finally:
        daphne.stop()
        peer.terminate()
        peer.wait(timeout=10)
    parts = []
    for what in ("create", "list"):
        ours, theirs = result[what]["ours"], result[what]["peer"]
        ratio = ours["per_second"] / theirs["per_second"] if theirs["per_second"] else float("inf")
        result[what]["ratio"] = round(ratio, 2)
        parts.append(
            f"{what}: ours {ours['per_second']:.0f}/s (p99 {ours['p99_ms']:.0f} ms) vs "
            f"django-helpdesk {theirs['per_second']:.0f}/s (p99 {theirs['p99_ms']:.0f} ms)"
            f" = {ratio:.1f}x"
        )
    summary = "; ".join(parts) + " (target >= 3x)"
    return harness.report(
        "peer",
        summary,
        {**result, "peer_version": peer_version(python), "machine": harness.machine()},
    )


if __name__ == "__main__":
    run()
