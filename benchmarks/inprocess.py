"""In-process benchmarks (no server, no network): the cost of the code paths themselves.
Part of `make bench` (benchmarks/run.py); runs alone with `python -m benchmarks.inprocess`.

  intake    signed SMS webhooks through Django's full request path (signature check, the inbox
            insert), each drained onto its inquiry right after in this process as in `make run`
            (section lock, timeline entry, audit record, stored event); per second;
  drain     texts waiting in the inbox put on their inquiries by one drain, in batches (a
            worker's cost per text under load);
  queue     `GET /api/inquiries/?open=true` with N open inquiries (one page of 50), p50/p95;
  snapshot  building the websocket snapshot of a section's open queue (up to 500 rows);
  send      the outbox sending queued messages one after another, as one worker does: lease,
            Twilio's API (the tests' fake Twilio on loopback, through the real client), SID
            stored; per second.

Uses DATABASE_URL if set (PostgreSQL), else a throwaway SQLite file. Prints a Markdown table.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "backend"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("KONTAKTPUNKT_VAR_DIR", str(ROOT / "var" / "bench"))

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from benchmarks.harness import percentile  # noqa: E402
from config.celery import app  # noqa: E402

# The paths themselves, in this one process: the inbox's drain runs right after each webhook's
# commit, as in `make run`, not in a worker this benchmark does not start.
app.conf.task_always_eager = True

N_INTAKE = int(os.environ.get("BENCH_INTAKE", "500"))
N_OPEN = int(os.environ.get("BENCH_OPEN", "2000"))
N_SEND = int(os.environ.get("BENCH_SEND", "300"))
N_DRAIN = int(os.environ.get("BENCH_DRAIN", "300"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "50"))
TOKEN = "bench-token"  # noqa: S105


def main() -> None:
    setup_test_environment()
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.PUBLIC_BASE_URL = "https://bench.example"
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        rows = run()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(
        f"\nDatabase: {engine}; channel layer: "
        f"{settings.CHANNEL_LAYERS['default']['BACKEND'].rsplit('.', 1)[-1]}; "
        f"cores: {os.cpu_count()}\n"
    )
    print("| benchmark | measure | result |")
    print("| --- | --- | --- |")
    for row in rows:
        print(f"| {row[0]} | {row[1]} | {row[2]} |")
    from benchmarks import harness

    harness.report(
        "inprocess",
        "; ".join(f"{name} {result}" for name, _measure, result in rows),
        {
            "database": engine,
            "rows": [{"name": n, "measure": m, "result": r} for n, m, r in rows],
        },
    )


def run() -> list[tuple[str, str, str]]:
    from rest_framework.authtoken.models import Token

    from henvendelser.consumers import _snapshot
    from tests.factories import ALWAYS_OPEN, InquiryFactory, SectionFactory, UserFactory

    section = SectionFactory(opening_hours=ALWAYS_OPEN)
    coordinator = UserFactory(role="coordinator", sections=[section])
    client = Client()
    validator = RequestValidator(TOKEN)
    rows = []

    # Intake: distinct senders, so each message starts its own inquiry (the heavier path).
    start = time.perf_counter()
    for i in range(N_INTAKE):
        params = {
            "MessageSid": f"SMbench{i:08d}",
            "From": f"+4791{i:06d}",
            "To": section.phone_number,
            "Body": "Feber 38,5",
        }
        signature = validator.compute_signature(
            "https://bench.example/webhooks/twilio/sms/", params
        )
        response = client.post("/webhooks/twilio/sms/", params, HTTP_X_TWILIO_SIGNATURE=signature)
        assert response.status_code == 200
    elapsed = time.perf_counter() - start
    rows.append(
        (
            "intake",
            f"{N_INTAKE} signed SMS webhooks, one process",
            f"{N_INTAKE / elapsed:.0f} /s ({elapsed / N_INTAKE * 1000:.1f} ms each)",
        )
    )

    rows.append(bench_drain(section))

    InquiryFactory.create_batch(N_OPEN - N_INTAKE - N_DRAIN, section=section)
    token = Token.objects.create(user=coordinator)
    api = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    samples = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        response = api.get("/api/inquiries/?open=true")
        samples.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200
    rows.append(
        (
            "queue",
            f"GET /api/inquiries/?open=true, {N_OPEN} open, page of 50",
            f"p50 {statistics.median(samples):.1f} ms, p95 {percentile(samples, 95):.1f} ms",
        )
    )

    samples = []
    build = _snapshot.func  # the synchronous function behind database_sync_to_async
    for _ in range(max(5, REPEATS // 5)):
        t0 = time.perf_counter()
        snapshot = build(coordinator, section.pk, "127.0.0.1")
        samples.append((time.perf_counter() - t0) * 1000)
    rows.append(
        (
            "snapshot",
            f"ws snapshot, {len(snapshot['inquiries'])} rows (cap 500)",
            f"p50 {statistics.median(samples):.1f} ms, p95 {percentile(samples, 95):.1f} ms",
        )
    )
    rows.append(bench_send(section))
    return rows


def bench_drain(section: Any) -> tuple[str, str, str]:
    """Texts waiting in the inbox (as while a worker was busy), new numbers each, put on their
    inquiries by one drain in batches of INBOX_BATCH: a worker's cost per text under load."""
    import uuid

    from django.utils import timezone

    from henvendelser.models import InboundText
    from henvendelser.services import inbox

    now = timezone.now()
    InboundText.objects.bulk_create(
        InboundText(
            message_sid=f"SM{uuid.uuid4().hex}",
            section=section,
            from_phone=f"+4792{i:06d}",
            to_phone=section.phone_number,
            body=f"Spørsmål om timen {i}",
            received_at=now,
        )
        for i in range(N_DRAIN)
    )
    start, cpu = time.perf_counter(), time.process_time()
    taken = inbox.drain(section.pk)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert taken == N_DRAIN, taken
    return (
        "drain",
        f"{N_DRAIN} waiting texts, new numbers, batches of {settings.INBOX_BATCH}",
        f"{elapsed / N_DRAIN * 1000:.2f} ms a text ({cpu / N_DRAIN * 1000:.2f} ms of CPU)",
    )


