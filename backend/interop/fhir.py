"""FHIR R4 resources built from our records: `Communication` for each text to or from a family
(inbound SMS, a reply on the secure page, a voicemail; every message we sent), and `Task` for
each question escalated to a doctor. Plain dicts in FHIR's JSON shape; tests validate them with
`fhir.resources`. Ids are ours, prefixed by kind, so they are stable across exports.

What is exported is what a clinician may read (core.access READ_CLINICAL): the words of the
family and the doctor, never a secure link's token, never a phone number.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from eskalering.models import Escalation, State
from meldinger.models import Message, MessageStatus

from henvendelser.models import EntryKind, Patient, TimelineEntry
from triage.urgency import urgency_of

PARTICIPATION_MODE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
# Our own identifiers: the base URL of the deployment names the system.
MESSAGE_SYSTEM = "/fhir/sid/message"
INQUIRY_SYSTEM = "/fhir/sid/inquiry"
ESCALATION_SYSTEM = "/fhir/sid/escalation"

INBOUND_KINDS = {
    EntryKind.SMS_IN: ("WRITTEN", "written", "SMS"),
    EntryKind.WEB_IN: ("ONLINEWRIT", "online written", "Sikker side"),
    EntryKind.VOICEMAIL: ("PHONE", "telephone", "Talemelding"),
}

# Communication.status (event-status) for each of our message statuses.
MESSAGE_STATUS = {
    MessageStatus.SCHEDULED: "preparation",
    MessageStatus.QUEUED: "preparation",
    MessageStatus.SENDING: "in-progress",
    MessageStatus.SENT: "completed",
    MessageStatus.DELIVERED: "completed",
    MessageStatus.UNDELIVERED: "not-done",
    MessageStatus.FAILED: "not-done",
    MessageStatus.CANCELLED: "stopped",
}

# Task.status for each escalation state.
TASK_STATUS = {State.OPEN: "requested", State.ACKNOWLEDGED: "accepted", State.ANSWERED: "completed"}
# Task.priority (request-priority) for each urgency, from the one urgency rule.
TASK_PRIORITY = {"red": "stat", "alarm": "stat", "amber": "urgent", "green": "routine"}


def _system(path: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def _instant(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _patient_ref(patient: Patient) -> dict[str, str]:
    return {"reference": f"Patient/{patient.pk}", "display": patient.full_name}


def _inquiry_topic(inquiry_id: int | None) -> dict[str, Any]:
    return {
        "coding": [{"system": _system(INQUIRY_SYSTEM), "code": str(inquiry_id)}],
        "text": f"Henvendelse {inquiry_id}",
    }


def _drop_empty(resource: dict[str, Any]) -> dict[str, Any]:
    """FHIR forbids empty values: no nulls, no empty strings, lists or objects."""
    return {k: v for k, v in resource.items() if v not in (None, "", [], {})}


def inbound_communication(entry: TimelineEntry, patient: Patient) -> dict[str, Any]:
    code, display, text = INBOUND_KINDS[EntryKind(entry.kind)]
    contact = entry.inquiry.contact
    return _drop_empty(
        {
            "resourceType": "Communication",
            "id": f"in-{entry.pk}",
            "identifier": [{"system": _system(MESSAGE_SYSTEM), "value": f"in-{entry.pk}"}],
            "status": "completed",
            "medium": [
                {
                    "coding": [{"system": PARTICIPATION_MODE, "code": code, "display": display}],
                    "text": text,
                }
            ],
            "subject": _patient_ref(patient),
            "topic": _inquiry_topic(entry.inquiry_id),
            "received": _instant(entry.at),
            "sender": (
                {"reference": f"RelatedPerson/{contact.pk}", "display": contact.name}
                if contact is not None
                else {"display": "Ukjent innringer"}
            ),
            "payload": [{"contentString": entry.text}] if entry.text else [],
        }
    )


def outbound_communication(message: Message, patient: Patient) -> dict[str, Any]:
    contact = message.contact
    return _drop_empty(
        {
            "resourceType": "Communication",
            "id": f"out-{message.pk}",
            "identifier": [{"system": _system(MESSAGE_SYSTEM), "value": f"out-{message.pk}"}],
            "status": MESSAGE_STATUS[MessageStatus(message.status)],
            "category": [{"text": message.get_kind_display()}],
            "medium": [
                {
                    "coding": [
                        {"system": PARTICIPATION_MODE, "code": "WRITTEN", "display": "written"}
                    ],
                    "text": "SMS (innhold bak sikker lenke)" if message.sensitive else "SMS",
                }
            ],
            "subject": _patient_ref(patient),
            "topic": _inquiry_topic(message.inquiry_id) if message.inquiry_id else None,
            "sent": _instant(message.sent_at),
            "received": _instant(message.delivered_at),
            "recipient": (
                [{"reference": f"RelatedPerson/{contact.pk}", "display": contact.name}]
                if contact is not None
                else []
            ),
            # What the family read: the whole content (behind the link when it is sensitive).
            "payload": [{"contentString": message.content}] if message.content else [],
        }
    )


def escalation_task(escalation: Escalation, patient: Patient | None) -> dict[str, Any]:
    urgency = urgency_of(grade=escalation.grade or None, alarm=escalation.inquiry.alarm)
    answered = escalation.state == State.ANSWERED
    return _drop_empty(
        {
            "resourceType": "Task",
            "id": f"escalation-{escalation.pk}",
            "identifier": [{"system": _system(ESCALATION_SYSTEM), "value": str(escalation.pk)}],
            "status": TASK_STATUS[State(escalation.state)],
            "intent": "order",
            "priority": TASK_PRIORITY.get(urgency.key, "routine"),
            "code": {"text": f"Spørsmål til {escalation.get_target_display()}"},
            "description": escalation.question,
            "focus": {
                "identifier": {
                    "system": _system(INQUIRY_SYSTEM),
                    "value": str(escalation.inquiry_id),
                }
            },
            "for": _patient_ref(patient) if patient is not None else None,
            "authoredOn": _instant(escalation.created_at),
            "lastModified": _instant(
                escalation.answered_at or escalation.acknowledged_at or escalation.created_at
            ),
            "requester": _user_ref(escalation.created_by),
            "owner": _user_ref(escalation.doctor),
            # The answer is due by then (acknowledging it has its own, earlier deadline).
            "restriction": {"period": {"end": _instant(escalation.answer_due_at)}},
            "output": (
                [
                    {
                        "type": {"text": "Svar fra lege"},
                        "valueString": escalation.answer,
                    }
                ]
                if answered and escalation.answer
                else []
            ),
        }
    )


def _user_ref(user: Any) -> dict[str, str] | None:
    if user is None:
        return None
    name = f"{user.first_name} {user.last_name}".strip() or user.get_username()
    return {"reference": f"Practitioner/{user.pk}", "display": name}


def searchset(resources: list[dict[str, Any]], self_url: str) -> dict[str, Any]:
    """A FHIR searchset Bundle of `resources`, every one a match."""
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "link": [{"relation": "self", "url": self_url}],
        "entry": [
            {
                "fullUrl": f"{_system('/api/fhir')}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }
