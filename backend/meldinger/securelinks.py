"""Secure links (`/m/<token>`): a sensitive message is read only after the child's date of
birth is given. The token carries 192 random bits and opens one message; it expires (default
7 days) and locks after 5 wrong answers. Every opening, failure and lock is audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import audit

from .models import Message, SecureLink

TOKEN_BYTES = 24


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(*, message: Message, token: str, now: dt.datetime) -> SecureLink:
    return SecureLink.objects.create(
        message=message,
        token_hash=token_hash(token),
        expires_at=now + dt.timedelta(days=settings.SECURE_LINK_DAYS),
    )


def find(token: str) -> SecureLink | None:
    if not token or len(token) > 64:
        return None
    return (
        SecureLink.objects.select_related("message__patient", "message__inquiry")
        .filter(token_hash=token_hash(token))
        .first()
    )


def usable(link: SecureLink | None, now: dt.datetime) -> bool:
    return link is not None and link.locked_at is None and link.expires_at > now


def state(link: SecureLink, now: dt.datetime) -> str:
    """What staff see of a link (never its token): locked, expired, opened or sent."""
    if link.locked_at is not None:
        return "locked"
    if link.expires_at <= now:
        return "expired"
    return "opened" if link.first_opened_at is not None else "sent"


@dataclass(frozen=True)
class Attempt:
    opened: bool
    locked: bool
    attempts_left: int


def audit_link(link: SecureLink, action: str, **detail: Any) -> None:
    message = link.message
    audit.record(
        user=None,
        action=action,
        obj=message,
        patient_id=message.patient_id,
        section_id=message.section_id,
        detail={"link": link.pk, **detail},
    )


def try_open(*, token: str, birth_date: dt.date | None, now: dt.datetime | None = None) -> Attempt:
    """Check the date of birth against the message's patient, under the link's row lock so
    parallel guesses count one by one."""
    now = now or timezone.now()
    limit = settings.SECURE_LINK_MAX_FAILURES
    with transaction.atomic():
        found = find(token)
        if found is None:
            return Attempt(opened=False, locked=False, attempts_left=0)
        link = (
            SecureLink.objects.select_for_update(of=("self",))
            .select_related("message__patient")
            .get(pk=found.pk)
        )
        if link.locked_at is not None or link.expires_at <= now:
            audit_link(link, "securelink.refused", locked=link.locked_at is not None)
            return Attempt(opened=False, locked=link.locked_at is not None, attempts_left=0)
        patient = link.message.patient
        if birth_date is not None and patient is not None and patient.birth_date == birth_date:
            link.first_opened_at = link.first_opened_at or now
            link.open_count += 1
            link.save(update_fields=["first_opened_at", "open_count"])
            audit_link(link, "securelink.opened", count=link.open_count)
            return Attempt(opened=True, locked=False, attempts_left=limit - link.failed_attempts)
        link.failed_attempts += 1
        if link.failed_attempts >= limit:
            link.locked_at = now
        link.save(update_fields=["failed_attempts", "locked_at"])
        audit_link(link, "securelink.failed", attempts=link.failed_attempts)
        if link.locked_at is not None:
            audit_link(link, "securelink.locked")
        return Attempt(
            opened=False,
            locked=link.locked_at is not None,
            attempts_left=max(0, limit - link.failed_attempts),
        )
