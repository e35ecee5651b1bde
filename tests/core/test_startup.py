"""A served process and a worker settle before their first request or task: startup's objects
are set aside from the garbage collector (core.startup), so a full collection under load walks
what requests made, not all of Django (a pause of 70-95 ms for every socket in the process
otherwise), and what the first text would otherwise wait for is done. Each runs in a fresh
interpreter, as deploy/ starts them."""

import json
import subprocess
import sys
from pathlib import Path

BACKEND = Path(__file__).resolve().parents[2] / "backend"

REPORT = """
import gc, json
from triage import alarm
print(json.dumps({
    "frozen": gc.get_freeze_count(),
    "walked": len(gc.get_objects()),
    "alarm_words_compiled": alarm._compiled.cache_info().currsize,
}))
"""

SERVER = f"""
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
from unittest import mock
from daphne.server import Server
from config import serve
from config.asgi import application
with mock.patch.object(Server, "run") as serving:
    serve.SettledServer(application=application, endpoints=["tcp:port=0:interface=127.0.0.1"]).run()
assert serving.called
{REPORT}"""

WORKER = f"""
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
from celery.signals import worker_process_init
import config.celery
worker_process_init.send(sender=None)
{REPORT}"""


def _counts(script):
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=BACKEND,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_server_sets_startup_aside_from_the_collector_before_serving():
    counts = _counts(SERVER)
    # Django, DRF, the models and every view (the URL patterns are loaded first) are set aside;
    # what the collector still walks is a small rest.
    assert counts["frozen"] > 50_000
    assert counts["walked"] < counts["frozen"] / 10


def test_a_worker_process_sets_startup_aside_before_its_first_task():
    counts = _counts(WORKER)
    assert counts["frozen"] > 50_000
    assert counts["walked"] < counts["frozen"] / 10


def test_the_first_text_after_a_start_does_not_wait_for_the_alarm_words_to_compile():
    # About 60 ms a process would otherwise spend on its first text, and every text queued
    # behind it with it (docs/benchmarks.md); done before serving, and set aside with the rest.
    assert _counts(WORKER)["alarm_words_compiled"] == 1
    assert _counts(SERVER)["alarm_words_compiled"] == 1
