"""Outbound SMS: the console backend (demo, tests) keeps an outbox; the Twilio backend sends
through the real `twilio` client to TWILIO_API_BASE_URL. Callers pass a stable idempotency key;
the callers' own models make sure one key is sent once."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SentSms:
    to: str
    body: str
    sid: str
    idempotency_key: str


# What the console backend "sent", newest last. Demo mode and tests read it.
OUTBOX: list[SentSms] = []


class SmsError(Exception):
    """Twilio refused the message (`code` is Twilio's error code) or could not be reached."""

    def __init__(self, message: str, *, code: int | None = None, retryable: bool) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable


def backend_name() -> str:
    return "twilio" if settings.SMS_BACKEND == "twilio" else "console"


def send_sms(*, to: str, body: str, idempotency_key: str) -> str:
    """Send one SMS and return its SID. Logs carry the key, never the number or the text."""
    if backend_name() == "console":
        sid = "SM" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
        OUTBOX.append(SentSms(to=to, body=body, sid=sid, idempotency_key=idempotency_key))
        logger.info("sms %s kept in the console outbox as %s", idempotency_key, sid)
        return sid
    return _send_with_twilio(to=to, body=body, idempotency_key=idempotency_key)


def twilio_client() -> Any:
    from twilio.rest import Client

    client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
    client.api.base_url = settings.TWILIO_API_BASE_URL
    return client


def _send_with_twilio(*, to: str, body: str, idempotency_key: str) -> str:
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
    logger.info("sms %s sent as %s", idempotency_key, message.sid)
    return str(message.sid)
