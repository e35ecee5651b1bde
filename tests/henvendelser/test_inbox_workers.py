"""The inbox with real processes: texts keep arriving while the Celery worker putting them on
inquiries is killed by SIGKILL again and again, mid-batch. Each text ends on its family's
inquiry exactly once, in the order it came.

Half the kills land at a moment of the test's choosing: the worker has put a whole batch on
inquiries and is held, its transaction open, at the last statement (marking the texts done),
by a row lock the test takes on the oldest waiting text. The others land wherever the worker
happens to be; a drain takes a few milliseconds, so those alone rarely hit one."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading
import time
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from core import sql
from core.models import Section
from henvendelser import tasks
from henvendelser.models import InboundText, Inquiry, TimelineEntry
from henvendelser.services import inbox
from tests.processes import send_task, wait_for, worker_env

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"),
        reason="a worker process and this one writing at once need PostgreSQL (CI runs it there)",
    ),
]

DRAIN = "henvendelser.tasks.drain_inbox"
TEXTS = 300
FAMILIES = 30


@pytest.fixture
def hand_over_to_broker(monkeypatch, broker):
    """The webhook's hand-over after commit publishes to the test's Redis."""
    monkeypatch.setattr(
        tasks, "drain_inbox", SimpleNamespace(delay=lambda pk: send_task(broker, DRAIN, pk))
    )


def killed_mid_drain(output: str) -> bool:
    """The worker's log says it took a drain it never finished."""
    received = re.findall(rf"Task {re.escape(DRAIN)}\[([\w-]+)\] received", output)
    finished = set(re.findall(rf"Task {re.escape(DRAIN)}\[([\w-]+)\] succeeded", output))
    return any(task not in finished for task in received)


@contextlib.contextmanager
def oldest_waiting_text_locked(section: Section):
    """Hold a row lock on the section's oldest waiting text, in a connection of its own, until
    the block ends: a drain reads it with its batch and then waits to mark it done."""
    holder = connections.create_connection("default")
    try:
        holder.set_autocommit(False)
        with holder.cursor() as cursor:

            def lock_one() -> bool:
                cursor.execute(
                    f"SELECT {sql.column(InboundText, 'id')} FROM {sql.table(InboundText)} "  # noqa: S608
                    f"WHERE {sql.column(InboundText, 'section')} = %s "
                    f"AND {sql.column(InboundText, 'processed_at')} IS NULL "
                    f"ORDER BY {sql.column(InboundText, 'received_at')}, "
                    f"{sql.column(InboundText, 'id')} LIMIT 1 FOR UPDATE",
                    [section.pk],
                )
                return cursor.fetchone() is not None

            wait_for(lock_one, 30, "a waiting text to hold")
            yield
        holder.rollback()
    finally:
        holder.close()


def _held_drains_sql(action: str) -> str:
    return (
        f"SELECT {action} FROM pg_stat_activity WHERE datname = current_database() "  # noqa: S608
        "AND wait_event_type = 'Lock' AND query LIKE %s"
    )


def drain_held_on_the_lock() -> bool:
    """A worker's connection waits for a row lock to mark its batch done."""
    with connection.cursor() as cursor:
        cursor.execute(_held_drains_sql("count(*)"), [f"UPDATE {sql.table(InboundText)}%"])
        return cursor.fetchone()[0] > 0


def end_held_drains() -> None:
    """The database ends the killed worker's session, as it does when it finds the client
    gone: the statement it was held on never runs (left alone, it would run and commit on its
    own once the lock is released, were the batch not in one transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _held_drains_sql("pg_terminate_backend(pid)"), [f"UPDATE {sql.table(InboundText)}%"]
        )


def test_workers_killed_again_and_again_while_texts_arrive_lose_and_double_none(
    section: Section, broker, workers, hand_over_to_broker
):
    env = worker_env(broker, "http://127.0.0.1:9", INBOX_BATCH="20", INBOX_SWEEP_AFTER="0")
    senders = [f"+479100{n:04d}" for n in range(FAMILIES)]
    start = timezone.now()
    arrived = threading.Event()

    def twilio_delivers() -> None:
        """As the webhook does for each text: one insert, then the hand-over."""
        try:
            for n in range(TEXTS):
                inbox.accept_sms(
                    message_sid=f"SM{n:032d}",
                    section=section,
                    from_phone=senders[n % FAMILIES],
                    to_phone=section.phone_number,
                    body=f"melding {n}",
                    num_media=0,
                    now=start + dt.timedelta(milliseconds=n),
                )
                time.sleep(0.02)
        finally:
            connection.close()
            arrived.set()

    delivery = threading.Thread(target=twilio_delivers)
    delivery.start()
    kills_mid_drain = held_kills = 0
    for life in range(8):
        if life % 2 == 0:
            with oldest_waiting_text_locked(section):
                worker = workers(env, f"inbox{life}")
                send_task(broker, DRAIN, section.pk)  # as the sweep does for a waiting text
                wait_for(drain_held_on_the_lock, 30, "the worker's batch held at its last step")
                worker.kill()
                end_held_drains()
            held_kills += 1
        else:
            worker = workers(env, f"inbox{life}")
            time.sleep(0.3 + 0.2 * (life % 3))
            worker.kill()
        kills_mid_drain += killed_mid_drain(worker.output())
        if arrived.is_set():
            break
    delivery.join()
    # Every held kill landed in a drain, with its batch written and not committed.
    assert kills_mid_drain >= held_kills >= 1

    workers(env, "last")

    def all_on_inquiries() -> bool:
        send_task(broker, "henvendelser.tasks.sweep_inbox")  # as beat does
        time.sleep(0.5)
        return not InboundText.objects.filter(processed_at__isnull=True).exists()

    wait_for(all_on_inquiries, 90, "every text on an inquiry")
    entries = TimelineEntry.objects.filter(kind="sms_in")
    assert entries.count() == TEXTS
    assert len(set(entries.values_list("external_id", flat=True))) == TEXTS
    assert Inquiry.objects.count() == FAMILIES
    for i, sender in enumerate(senders):
        texts = list(
            entries.filter(inquiry__caller_phone=sender)
            .order_by("id")
            .values_list("text", flat=True)
        )
        assert texts == [f"melding {n}" for n in range(i, TEXTS, FAMILIES)]
    assert not InboundText.objects.exclude(body="").exists()
