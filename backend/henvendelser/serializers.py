"""Output shapes shared by the API, the websocket events and the pages."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core import access
from core.access import Action
from triage.urgency import urgency_of_inquiry

from . import actions
from .models import EntryKind, Inquiry, TimelineEntry
from .validators import safe_recording_url

PREVIEW_CHARS = 160


def display_name(user: Any) -> str | None:
    if user is None:
        return None
    return user.get_full_name() or user.get_username()


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.SerializerMethodField()

    def get_name(self, user: Any) -> str | None:
        return display_name(user)


_DATETIME = serializers.DateTimeField()


def _when(value: Any) -> str | None:
    """A timestamp as DRF writes it (in Oslo time, ISO 8601)."""
    return None if value is None else _DATETIME.to_representation(value)


class InquiryRowSerializer(serializers.ModelSerializer):
    patient_name = serializers.SerializerMethodField()
    contact_name = serializers.SerializerMethodField()
    contact_relation = serializers.SerializerMethodField()
    claimed_by = UserRefSerializer(allow_null=True)
    escalation = serializers.SerializerMethodField()
    last_message_status = serializers.SerializerMethodField()
    urgency = serializers.SerializerMethodField()
    latest_text = serializers.SerializerMethodField()

    class Meta:
        model = Inquiry
        fields = [
            "id",
            "section",
            "status",
            "channel",
            "patient",
            "patient_name",
            "contact",
            "contact_name",
            "contact_relation",
            "caller_phone",
            "caller_name",
            "identification",
            "summary",
            "category",
            "grade",
            "alarm",
            "alarm_terms",
            "urgency",
            "needs_callback",
            "claimed_by",
            "claimed_at",
            "created_at",
            "updated_at",
            "deadline_at",
            "closed_at",
            "escalation",
            "last_message_status",
            "latest_text",
        ]

    def to_representation(self, inquiry: Inquiry) -> dict[str, Any]:
        """The row, built directly: it is made for every event and for every row of the queue,
        and DRF's generic walk over 28 fields cost a tenth of a millisecond per row. The output
        is DRF's own, field for field (tests/henvendelser/test_row_serializer.py compares them
        for every kind of row)."""
        claimed_by = inquiry.claimed_by
        return {
            "id": inquiry.pk,
            "section": inquiry.section_id,
            "status": inquiry.status,
            "channel": inquiry.channel,
            "patient": inquiry.patient_id,
            "patient_name": self.get_patient_name(inquiry),
            "contact": inquiry.contact_id,
            "contact_name": self.get_contact_name(inquiry),
            "contact_relation": self.get_contact_relation(inquiry),
            "caller_phone": inquiry.caller_phone,
            "caller_name": inquiry.caller_name,
            "identification": inquiry.identification,
            "summary": inquiry.summary,
            "category": inquiry.category,
            "grade": inquiry.grade,
            "alarm": inquiry.alarm,
            "alarm_terms": inquiry.alarm_terms,
            "urgency": self.get_urgency(inquiry),
            "needs_callback": inquiry.needs_callback,
            "claimed_by": (
                None
                if claimed_by is None
                else {"id": claimed_by.pk, "name": display_name(claimed_by)}
            ),
            "claimed_at": _when(inquiry.claimed_at),
            "created_at": _when(inquiry.created_at),
            "updated_at": _when(inquiry.updated_at),
            "deadline_at": _when(inquiry.deadline_at),
            "closed_at": _when(inquiry.closed_at),
            "escalation": self.get_escalation(inquiry),
            "last_message_status": self.get_last_message_status(inquiry),
            "latest_text": self.get_latest_text(inquiry),
        }

    def get_patient_name(self, inquiry: Inquiry) -> str | None:
        return inquiry.patient.full_name if inquiry.patient else None

    def get_urgency(self, inquiry: Inquiry) -> dict[str, Any]:
        """Rank (queue order), key and label from the one rule in triage.urgency."""
        return urgency_of_inquiry(inquiry).as_dict()

    def get_contact_name(self, inquiry: Inquiry) -> str | None:
        return inquiry.contact.name if inquiry.contact else None

    def get_contact_relation(self, inquiry: Inquiry) -> str | None:
        return inquiry.contact.relation if inquiry.contact else None

    def get_escalation(self, inquiry: Inquiry) -> dict[str, Any] | None:
        """The latest escalation: state, doctor and when it is due."""
        from eskalering.serializers import EscalationSummarySerializer

        latest = actions.latest_escalation(inquiry)
        return None if latest is None else dict(EscalationSummarySerializer(latest).data)

    def get_latest_text(self, inquiry: Inquiry) -> str:
        """The family's newest words, shortened, for the queue's preview."""
        if hasattr(inquiry, "latest_text_value"):
            text = inquiry.latest_text_value or ""
        else:
            text = (
                inquiry.entries.filter(kind__in=actions.INBOUND_KINDS)
                .order_by("-at", "-pk")
                .values_list("text", flat=True)
                .first()
                or ""
            )
        return text[:PREVIEW_CHARS]

    def get_last_message_status(self, inquiry: Inquiry) -> str | None:
        """The delivery status of the latest message sent on the inquiry (annotated in lists)."""
        if hasattr(inquiry, "last_message_status_value"):
            return inquiry.last_message_status_value
        return (
            inquiry.messages.order_by("-created_at", "-pk").values_list("status", flat=True).first()
        )


class TimelineEntrySerializer(serializers.ModelSerializer):
    author = UserRefSerializer(allow_null=True)

    class Meta:
        model = TimelineEntry
        fields = ["id", "kind", "at", "author", "text", "data"]

    def to_representation(self, entry: TimelineEntry) -> dict[str, Any]:
        data = dict(super().to_representation(entry))
        if entry.kind == EntryKind.VOICEMAIL and isinstance(data.get("data"), dict):
            # Only Twilio's https recording host becomes a link, also for rows stored before
            # the webhook checked it.
            url = safe_recording_url(data["data"].get("recording_url"))
            data["data"] = {**data["data"], "recording_url": url}
        return data


# What a reader without clinical access (the secretary) may not read on the timeline: triage
# reasons, the question to the doctor and the doctor's answer, and medical messages. She sees
# that they happened, and when.
CLINICAL_ENTRY_KINDS = frozenset(
    {EntryKind.ASSESSMENT, EntryKind.ESCALATED, EntryKind.DOCTOR_ANSWER}
)


def _without_clinical(entry: dict[str, Any]) -> dict[str, Any]:
    data = entry.get("data") or {}
    if entry["kind"] in CLINICAL_ENTRY_KINDS:
        kept = {"grade": data["grade"]} if "grade" in data else {}
        return {**entry, "text": "", "data": kept, "redacted": True}
    if entry["kind"] == EntryKind.SMS_OUT and access.is_medical(_message_category(data)):
        return {**entry, "text": "", "data": {"message": data.get("message")}, "redacted": True}
    return entry


def _message_category(data: dict[str, Any]) -> str | None:
    """A sent message's template category (older entries name only the template)."""
    if "category" in data or not data.get("template"):
        return data.get("category")
    from maler.models import MessageTemplate

    return (
        MessageTemplate.objects.filter(key=data["template"])
        .values_list("category", flat=True)
        .first()
    )


