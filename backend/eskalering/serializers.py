from __future__ import annotations

from typing import Any

from rest_framework import serializers

from henvendelser.serializers import UserRefSerializer
from triage.urgency import urgency_of_inquiry

from .models import Escalation


class EscalationSerializer(serializers.ModelSerializer):
    doctor = UserRefSerializer()
    created_by = UserRefSerializer(allow_null=True)
    urgency = serializers.SerializerMethodField()
    inquiry_phone = serializers.SerializerMethodField()

    class Meta:
        model = Escalation
        fields = [
            "id",
            "inquiry",
            "section",
            "target",
            "doctor",
            "question",
            "grade",
            "urgency",
            "inquiry_phone",
            "triage",
            "context",
            "state",
            "created_by",
            "created_at",
            "acknowledge_due_at",
            "answer_due_at",
            "acknowledged_at",
            "answered_at",
            "answer",
            "patient_must_come_in",
            "level",
            "coordinator_alerted_at",
        ]

    def get_urgency(self, escalation: Escalation) -> dict[str, Any]:
        """How urgent the inquiry is now (triage.urgency), which can be more than the grade
        the escalation was sent with."""
        return urgency_of_inquiry(escalation.inquiry).as_dict()

    def get_inquiry_phone(self, escalation: Escalation) -> str:
        """The number the family called or texted from, for a doctor who rings them back."""
        inquiry = escalation.inquiry
        contact = inquiry.contact
        return inquiry.caller_phone or (contact.phone if contact is not None else "")


class EscalationSummarySerializer(serializers.ModelSerializer):
    """What the queue shows of an inquiry's escalation (DESIGN.md §9: state, doctor, due)."""

    doctor = UserRefSerializer()
    due = serializers.SerializerMethodField()
    overdue_alerted = serializers.SerializerMethodField()

    class Meta:
        model = Escalation
        fields = [
            "id",
            "state",
            "target",
            "doctor",
            "due",
            "level",
            "overdue_alerted",
            "patient_must_come_in",
        ]

    def get_due(self, escalation: Escalation) -> str | None:
        if escalation.state == "open":
            return escalation.acknowledge_due_at.isoformat()
        if escalation.state == "acknowledged":
            return escalation.answer_due_at.isoformat()
        return None

    def get_overdue_alerted(self, escalation: Escalation) -> bool:
        return escalation.coordinator_alerted_at is not None