def bench_send(section: object) -> tuple[str, str, str]:
    from django.utils import timezone
    from meldinger import services
    from meldinger.models import Message
    from meldinger.sending import send_message
    from meldinger.services import Composed, queue_message

    from tests.conftest import TWILIO_TEST_ACCOUNT, TWILIO_TEST_FROM, TWILIO_TEST_TOKEN
    from tests.fakes.twilio_server import FakeTwilio

    fake = FakeTwilio(TWILIO_TEST_ACCOUNT, TWILIO_TEST_TOKEN).start()
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID = TWILIO_TEST_ACCOUNT
    settings.TWILIO_AUTH_TOKEN = TWILIO_TEST_TOKEN
    settings.TWILIO_FROM_NUMBER = TWILIO_TEST_FROM
    settings.TWILIO_API_BASE_URL = fake.url
    text = "Blodprøvene er fine. Neste time er torsdag kl. 09:30."
    hand_over, services.enqueue = services.enqueue, lambda pk: None  # sent below, not at commit
    ids = [
        queue_message(
            section=section,  # type: ignore[arg-type]
            kind="doctor_notice",  # no consent or quiet hours to look up: the sending itself
            to_phone=f"+4790{i:06d}",
            composed=Composed(text, text, False, None, None),
            language="nb",
            now=timezone.now(),
            idempotency_key=f"bench-send-{i}",
        ).pk
        for i in range(N_SEND)
    ]
    services.enqueue = hand_over
    assert Message.objects.filter(pk__in=ids, status="queued").count() == N_SEND
    start = time.perf_counter()
    for pk in ids:
        assert send_message(pk) == "sent"
    elapsed = time.perf_counter() - start
    fake.stop()
    assert Message.objects.filter(pk__in=ids, status="sent").count() == N_SEND
    assert len(fake.messages) == N_SEND
    return (
        "send",
        f"{N_SEND} queued messages sent, one worker, fake Twilio on loopback",
        f"{N_SEND / elapsed:.0f} /s ({elapsed / N_SEND * 1000:.1f} ms each)",
    )


if __name__ == "__main__":
    main()
