"""Reads: what a user may see, in the order they should see it."""

from __future__ import annotations

from typing import Any

from django.db.models import (
    Case,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)

from core import roles

from .models import Contact, Grade, Inquiry, Patient, Status, TimelineEntry

# Queue order (DESIGN.md §4): red, amber, green, not yet triaged. An inquiry whose text tripped
# the alarm-word screen since it was last assessed counts as a possible red until someone
# assesses it (again).
GRADE_RANK = Case(
    When(grade=Grade.RED, then=Value(0)),
    When(alarm=True, then=Value(0)),
    When(grade=Grade.AMBER, then=Value(1)),
    When(grade=Grade.GREEN, then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)


def with_escalations(qs: QuerySet[Inquiry]) -> QuerySet[Inquiry]:
    """Fetch each row's escalations in one query, for the queue's `escalation` field, and the
    latest message's status in the same query as the rows, for `last_message_status`."""
    from eskalering.models import Escalation
    from meldinger.models import Message

    latest_message = Message.objects.filter(inquiry=OuterRef("pk")).order_by("-created_at", "-pk")
    return qs.annotate(
        last_message_status_value=Subquery(latest_message.values("status")[:1])
    ).prefetch_related(
        Prefetch(
            "escalations",
            queryset=Escalation.objects.select_related("doctor").order_by("-created_at", "-pk"),
            to_attr="escalations_latest_first",
        )
    )


def patients_for(user: Any) -> QuerySet[Patient]:
    return Patient.objects.filter(section_id__in=roles.user_section_ids(user)).select_related(
        "responsible_doctor"
    )


def contacts_of(patient: Patient) -> QuerySet[Contact]:
    return patient.contacts.order_by("pk")


def inquiries_for(user: Any) -> QuerySet[Inquiry]:
    return Inquiry.objects.filter(section_id__in=roles.user_section_ids(user)).select_related(
        "patient", "contact", "claimed_by"
    )


def queue(
    *,
    user: Any,
    section_id: int | None = None,
    status: list[str] | None = None,
    grade: list[str] | None = None,
    channel: list[str] | None = None,
    assigned_to: str | None = None,
    patient: int | None = None,
    open_only: bool = False,
) -> QuerySet[Inquiry]:
    """The user's inquiries in queue order, filtered as `GET /api/inquiries/` allows."""
    qs = inquiries_for(user)
    if section_id is not None:
        qs = qs.filter(section_id=section_id)
    if status:
        qs = qs.filter(status__in=status)
    if grade:
        wanted = Q(grade__in=[g for g in grade if g != "none"])
        if "none" in grade:
            wanted |= Q(grade__isnull=True)
        qs = qs.filter(wanted)
    if channel:
        qs = qs.filter(channel__in=channel)
    if assigned_to == "me":
        qs = qs.filter(claimed_by=user)
    elif assigned_to == "none":
        qs = qs.filter(claimed_by__isnull=True)
    elif assigned_to:
        qs = qs.filter(claimed_by_id=int(assigned_to))
    if patient is not None:
        qs = qs.filter(patient_id=patient)
    if open_only:
        qs = qs.exclude(status=Status.CLOSED)
    return (
        with_escalations(qs)
        .annotate(grade_rank=GRADE_RANK)
        .order_by("grade_rank", "created_at", "pk")
    )


def open_queue(*, section_id: int, limit: int = 500) -> list[Inquiry]:
    """A section's open inquiries for the live queue's snapshot."""
    return list(
        with_escalations(Inquiry.objects.filter(section_id=section_id))
        .exclude(status=Status.CLOSED)
        .select_related("patient", "contact", "claimed_by")
        .annotate(grade_rank=GRADE_RANK)
        .order_by("grade_rank", "created_at", "pk")[:limit]
    )


def inquiry_detail(*, user: Any, inquiry_id: int) -> Inquiry:
    return (
        inquiries_for(user)
        .prefetch_related(
            Prefetch("entries", queryset=TimelineEntry.objects.select_related("author"))
        )
        .get(pk=inquiry_id)
    )