class InquiryDetailSerializer(InquiryRowSerializer):
    """The inquiry page's whole picture. `actions` needs the reader in the context as `user`."""

    entries = TimelineEntrySerializer(many=True, read_only=True)
    resolution = serializers.CharField()
    actions = serializers.SerializerMethodField()
    doctor_needed = serializers.SerializerMethodField()
    doctor_answer = serializers.SerializerMethodField()
    latest_inbound = serializers.SerializerMethodField()
    clinical_hidden = serializers.SerializerMethodField()

    class Meta(InquiryRowSerializer.Meta):
        fields = [
            *InquiryRowSerializer.Meta.fields,
            "resolution",
            "actions",
            "doctor_needed",
            "doctor_answer",
            "latest_inbound",
            "entries",
            "clinical_hidden",
        ]

    def to_representation(self, inquiry: Inquiry) -> dict[str, Any]:
        # DRF's own walk over all the fields, the row's and the page's (the row's hand-built
        # shortcut knows only the row's).
        data = dict(serializers.ModelSerializer.to_representation(self, inquiry))
        if data["clinical_hidden"]:
            data["doctor_answer"] = None
            data["entries"] = [_without_clinical(entry) for entry in data["entries"]]
        return data

    def get_clinical_hidden(self, inquiry: Inquiry) -> bool:
        """True for a reader without clinical access: triage reasons, the doctor's question
        and answer and medical messages are left out of the timeline."""
        return not access.may(self.context["user"], Action.READ_CLINICAL)

    def get_actions(self, inquiry: Inquiry) -> list[str]:
        return actions.available_actions(inquiry=inquiry, user=self.context["user"])

    def get_doctor_needed(self, inquiry: Inquiry) -> bool:
        return actions.doctor_needed_now(inquiry, list(inquiry.entries.all()))

    def get_doctor_answer(self, inquiry: Inquiry) -> dict[str, Any] | None:
        """The latest doctor's answer, for the top of the page."""
        answered = [e for e in inquiry.entries.all() if e.kind == EntryKind.DOCTOR_ANSWER]
        if not answered:
            return None
        entry = answered[-1]
        return {
            "text": entry.text,
            "at": entry.at.isoformat(),
            "doctor": UserRefSerializer(entry.author).data if entry.author else None,
            "patient_must_come_in": bool((entry.data or {}).get("patient_must_come_in")),
        }

    def get_latest_inbound(self, inquiry: Inquiry) -> dict[str, Any] | None:
        entry = actions.latest_inbound(list(inquiry.entries.all()))
        if entry is None:
            return None
        return {
            "id": entry.pk,
            "kind": entry.kind,
            "at": entry.at.isoformat(),
            "text": entry.text,
            "alarm_terms": list((entry.data or {}).get("alarm_terms") or []),
        }
