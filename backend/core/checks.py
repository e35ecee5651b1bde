"""Configuration checks that Django runs at start-up (`manage.py check`, runserver, migrate)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register


@register()
def send_lease_outlasts_twilio_timeout(**kwargs: Any) -> list[Error]:
    """Exactly-once sending relies on it: a second attempt may only reconcile once the first
    attempt has either had Twilio's answer or given up waiting for it."""
    if settings.MESSAGE_SEND_LEASE_SECONDS > settings.TWILIO_TIMEOUT_SECONDS:
        return []
    return [
        Error(
            "MESSAGE_SEND_LEASE_SECONDS must be longer than TWILIO_TIMEOUT_SECONDS",
            hint="Otherwise two attempts could talk to Twilio about one message at once.",
            id="kontaktpunkt.E001",
        )
    ]
