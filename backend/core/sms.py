"""Outbound SMS: the console backend (demo, tests) keeps an outbox; the Twilio backend sends
through the real `twilio` client to TWILIO_API_BASE_URL. Both can also list what they sent to a
number, which is how a send that may or may not have happened is reconciled before a retry.
Logs carry ids, never numbers or text."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)

RECONCILE_PAGE = 50


@dataclass(frozen=True)
class SentSms:
    to: str
    body: str
    sid: str
    idempotency_key: str
    created_at: dt.datetime


@dataclass(frozen=True)
class Accepted:
    """A message the provider has: its SID, its provider status and when it was created."""

    sid: str
    status: str
    body: str = ""
    created_at: dt.datetime | None = None


# What the console backend "sent", newest last. Demo mode and tests read it.
OUTBOX: list[SentSms] = []


class SmsError(Exception):
    """Twilio refused the message (`code` is Twilio's error code) or could not be reached.
    `retryable` is False only when Twilio said no for good (a 4xx such as an invalid number);
    after a retryable error the message may or may not have been accepted."""

    def __init__(self, message: str, *, code: int | None = None, retryable: bool) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable


def backend_name() -> str:
    return "twilio" if settings.SMS_BACKEND == "twilio" else "console"


def send_sms(*, to: str, body: str, idempotency_key: str) -> Accepted:
    """Hand one SMS to the provider."""
    if backend_name() == "console":
        sid = "SM" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
        OUTBOX.append(
            SentSms(
                to=to,
                body=body,
                sid=sid,
                idempotency_key=idempotency_key,
                created_at=timezone.now(),
            )
        )
        logger.info("sms %s kept in the console outbox as %s", idempotency_key, sid)
        return Accepted(sid=sid, status="sent", body=body)
    return _send_with_twilio(to=to, body=body, idempotency_key=idempotency_key)


def find_sent(*, to: str, body: str, since: dt.datetime) -> list[Accepted]:
    """Messages the provider holds to `to` with exactly `body`, created at or after `since`,
    newest first. Raises SmsError (retryable) if the provider cannot be asked."""
    if backend_name() == "console":
        return [
            Accepted(sid=m.sid, status="sent", body=m.body, created_at=m.created_at)
            for m in reversed(OUTBOX)
            if m.to == to and m.body == body and m.created_at >= since
        ]
    from twilio.base.exceptions import TwilioException

    try:
        found = twilio_client().messages.list(
            to=to, from_=settings.TWILIO_FROM_NUMBER, limit=RECONCILE_PAGE
        )
    except (TwilioException, OSError) as exc:
        logger.warning("twilio message list failed: %s", type(exc).__name__)
        raise SmsError(type(exc).__name__, retryable=True) from None
    return [
        Accepted(sid=str(m.sid), status=str(m.status), body=str(m.body), created_at=m.date_created)
        for m in found
        if m.body == body and m.date_created is not None and m.date_created >= since
    ]


def twilio_client() -> Any:
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    client = Client(
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        http_client=TwilioHttpClient(timeout=settings.TWILIO_TIMEOUT_SECONDS),
    )
    client.api.base_url = settings.TWILIO_API_BASE_URL
    return client


def _send_with_twilio(*, to: str, body: str, idempotency_key: str) -> Accepted:
    from twilio.base.exceptions import TwilioException, TwilioRestException

    try:
        message = twilio_client().messages.create(
            to=to,
            from_=settings.TWILIO_FROM_NUMBER,
            body=body,
            status_callback=settings.PUBLIC_BASE_URL + "/webhooks/twilio/status/",
        )
    except TwilioRestException as exc:
        retryable = exc.status >= 500 or exc.status == 429
        logger.warning(
            "sms %s refused by Twilio: status %s code %s", idempotency_key, exc.status, exc.code
        )
        raise SmsError(str(exc.msg), code=exc.code, retryable=retryable) from None
    except (TwilioException, OSError) as exc:
        logger.warning("sms %s not sent: %s", idempotency_key, type(exc).__name__)
        raise SmsError(type(exc).__name__, retryable=True) from None
    logger.info("sms %s accepted as %s", idempotency_key, message.sid)
    return Accepted(sid=str(message.sid), status=str(message.status or "queued"), body=body)
