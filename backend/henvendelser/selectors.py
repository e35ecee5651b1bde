"""Reads: what a user may see, in the order they should see it."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable
from typing import Any

from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery

from core import access, sql
from triage.urgency import RANK_ANNOTATION

from .actions import INBOUND_KINDS
from .models import Contact, Inquiry, Patient, Status, TimelineEntry


def with_escalations(qs: QuerySet[Inquiry]) -> QuerySet[Inquiry]:
    """In the same query as the rows: the latest message's status (`last_message_status`),
    the family's latest words (`latest_text`) and the id of the latest escalation, which
    `attach_escalations` turns into the escalation once the rows are read."""
    from eskalering.models import Escalation
    from meldinger.models import Message

    latest_message = Message.objects.filter(inquiry=OuterRef("pk")).order_by("-created_at", "-pk")
    latest_inbound = TimelineEntry.objects.filter(
        inquiry=OuterRef("pk"), kind__in=INBOUND_KINDS
    ).order_by("-at", "-pk")
    latest_escalation = Escalation.objects.filter(inquiry=OuterRef("pk")).order_by(
        "-created_at", "-pk"
    )
    return qs.annotate(
        last_message_status_value=Subquery(latest_message.values("status")[:1]),
        latest_text_value=Subquery(latest_inbound.values("text")[:1]),
        latest_escalation_id=Subquery(latest_escalation.values("pk")[:1]),
    )


def attach_escalations(inquiries: Iterable[Inquiry]) -> list[Inquiry]:
    """Give rows read through `with_escalations` their latest escalation (for the queue's
    `escalation` field and the actions offered): one query for all of them, none when no row
    has one. Cheaper than a prefetch of every escalation, which also cost a query when there
    were none (the usual open queue)."""
    from eskalering.models import Escalation

    rows = list(inquiries)
    wanted = [row.latest_escalation_id for row in rows if row.latest_escalation_id]  # type: ignore[attr-defined]
    found = (
        {e.pk: e for e in Escalation.objects.select_related("doctor").filter(pk__in=wanted)}
        if wanted
        else {}
    )
    for row in rows:
        row.latest_escalation = found.get(row.latest_escalation_id)  # type: ignore[attr-defined]
    return rows


def as_new(inquiry: Inquiry) -> Inquiry:
    """A just-created inquiry with what `with_escalations` would annotate, known without
    asking: no escalation, no message, and no words from the family yet (a service that
    stores some sets `latest_text_value` after)."""
    inquiry.latest_escalation = None  # type: ignore[attr-defined]
    inquiry.last_message_status_value = None  # type: ignore[attr-defined]
    inquiry.latest_text_value = ""  # type: ignore[attr-defined]
    return inquiry


def patients_for(user: Any) -> QuerySet[Patient]:
    return Patient.objects.filter(section_id__in=access.sections(user)).select_related(
        "responsible_doctor"
    )


def search_patients(qs: QuerySet[Patient], term: str) -> QuerySet[Patient]:
    """Patients whose name has every word of `term`, or whose contact has that phone number
    (digits compared, so "917 00 001" finds +4791700001), or born that day (dd.mm.yyyy)."""
    wanted = Q()
    words = term.split()
    for word in words:
        wanted &= Q(first_name__icontains=word) | Q(last_name__icontains=word)
    digits = re.sub(r"\D", "", term)
    if len(digits) >= 5 and not re.search(r"[^\d\s+().-]", term):
        wanted |= Q(contacts__phone__endswith=digits[-8:])
    try:
        born = dt.datetime.strptime(term, "%d.%m.%Y").date()
    except ValueError:
        born = None
    if born is not None:
        wanted |= Q(birth_date=born)
    return qs.filter(wanted).distinct()


def contacts_of(patient: Patient) -> QuerySet[Contact]:
    return patient.contacts.order_by("pk")


def inquiries_for(user: Any) -> QuerySet[Inquiry]:
    return _inquiries_in(access.sections(user))


def _inquiries_in(section_ids: list[int]) -> QuerySet[Inquiry]:
    return Inquiry.objects.filter(section_id__in=section_ids).select_related(
        "patient", "contact", "claimed_by"
    )


def _in_queue_order(qs: QuerySet[Inquiry]) -> QuerySet[Inquiry]:
    """Queue order (DESIGN.md §4): by urgency (triage.urgency), then longest waiting first."""
    return qs.annotate(urgency_rank=RANK_ANNOTATION).order_by("urgency_rank", "created_at", "pk")


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
) -> sql.Prepared[Inquiry]:
    """The user's inquiries in queue order, filtered as `GET /api/inquiries/` allows, as a
    prepared read (core.sql: compiled once per combination of filters; the rows read go
    through `attach_escalations`)."""
    # Each list without repeats, in a fixed order: a statement per combination, not per way
    # of writing it.
    status, channel = sorted(set(status or [])), sorted(set(channel or []))
    grades = sorted({g for g in grade or [] if g != "none"})
    if assigned_to == "me":
        claimed: str | int | None = user.pk
    elif assigned_to and assigned_to != "none":
        claimed = int(assigned_to)
    else:
        claimed = assigned_to  # None, or "none": no one has it
    # What is filtered on (the key, with `open_only` and whether "none" is among the grades),
    # and the values, in the order `_queue_queryset` takes them; a filter not used is left out.
    given = {
        "section_id": section_id,
        "status": status or None,
        "grade": grades or None,
        "channel": channel or None,
        "claimed_by_id": claimed if isinstance(claimed, int) else None,
        "patient_id": patient,
    }
    used = tuple(name for name, value in given.items() if value is not None)
    grade_none = "none" in (grade or [])
    unclaimed = claimed == "none"
    return sql.Prepared(
        ("queue", used, grade_none, unclaimed, open_only),
        functools.partial(_queue_queryset, used, grade_none, unclaimed, open_only),
        access.sections(user),
        *(given[name] for name in used),
    )


def _queue_queryset(
    used: tuple[str, ...],
    grade_none: bool,
    unclaimed: bool,
    open_only: bool,
    sections: list[int],
    *values: Any,
) -> QuerySet[Inquiry]:
    qs = _inquiries_in(sections)
    for name, value in zip(used, values, strict=True):
        if name == "grade":
            wanted = Q(grade__in=value)
            if grade_none:
                wanted |= Q(grade__isnull=True)
            qs = qs.filter(wanted)
        elif name in {"status", "channel"}:
            qs = qs.filter(**{f"{name}__in": value})
        else:
            qs = qs.filter(**{name: value})
    if grade_none and "grade" not in used:
        qs = qs.filter(grade__isnull=True)
    if unclaimed:
        qs = qs.filter(claimed_by__isnull=True)
    if open_only:
        qs = qs.exclude(status=Status.CLOSED)
    return _in_queue_order(with_escalations(qs))


def open_queue(*, section_id: int, limit: int = 500) -> list[Inquiry]:
    """A section's open inquiries for the live queue's snapshot (a prepared read)."""
    rows = sql.prepared(
        ("open_queue", limit), functools.partial(_open_queue, limit=limit), section_id
    )
    return attach_escalations(rows)


def _open_queue(section_id: int, *, limit: int) -> QuerySet[Inquiry]:
    open_rows = _inquiries_in([section_id]).exclude(status=Status.CLOSED)
    return _in_queue_order(with_escalations(open_rows))[:limit]


def open_counts_by_urgency() -> dict[str, int]:
    """Open inquiries in all sections, counted by urgency (triage.urgency decides the key)."""
    from django.db.models import Count

    from triage.urgency import urgency_of

    counts = dict.fromkeys(("red", "alarm", "amber", "green", "none"), 0)
    rows = (
        Inquiry.objects.exclude(status=Status.CLOSED)
        .values("grade", "alarm")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        counts[urgency_of(grade=row["grade"], alarm=row["alarm"]).key] += row["n"]
    return counts


def inquiry_detail(*, user: Any, inquiry_id: int) -> Inquiry:
    inquiry = (
        with_escalations(inquiries_for(user))
        .prefetch_related(
            Prefetch("entries", queryset=TimelineEntry.objects.select_related("author"))
        )
        .get(pk=inquiry_id)
    )
    return attach_escalations([inquiry])[0]
