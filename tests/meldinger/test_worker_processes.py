"""Exactly once with real processes: a Celery worker killed by SIGKILL the moment Twilio accepted
its message, and Redis killed and restarted with a task in its queue. Each test runs its own
`redis-server` (so it can kill it) and real `celery worker` processes on the tests' database,
sending through the real `twilio` client to the fake Twilio."""

from __future__ import annotations

import datetime as dt
import threading
import time
from types import SimpleNamespace

import pytest
from django.utils import timezone
from meldinger import tasks
from meldinger.models import Message

from tests.factories import ContactFactory
from tests.processes import send_task, wait_for, worker_env

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def twilio(fake_twilio_server):
    return fake_twilio_server


@pytest.fixture
def hand_over_to_broker(monkeypatch, broker):
    """The web process's hand-over after commit (`deliver.delay`) publishes to the test's
    Redis, where this test process's tasks otherwise run in-process."""
    publish = SimpleNamespace(delay=lambda pk: send_task(broker, "meldinger.tasks.deliver", pk))
    monkeypatch.setattr(tasks, "deliver", publish)


def wait_for_status(message: Message, status: str, timeout: float = 30) -> Message:
    def reached() -> Message | None:
        current = Message.objects.get(pk=message.pk)
        return current if current.status == status else None

    return wait_for(reached, timeout, f"message {message.pk} to be {status}")


def test_a_worker_killed_right_after_twilio_accepted_sends_once(
    broker, twilio, workers, queued, mother, hand_over_to_broker
):
    env = worker_env(broker, twilio.url, MESSAGE_SEND_LEASE_SECONDS="2", TWILIO_TIMEOUT_SECONDS="1")
    first = workers(env, "first")
    accepted = threading.Event()

    def kill_the_worker(resource: dict[str, object]) -> None:
        first.kill()  # Twilio has the message; the worker never hears so
        accepted.set()

    twilio.after_create = kill_the_worker
    message = queued()
    assert accepted.wait(30), first.output()[-3000:]
    twilio.after_create = None

    message.refresh_from_db()
    assert (message.status, message.twilio_sid) == ("sending", None)
    assert len(twilio.sent_to(mother.phone)) == 1
    assert message.lease_until is not None
    time.sleep(max(0.0, (message.lease_until - timezone.now()).total_seconds()) + 0.2)

    # A worker comes back; beat's outbox sweep finds the expired lease and hands it over.
    workers(env, "second")
    send_task(broker, "meldinger.tasks.sweep_outbox")
    sent = wait_for_status(message, "sent")
    [sms] = twilio.sent_to(mother.phone)
    assert sent.twilio_sid == sms["sid"]
    assert sent.attempts == 2  # the killed attempt and the reconciling one


def test_redis_restarted_with_a_task_in_its_queue_loses_no_message(
    broker, twilio, workers, queued, mother, patient, hand_over_to_broker
):
    father = ContactFactory(patient=patient, phone="+4791000002", language="nb", sms_consent=True)
    env = worker_env(
        broker,
        twilio.url,
        MESSAGE_SEND_LEASE_SECONDS="30",
        TWILIO_TIMEOUT_SECONDS="20",
        OUTBOX_STUCK_SECONDS="1",
    )
    workers(env, "only")
    in_call, hang_up = threading.Event(), threading.Event()

    def hold_the_answer(resource: dict[str, object]) -> None:
        in_call.set()
        hang_up.wait(20)

    twilio.after_create = hold_the_answer
    to_mother = queued(key="mother")
    assert in_call.wait(30)  # the worker is busy with Twilio...
    to_father = queued(key="father", contact=father)
    assert broker.queue_length() == 1  # ...so the father's task waits in Redis

    broker.restart()  # nothing on disk: the queue is gone
    assert broker.queue_length() == 0
    twilio.after_create = None
    hang_up.set()

    wait_for_status(to_mother, "sent")
    assert Message.objects.get(pk=to_father.pk).status == "queued"
    assert twilio.sent_to(father.phone) == []

    # The database still has it queued; once it counts as stuck, the sweep hands it over again
    # (the worker has reconnected to the new Redis meanwhile).
    stuck_at = to_father.status_at + dt.timedelta(seconds=1)
    time.sleep(max(0.0, (stuck_at - timezone.now()).total_seconds()) + 0.2)
    send_task(broker, "meldinger.tasks.sweep_outbox")
    wait_for_status(to_father, "sent")
    assert len(twilio.sent_to(mother.phone)) == 1
    assert len(twilio.sent_to(father.phone)) == 1
