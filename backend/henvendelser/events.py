"""Queue events (DESIGN.md §8): built here, for the websocket, the resync and the tests alike."""

from __future__ import annotations

from typing import Any

from core import realtime

from .models import Inquiry

INQUIRY_CREATED = "inquiry.created"
INQUIRY_UPDATED = "inquiry.updated"
INQUIRY_CLAIMED = "inquiry.claimed"
INQUIRY_RELEASED = "inquiry.released"


def inquiry_row(inquiry: Inquiry) -> dict[str, Any]:
    """The inquiry as a queue row: the same shape as an item of `GET /api/inquiries/`."""
    from .serializers import InquiryRowSerializer

    return dict(InquiryRowSerializer(inquiry).data)


def inquiry_rows(inquiries: list[Inquiry]) -> list[dict[str, Any]]:
    """Many rows at once: one serializer for the list, not one per row."""
    from .serializers import InquiryRowSerializer

    return [dict(row) for row in InquiryRowSerializer(inquiries, many=True).data]


def publish_inquiry_event(
    *, inquiry: Inquiry, type: str, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Publish the inquiry's row; `extra` adds fields (e.g. the escalation that was answered)."""
    return realtime.publish(
        section_id=inquiry.section_id,
        type=type,
        body={"inquiry": inquiry_row(inquiry), **(extra or {})},
    )
