"""What every inquiry service shares: locking, timeline entries, audit and events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from core import audit, sql
from core.realtime import lock_section

from ..events import publish_inquiry_event
from ..models import Inquiry, TimelineEntry


def now_or(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def lock_inquiry(inquiry_id: int) -> Inquiry:
    """The inquiry, with its section's lock and then its own row lock held (in that order)."""
    section_id = Inquiry.objects.values_list("section_id", flat=True).get(pk=inquiry_id)
    lock_section(section_id)
    return (
        Inquiry.objects.select_for_update(of=("self",))
        .select_related("patient", "contact", "claimed_by")
        .get(pk=inquiry_id)
    )


def add_entry(
    *,
    inquiry: Inquiry,
    kind: str,
    at: dt.datetime,
    author: Any = None,
    text: str = "",
    data: dict[str, Any] | None = None,
    external_id: str | None = None,
) -> TimelineEntry:
    entry = TimelineEntry(
        inquiry=inquiry,
        kind=kind,
        at=at,
        author=author,
        text=text,
        data=data or {},
        external_id=external_id,
    )
    sql.insert(entry)  # as entry.save(), a statement compiled once (core.sql)
    return entry


def touch_and_publish(
    *, inquiry: Inquiry, event_type: str, now: dt.datetime, extra: dict[str, Any] | None = None
) -> None:
    inquiry.updated_at = now
    inquiry.save()
    publish_inquiry_event(inquiry=inquiry, type=event_type, extra=extra)


def audit_inquiry(*, user: Any, action: str, inquiry: Inquiry, **detail: Any) -> None:
    audit.record(
        user=user,
        action=action,
        obj=inquiry,
        patient_id=inquiry.patient_id,
        section_id=inquiry.section_id,
        detail=detail,
    )
