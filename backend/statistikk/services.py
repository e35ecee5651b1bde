"""The section's figures for a period (DESIGN.md §9 `GET /api/stats/`): volumes by day, channel
and grade; time to first response and to the doctor's answer; deadline breaches; escalation
rate; opt-outs. Counts and durations only: no names, numbers or text.

Definitions (also in docs/statistics.md):
- an inquiry counts on the Oslo date it was created;
- first response: the first SMS to the family, or the closing, whichever came first;
- doctor's answer: from the escalation to the doctor's answer;
- a breach: an escalation deadline (acknowledge or answer) that passed unmet.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Min, Q
from django.db.models.functions import TruncDate
from eskalering.models import Breach, Escalation
from meldinger.models import InboundKeyword

from henvendelser.models import Channel, Contact, EntryKind, Grade, Inquiry

OSLO = zoneinfo.ZoneInfo("Europe/Oslo")
MAX_DAYS = 366
NO_GRADE = "none"


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive

    @property
    def since(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(0), tzinfo=OSLO)

    @property
    def until(self) -> dt.datetime:
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(0), tzinfo=OSLO)

    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=n) for n in range((self.end - self.start).days + 1)]


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (`share` 0.5 is the median); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def _minutes(pairs: list[tuple[dt.datetime, dt.datetime | None]]) -> dict[str, Any]:
    durations = [(end - start).total_seconds() / 60 for start, end in pairs if end is not None]
    median, p90 = percentile(durations, 0.5), percentile(durations, 0.9)
    return {
        "count": len(durations),
        "median": None if median is None else round(median, 1),
        "p90": None if p90 is None else round(p90, 1),
    }


def figures(*, section_ids: list[int], period: Period) -> dict[str, Any]:
    inquiries = Inquiry.objects.filter(
        section_id__in=section_ids, created_at__gte=period.since, created_at__lt=period.until
    )
    per_day: dict[dt.date, dict[str, dict[str, int]]] = {
        day: {
            "by_channel": dict.fromkeys(Channel.values, 0),
            "by_grade": dict.fromkeys([*Grade.values, NO_GRADE], 0),
        }
        for day in period.days()
    }
    rows = (
        inquiries.annotate(day=TruncDate("created_at", tzinfo=OSLO))
        .values("day", "channel", "grade")
        .annotate(n=Count("pk"))
    )
    total = 0
    for row in rows:
        day = per_day.get(row["day"])
        if day is None:
            continue
        day["by_channel"][row["channel"]] = day["by_channel"].get(row["channel"], 0) + row["n"]
        grade = row["grade"] or NO_GRADE
        day["by_grade"][grade] = day["by_grade"].get(grade, 0) + row["n"]
        total += row["n"]

    first_out = inquiries.annotate(
        first=Min("entries__at", filter=Q(entries__kind__in=[EntryKind.SMS_OUT, EntryKind.CLOSED]))
    ).values_list("created_at", "first")
    escalations = Escalation.objects.filter(
        section_id__in=section_ids, created_at__gte=period.since, created_at__lt=period.until
    )
    escalated = escalations.values("inquiry_id").distinct().count()
    answered = escalations.values_list("created_at", "answered_at")
    breaches = Breach.objects.filter(escalation__in=escalations).values("escalation_id")
    phones = Contact.objects.filter(patient__section_id__in=section_ids).values("phone")
    opt_outs = InboundKeyword.objects.filter(
        action="out", changed=True, at__gte=period.since, at__lt=period.until, phone__in=phones
    ).count()
    return {
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "sections": section_ids,
        "totals": {
            "inquiries": total,
            "escalated_inquiries": escalated,
            "escalation_rate": round(escalated / total, 3) if total else None,
            "escalations_breached": breaches.distinct().count(),
            "opt_outs": opt_outs,
        },
        "first_response_minutes": _minutes(list(first_out)),
        "doctor_answer_minutes": _minutes(list(answered)),
        "per_day": [{"date": day.isoformat(), **counts} for day, counts in per_day.items()],
    }


def csv_rows(data: dict[str, Any]) -> list[list[str]]:
    """One row per day: the date, then counts by channel and by grade."""
    channels = list(Channel.values)
    grades = [*Grade.values, NO_GRADE]
    rows = [["dato", *[f"kanal_{c}" for c in channels], *[f"grad_{g}" for g in grades]]]
    for day in data["per_day"]:
        rows.append(
            [
                day["date"],
                *[str(day["by_channel"].get(c, 0)) for c in channels],
                *[str(day["by_grade"].get(g, 0)) for g in grades],
            ]
        )
    return rows
