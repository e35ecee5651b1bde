"""Output shapes shared by the API, the websocket events and the pages."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from .models import Inquiry, TimelineEntry


def display_name(user: Any) -> str | None:
    if user is None:
        return None
    return user.get_full_name() or user.get_username()


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.SerializerMethodField()

    def get_name(self, user: Any) -> str | None:
        return display_name(user)


class InquiryRowSerializer(serializers.ModelSerializer):
    patient_name = serializers.SerializerMethodField()
    contact_name = serializers.SerializerMethodField()
    contact_relation = serializers.SerializerMethodField()
    claimed_by = UserRefSerializer(allow_null=True)
    escalation = serializers.SerializerMethodField()
    last_message_status = serializers.SerializerMethodField()

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
            "needs_callback",
            "claimed_by",
            "claimed_at",
            "created_at",
            "updated_at",
            "deadline_at",
            "closed_at",
            "escalation",
            "last_message_status",
        ]

    def get_patient_name(self, inquiry: Inquiry) -> str | None:
        return inquiry.patient.full_name if inquiry.patient else None

    def get_contact_name(self, inquiry: Inquiry) -> str | None:
        return inquiry.contact.name if inquiry.contact else None

    def get_contact_relation(self, inquiry: Inquiry) -> str | None:
        return inquiry.contact.relation if inquiry.contact else None

    def get_escalation(self, inquiry: Inquiry) -> dict[str, Any] | None:
        """The latest escalation: state, doctor and when it is due."""
        from eskalering.serializers import EscalationSummarySerializer

        prefetched = getattr(inquiry, "escalations_latest_first", None)
        if prefetched is not None:
            latest = prefetched[0] if prefetched else None
        else:
            latest = (
                inquiry.escalations.select_related("doctor").order_by("-created_at", "-pk").first()
            )
        return None if latest is None else dict(EscalationSummarySerializer(latest).data)

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


class InquiryDetailSerializer(InquiryRowSerializer):
    entries = TimelineEntrySerializer(many=True, read_only=True)
    resolution = serializers.CharField()

    class Meta(InquiryRowSerializer.Meta):
        fields = [*InquiryRowSerializer.Meta.fields, "resolution", "entries"]
