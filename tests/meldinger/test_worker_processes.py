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
from meldinger.services import Composed, queue_message

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


def test_workers_killed_again_and_again_while_sending_200_send_each_exactly_once(
    broker, twilio, workers, section, patient, hand_over_to_broker
):
    """Issue 12's fault: 200 messages in the outbox, and the worker sending them killed by
    SIGKILL over and over, at whatever point of a send it has reached (before Twilio, between
    Twilio's answer and the SID being stored...). Beat's sweep runs as usual. Every message is
    sent exactly once: one SMS per family at Twilio, each message `sent` with that SMS's SID."""
    env = worker_env(
        broker,
        twilio.url,
        MESSAGE_SEND_LEASE_SECONDS="2",
        TWILIO_TIMEOUT_SECONDS="1",
        OUTBOX_STUCK_SECONDS="1",
    )
    families = ContactFactory.create_batch(200, patient=patient, language="nb", sms_consent=True)
    # Twilio answers in 30 ms here, so a worker is mid-send most of the time it is alive.
    twilio.after_create = lambda resource: time.sleep(0.03)
    messages = [
        queue_message(
            section=section,
            kind="reply",
            to_phone=family.phone,
            composed=Composed(
                f"Svar {n}: timen er flyttet.", f"Svar {n}: timen er flyttet.", False, None, None
            ),
            language="nb",
            now=timezone.now(),
            idempotency_key=f"storm-{n}",
            contact=family,
        )
        for n, family in enumerate(families)
    ]
    ids = [m.pk for m in messages]

    def sent() -> int:
        return Message.objects.filter(pk__in=ids, status="sent").count()

    kills = 0
    for life in range(10):
        worker = workers(env, f"storm{life}")
        time.sleep(0.4 + 0.25 * (life % 4))  # killed at a different point each time
        worker.kill()
        kills += 1
        send_task(broker, "meldinger.tasks.sweep_outbox")  # as beat does every minute
        if sent() == len(ids):
            break
    # The kills landed mid-send: messages left `sending` by a dead worker, some of them
    # already accepted by Twilio (which has more than the outbox knows were sent).
    assert kills >= 2
    assert Message.objects.filter(pk__in=ids, status="sending").exists()
    assert len(twilio.messages) > sent()

    workers(env, "last")
    deadline = time.monotonic() + 120
    while sent() < len(ids) and time.monotonic() < deadline:
        send_task(broker, "meldinger.tasks.sweep_outbox")
        time.sleep(1.5)
    assert sent() == len(ids)

    by_phone: dict[str, list[dict]] = {}
    for sms in twilio.messages:
        by_phone.setdefault(sms["to"], []).append(sms)
    assert sorted(by_phone) == sorted(f.phone for f in families)
    assert all(len(sent_to) == 1 for sent_to in by_phone.values())
    for message in Message.objects.filter(pk__in=ids):
        [sms] = by_phone[message.to_phone]
        assert message.twilio_sid == sms["sid"]
        assert sms["body"] == message.body
