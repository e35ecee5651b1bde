"""Exactly once: retries, re-runs, timeouts and a sender that dies after Twilio said yes."""

import datetime as dt

import pytest
from django.utils import timezone
from meldinger import sending
from meldinger.models import Message
from meldinger.services import Composed, queue_message
from meldinger.tasks import deliver

from core import sms


def test_running_the_task_twice_sends_once(queued, mother, fake_twilio):
    message = queued()
    deliver.apply(args=[message.pk])
    deliver.apply(args=[message.pk])
    assert len(fake_twilio.sent_to(mother.phone)) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)


def test_a_server_error_is_retried_and_sends_once(queued, mother, fake_twilio):
    fake_twilio.fail_next(500, 20500, "Internal Server Error")
    fake_twilio.fail_next(503, 20503, "Service Unavailable")
    message = queued()
    deliver.apply(args=[message.pk])
    message.refresh_from_db()
    assert message.status == "sent"
    assert message.attempts == 3
    assert len(fake_twilio.sent_to(mother.phone)) == 1


def test_a_refusal_fails_the_message_with_twilios_code(section, fake_twilio, mother):
    bad = "+4700"  # Twilio: not a valid 'To' number
    message = queue_message(
        section=section,
        kind="reply",
        to_phone=bad,
        composed=Composed("Hei", "Hei", False, None, None),
        language="nb",
        now=timezone.now(),
        idempotency_key="bad",
        contact=mother,
    )
    deliver.apply(args=[message.pk])
    message.refresh_from_db()
    assert (message.status, message.error_code, message.error_reason) == (
        "failed",
        21211,
        "refused",
    )
    assert message.attempts == 1  # a 4xx is not retried


def test_a_timeout_after_twilio_accepted_is_reconciled_not_resent(
    queued, mother, fake_twilio, settings
):
    """Twilio created the message but answered too late: the retry finds it in Twilio's
    message list and adopts its SID instead of sending a second SMS."""
    settings.TWILIO_TIMEOUT_SECONDS = 0.5
    fake_twilio.stall_next(1.5)
    message = queued()
    deliver.apply(args=[message.pk])
    [sent] = fake_twilio.sent_to(mother.phone)
    message.refresh_from_db()
    assert message.status == "sent"
    assert message.twilio_sid == sent["sid"]
    assert message.attempts == 2
    assert any(method == "GET" for method, _path, _params in fake_twilio.requests)


def test_a_sender_killed_between_twilios_answer_and_the_commit_does_not_double(
    queued, mother, fake_twilio, monkeypatch
):
    message = queued()

    def die(*args, **kwargs):
        raise SystemExit("worker killed")

    monkeypatch.setattr(sending, "_accepted", die)
    with pytest.raises(SystemExit):
        sending.send_message(message.pk)
    monkeypatch.undo()
    message.refresh_from_db()
    assert message.status == "sending" and message.twilio_sid is None
    # While its lease runs, nobody else touches it.
    assert sending.send_message(message.pk) == "busy"
    # After the lease, the next attempt (the sweep's, or the redelivered task's) reconciles.
    later = timezone.now() + dt.timedelta(minutes=3)
    assert sending.send_message(message.pk, now=later) == "sent"
    [sent] = fake_twilio.sent_to(mother.phone)
    message.refresh_from_db()
    assert message.twilio_sid == sent["sid"]


def test_two_identical_texts_to_one_number_are_two_messages(queued, mother, fake_twilio):
    """Reconciling adopts only a SID no other message holds."""
    first, second = queued(key="a"), queued(key="b")
    deliver.apply(args=[first.pk])
    deliver.apply(args=[second.pk])
    assert len(fake_twilio.sent_to(mother.phone)) == 2
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.twilio_sid != second.twilio_sid


def test_the_outbox_sweep_hands_over_what_no_worker_took(queued, mother, fake_twilio):
    from meldinger.services import sweep_outbox

    message = queued()  # its on-commit hand-over never ran: as if the broker was down
    assert sweep_outbox(now=timezone.now())["requeued"] == 0  # not stuck yet
    with_commit = sweep_outbox(now=timezone.now() + dt.timedelta(minutes=3))
    assert with_commit["requeued"] == 1
    message.refresh_from_db()


def test_the_outbox_sweep_sends_once_after_the_broker_was_down(
    queued, mother, fake_twilio, django_capture_on_commit_callbacks, monkeypatch
):
    from meldinger.services import sweep_outbox

    def broker_down(*args, **kwargs):
        raise ConnectionError("redis unreachable")

    monkeypatch.setattr(deliver, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        message = queued()  # the hand-over fails and is logged; the row stays queued
    message.refresh_from_db()
    assert message.status == "queued"
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        sweep_outbox(now=timezone.now() + dt.timedelta(minutes=3))
    with django_capture_on_commit_callbacks(execute=True):
        sweep_outbox(now=timezone.now() + dt.timedelta(minutes=6))
    message.refresh_from_db()
    assert message.status == "sent"
    assert len(fake_twilio.sent_to(mother.phone)) == 1


def test_a_message_opted_out_after_queuing_is_not_sent(queued, mother, fake_twilio):
    from meldinger.models import OptOut

    message = queued()
    OptOut.objects.create(phone=mother.phone, changed_at=timezone.now())
    deliver.apply(args=[message.pk])
    message.refresh_from_db()
    assert (message.status, message.error_reason) == ("failed", "opted_out")
    assert fake_twilio.messages == []


def test_the_console_backend_keeps_an_outbox(queued, mother):
    message = queued()
    deliver.apply(args=[message.pk])
    assert [m.to for m in sms.OUTBOX] == [mother.phone]
    assert Message.objects.get(pk=message.pk).twilio_sid == sms.OUTBOX[0].sid


def test_logs_carry_ids_not_numbers_or_text(queued, mother, fake_twilio, settings, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    settings.TWILIO_TIMEOUT_SECONDS = 0.5
    fake_twilio.stall_next(1.5)  # a send, a timeout, a message list by number, a reconcile
    message = queued(text="Timen er flyttet til fredag.")
    deliver.apply(args=[message.pk])
    message.refresh_from_db()
    assert message.status == "sent"
    assert caplog.records
    assert mother.phone not in caplog.text
    assert mother.phone.replace("+", "%2B") not in caplog.text
    assert "fredag" not in caplog.text
