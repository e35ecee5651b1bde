"""Sending one message, exactly once.

1. Under the row lock, a queued message becomes `sending` with a lease (a time only this
   attempt may talk to Twilio about it) and the attempt's start time; commit.
2. Without locks, ask Twilio to send it.
3. Under the row lock, store Twilio's SID and mark it `sent`; commit.

A worker can die between 2 and 3: Twilio has the SMS, the database still says `sending`. So an
attempt that finds a message already `sending` (whose lease has run out) first asks Twilio for
messages to that number with that exact text created since the earlier attempt began, and
adopts one it finds instead of sending again. The lease is longer than the Twilio client's
timeout, so two attempts never talk to Twilio about one message at the same time. An error
after which Twilio may have the message (5xx, timeout) leaves it `sending`, so the retry
reconciles too; a definite refusal (4xx) fails it with Twilio's error code.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import sms
from core.logfilters import redact

from .models import RANK, TO_FAMILY, Message, MessageStatus
from .services import TWILIO_STATUS, is_opted_out, lock_message, publish_status

logger = logging.getLogger(__name__)

# Twilio may have created the message a little before our clock says the attempt began.
RECONCILE_SLACK = dt.timedelta(minutes=2)
# After this many attempts a message is failed for the coordinator to see, not retried forever.
MAX_ATTEMPTS = 15


class RetryLater(Exception):
    """Twilio could not be reached or had an error; the message stays `sending`."""


def send_message(message_id: int, now: dt.datetime | None = None) -> str:
    """One attempt to send a message. Returns its status afterwards ("busy" if another
    attempt holds it). Raises RetryLater when a later attempt should try again."""
    now = now or timezone.now()
    with transaction.atomic():
        message = lock_message(pk=message_id)
        if message is None:
            return "missing"
        if message.status not in (MessageStatus.QUEUED, MessageStatus.SENDING):
            return message.status
        if message.lease_until is not None and message.lease_until > now:
            return "busy"
        if message.kind in TO_FAMILY and is_opted_out(message.to_phone):
            return _fail(message, now=now, reason="opted_out")
        if message.attempts >= MAX_ATTEMPTS:
            return _fail(message, now=now, reason="gave_up")
        reconcile = message.status == MessageStatus.SENDING
        if not reconcile:
            message.attempt_started_at = now
        message.status, message.status_at = MessageStatus.SENDING, now
        message.lease_until = now + dt.timedelta(seconds=settings.MESSAGE_SEND_LEASE_SECONDS)
        message.attempts += 1
        message.save()
    try:
        if reconcile:
            found = _already_sent(message)
            if found is not None:
                logger.info("message %s found sent as %s; not sending again", message.pk, found.sid)
                return _accepted(message.pk, found, now)
        accepted = sms.send_sms(
            to=message.to_phone, body=message.body, idempotency_key=message.idempotency_key
        )
    except sms.SmsError as exc:
        if exc.retryable:
            _release(message.pk)
            raise RetryLater(str(exc)) from None
        with transaction.atomic():
            locked = lock_message(pk=message.pk)
            assert locked is not None
            return _fail(locked, now=now, reason="refused", code=exc.code)
    return _accepted(message.pk, accepted, now)


def _already_sent(message: Message) -> sms.Accepted | None:
    assert message.attempt_started_at is not None
    candidates = sms.find_sent(
        to=message.to_phone, body=message.body, since=message.attempt_started_at - RECONCILE_SLACK
    )
    if not candidates:
        return None
    taken = set(
        Message.objects.filter(twilio_sid__in=[c.sid for c in candidates]).values_list(
            "twilio_sid", flat=True
        )
    )
    free = [c for c in candidates if c.sid not in taken]
    return free[-1] if free else None  # the oldest: the first attempt's


def _accepted(message_id: int, accepted: sms.Accepted, now: dt.datetime) -> str:
    with transaction.atomic():
        message = lock_message(pk=message_id)
        assert message is not None
        if message.twilio_sid is None:
            message.twilio_sid = accepted.sid
        status = TWILIO_STATUS.get(accepted.status, MessageStatus.SENT)
        if RANK[status] < RANK[MessageStatus.SENT]:
            status = MessageStatus.SENT
        if RANK[status] > RANK[MessageStatus(message.status)]:
            message.status, message.status_at = status, now
            message.twilio_status = accepted.status
        message.sent_at = message.sent_at or now
        message.lease_until = None
        _forget_link_token(message)
        message.save()
        publish_status(message)
        return message.status


def _forget_link_token(message: Message) -> None:
    """Once the SMS has gone (or will never go), its secure link's token is needed by nobody
    here: the link is found by the token's hash. The stored body keeps `/m/[token]`."""
    if message.sensitive:
        message.body = redact(message.body)


def _release(message_id: int) -> None:
    with transaction.atomic():
        message = lock_message(pk=message_id)
        if message is not None and message.status == MessageStatus.SENDING:
            message.lease_until = None
            message.save(update_fields=["lease_until"])


def _fail(message: Message, *, now: dt.datetime, reason: str, code: int | None = None) -> str:
    message.status, message.status_at = MessageStatus.FAILED, now
    message.error_reason, message.error_code = reason, code
    message.lease_until = None
    _forget_link_token(message)
    message.save()
    publish_status(message)
    logger.warning("message %s failed: %s %s", message.pk, reason, code or "")
    return message.status
