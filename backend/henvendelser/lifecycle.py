"""The inquiry lifecycle (DESIGN.md §4) as one table. Every status change goes through here."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.exceptions import InvalidTransition

from .models import Status

NEW, IN_PROGRESS, AWAITING, ANSWERED, CLOSED = (
    Status.NEW,
    Status.IN_PROGRESS,
    Status.AWAITING_DOCTOR,
    Status.ANSWERED,
    Status.CLOSED,
)

# action -> {from status: to status}. An action not listed for a status is refused.
TRANSITIONS: dict[str, dict[str, str]] = {
    "claim": {NEW: IN_PROGRESS, IN_PROGRESS: IN_PROGRESS, AWAITING: AWAITING, ANSWERED: ANSWERED},
    "release": {IN_PROGRESS: NEW, AWAITING: AWAITING, ANSWERED: ANSWERED},
    # A doctor's answer can be needed in every open state: also after the family has had a
    # reply ("we are asking the doctor"), or when the family writes again after an answer.
    # Waiting for a doctor already is refused by the escalation service (one open at a time).
    "escalate": {NEW: AWAITING, IN_PROGRESS: AWAITING, ANSWERED: AWAITING},
    "doctor_answered": {AWAITING: IN_PROGRESS},
    # A reply while a doctor is working on it ("we are asking the doctor") keeps it waiting.
    "reply_sent": {NEW: ANSWERED, IN_PROGRESS: ANSWERED, ANSWERED: ANSWERED, AWAITING: AWAITING},
    # A new message from the family on an answered inquiry re-opens it: back to whoever had it,
    # or to the queue if nobody does.
    "reopen_claimed": {ANSWERED: IN_PROGRESS},
    "reopen_unclaimed": {ANSWERED: NEW},
    # An open escalation must be answered or withdrawn before the inquiry is closed.
    "close": {NEW: CLOSED, IN_PROGRESS: CLOSED, ANSWERED: CLOSED},
}

_REFUSALS: dict[str, Any] = {
    CLOSED: gettext_lazy("Henvendelsen er lukket."),
    AWAITING: gettext_lazy("Henvendelsen venter på svar fra lege."),
}


def next_status(action: str, current: str) -> str:
    """The status `action` leads to from `current`, or InvalidTransition."""
    allowed = TRANSITIONS[action]
    if current not in allowed:
        reason = str(_REFUSALS.get(current) or _("Det kan ikke gjøres i denne statusen."))
        raise InvalidTransition(reason, fields={"status": current, "action": action})
    return allowed[current]


def is_open(status: str) -> bool:
    return status != CLOSED


def allows(action: str, current: str) -> bool:
    return current in TRANSITIONS[action]
