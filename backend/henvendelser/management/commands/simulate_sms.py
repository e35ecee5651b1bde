"""Send a signed Twilio SMS webhook to a running Kontaktpunkt, as Twilio would.

    cd backend && ../.venv/bin/python manage.py simulate_sms --from +4791000001 "Emma har feber"

Signs with TWILIO_AUTH_TOKEN for PUBLIC_BASE_URL (both have demo defaults), so the request
takes exactly the path a real one does.
"""

from __future__ import annotations

import secrets
import urllib.parse
import urllib.request
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from twilio.request_validator import RequestValidator


class Command(BaseCommand):
    help = "Send a signed SMS webhook to the running service (demo and testing)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("body")
        parser.add_argument("--from", dest="sender", default="+4791000001")
        parser.add_argument("--to", default=settings.TWILIO_FROM_NUMBER)
        parser.add_argument("--sid", default=None, help="MessageSid (repeat one to see a retry)")

    def handle(self, *args: Any, **options: Any) -> None:
        path = "/webhooks/twilio/sms/"
        params = {
            "MessageSid": options["sid"] or "SM" + secrets.token_hex(16),
            "AccountSid": settings.TWILIO_ACCOUNT_SID,
            "From": options["sender"],
            "To": options["to"],
            "Body": options["body"],
            "NumMedia": "0",
        }
        url = settings.PUBLIC_BASE_URL + path
        signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)
        request = urllib.request.Request(  # noqa: S310 - our own configured base URL
            url,
            data=urllib.parse.urlencode(params).encode(),
            method="POST",
            headers={"X-Twilio-Signature": signature},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            self.stdout.write(f"{response.status} {params['MessageSid']}")
            self.stdout.write(response.read().decode())
