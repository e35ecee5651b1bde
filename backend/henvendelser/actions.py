"""What a user may do with an inquiry now, and what its page must show first.

The lifecycle (henvendelser.lifecycle) says what each status allows and core.access who may; this
module puts the two together once, so the API answers and the pages show the same thing. A page
offers a button only when the inquiry's `actions` list it.
"""

from __future__ import annotations

from typing import Any

from core import access
from core.access import Action
from triage.urgency import urgency_of_inquiry

from . import lifecycle
from .models import EntryKind, Inquiry, Status

ACTION_RULES: dict[str, Action] = {
    "claim": Action.WORK_INQUIRY,
    "release": Action.WORK_INQUIRY,
    "close": Action.WORK_INQUIRY,
    "link_patient": Action.WORK_INQUIRY,
    "escalate": Action.ESCALATE,
    "assess": Action.ASSESS,
    # The secretary may reply too, with the practical templates only (access.message_action).
    "reply": Action.SEND_PRACTICAL_MESSAGE,
    "note": Action.WRITE_NOTE,
}

INBOUND_KINDS = (EntryKind.SMS_IN, EntryKind.WEB_IN, EntryKind.VOICEMAIL)


def latest_escalation(inquiry: Inquiry) -> Any | None:
    """The inquiry's newest escalation, as `selectors.attach_escalations` gave it to a row read
    through the queue's selectors, else from the database."""
    if hasattr(inquiry, "latest_escalation"):
        return inquiry.latest_escalation
    return inquiry.escalations.select_related("doctor").order_by("-created_at", "-pk").first()


def available_actions(*, inquiry: Inquiry, user: Any) -> list[str]:
    """The actions `user` may take on `inquiry` in its present state, in a stable order."""
    status = inquiry.status
    escalation = latest_escalation(inquiry)
    waiting_for_doctor = escalation is not None and escalation.state != "answered"
    mine = inquiry.claimed_by_id is not None and inquiry.claimed_by_id == user.pk
    possible = {
        "claim": lifecycle.allows("claim", status) and not mine,
        "release": inquiry.claimed_by_id is not None
        and lifecycle.allows("release", status)
        and (mine or access.may(user, Action.REASSIGN_INQUIRY)),
        "close": lifecycle.allows("close", status),
        "link_patient": inquiry.patient_id is None and status != Status.CLOSED,
        "escalate": lifecycle.allows("escalate", status) and not waiting_for_doctor,
        "assess": status != Status.CLOSED,
        "reply": status != Status.CLOSED,
        "note": True,
    }
    return [
        action
        for action, allowed in possible.items()
        if allowed and access.may(user, ACTION_RULES[action], inquiry.section_id)
    ]


def doctor_needed_now(inquiry: Inquiry, entries: list[Any]) -> bool:
    """True while a red (or possibly red) inquiry has no doctor on it: never escalated, or it
    became red again after the doctor's answer. The page's red banner shows exactly then."""
    if inquiry.status == Status.CLOSED or urgency_of_inquiry(inquiry).rank != 0:
        return False
    escalation = latest_escalation(inquiry)
    if escalation is None:
        return True
    if escalation.state != "answered":
        return False
    became_red = [
        entry.at
        for entry in entries
        if (entry.kind == EntryKind.ASSESSMENT and (entry.data or {}).get("grade") == "red")
        or (entry.kind in INBOUND_KINDS and (entry.data or {}).get("alarm_terms"))
    ]
    return bool(became_red) and max(became_red) > escalation.answered_at


def latest_inbound(entries: list[Any]) -> Any | None:
    """The family's newest words (a text, a secure-page answer or a voicemail)."""
    inbound = [entry for entry in entries if entry.kind in INBOUND_KINDS]
    return inbound[-1] if inbound else None
