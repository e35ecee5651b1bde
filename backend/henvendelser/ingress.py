"""The SMS webhook served on Daphne's event loop, in front of Django.

Twilio's texts are the service's busiest way in. As a Django view, a text costs Daphne the
request's thread, the middleware chain and, above all, the hand-backs between that thread and
the event loop at every round trip to PostgreSQL and Redis (docs/benchmarks.md). Here the same
work is done on the loop, its round trips awaited (core.loop).

It does what the view does (webhooks.sms), with the view's own parts: Django's request object
(the Host header checked against ALLOWED_HOSTS, the form parsed as Django parses it),
`webhooks.refusal` (signature, Twilio's ids), `read_sms`, the inbox's statement
(`inbox.accept_sms_on_loop`), `sms_answer`; an error becomes the response Django makes of it
(`response_for_exception`: logged, 500, so Twilio retries). The request's time goes into the
same histogram as every other request's (core.metrics).

It takes only a POST to the SMS webhook's URL with a form body of stated length within
DATA_UPLOAD_MAX_MEMORY_SIZE, on PostgreSQL. The rest goes to Django unchanged, a body already
read handed on with it: other URLs and methods, other databases (SQLite under `make run`), other
bodies, a Host Django refuses, a form Django cannot parse, and opt-out keywords (rare; recorded
under the section's lock by `meldinger.services.handle_keyword`).

Left out of Django's chain, as the view needs none of it: sessions, CSRF (Twilio signs instead),
authentication, messages and locale (the answer is in LANGUAGE_CODE). The security headers every
answer gets are added as the middleware adds them (`core.middleware.with_security_headers`).
"""

from __future__ import annotations

import io
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.handlers.asgi import ASGIHandler, ASGIRequest
from django.core.handlers.exception import response_for_exception
from django.db import connection
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone, translation

from core.metrics import observe_request
from core.middleware import with_security_headers

from .services.inbox import accept_sms_on_loop
from .webhooks import read_sms, refusal, sms_answer

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]

FORM = b"application/x-www-form-urlencoded"


class ForDjango(Exception):
    """This request is Django's to serve."""


class SmsWebhookOnLoop:
    """ASGI: texts to the SMS webhook served here on PostgreSQL, every other request by
    `django_app` (Django's handler)."""

    def __init__(self, django_app: ASGIHandler) -> None:
        self.django = django_app
        self.path = reverse("twilio-sms")
        self.enabled = connection.vendor == "postgresql"

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if not self._takes(scope):
            return await self.django(scope, receive, send)
        started = time.perf_counter()
        body = await _read_body(receive)
        if body is None:
            return  # the client went away before it had sent the text
        try:
            response = await self._serve(scope, body)
        except ForDjango:
            return await self.django(scope, _replayed(body, receive), send)
        await self.django.send_response(with_security_headers(self.path, response), send)
        observe_request(time.perf_counter() - started)

    def _takes(self, scope: dict[str, Any]) -> bool:
        if not (
            self.enabled
            and scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == self.path
        ):
            return False
        headers = dict(scope["headers"])
        try:
            length = int(headers.get(b"content-length", b""))
        except ValueError:
            return False
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE  # None: no limit, as Django reads it
        return content_type == FORM and length >= 0 and (limit is None or length <= limit)

    async def _serve(self, scope: dict[str, Any], body: bytes) -> HttpResponse:
        try:
            request = ASGIRequest(scope, io.BytesIO(body))
            request.get_host()
            request.POST  # noqa: B018 (parsed now, so that Django answers a form it refuses)
        except (SuspiciousOperation, RequestDataTooBig, UnicodeDecodeError) as error:
            raise ForDjango from error
        now = timezone.now()
        try:
            with translation.override(settings.LANGUAGE_CODE):
                refused = refusal(request)
                if refused is not None:
                    return refused
                text = read_sms(request)
                if isinstance(text, HttpResponse):
                    return text
                if text.keyword is not None:
                    raise ForDjango
                section, accepted = await accept_sms_on_loop(text, now)
                return sms_answer(section, accepted, now)
        except ForDjango:
            raise
        except Exception as exc:
            return response_for_exception(request, exc)


async def _read_body(receive: Receive) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replayed(body: bytes, receive: Receive) -> Receive:
    """`receive` as if the body had not been read yet."""
    given = False

    async def replay() -> dict[str, Any]:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
