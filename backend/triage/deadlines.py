"""How long an inquiry may wait, by grade (DESIGN.md §6): red 15 minutes, amber 2 hours, green
the next working day at 12:00 (Europe/Oslo). Per section: `Section.deadline_rules`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from core.holidays import is_working_day
from core.models import Section, default_deadline_rules


def next_working_day_at(at: dt.datetime, clock: str) -> dt.datetime:
    """The next working day (Monday to Friday, not a Norwegian public holiday) after `at`'s
    local date, at `clock` local time."""
    local = timezone.localtime(at)
    day = local.date() + dt.timedelta(days=1)
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    naive = dt.datetime.combine(day, dt.time.fromisoformat(clock))
    return timezone.make_aware(naive, timezone.get_current_timezone())


def deadline_for(*, grade: str, at: dt.datetime, section: Section) -> dt.datetime:
    rules: dict[str, Any] = {**default_deadline_rules(), **(section.deadline_rules or {})}
    if grade == "red":
        return at + dt.timedelta(minutes=int(rules["red_minutes"]))
    if grade == "amber":
        return at + dt.timedelta(minutes=int(rules["amber_minutes"]))
    return next_working_day_at(at, str(rules["green_next_working_day_at"]))
