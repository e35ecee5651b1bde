"""Pure rules for sending: quiet hours and the STOP/START keywords."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from django.conf import settings

OSLO = ZoneInfo("Europe/Oslo")

OPT_OUT_WORDS = frozenset({"stop", "stopp", "avslutt", "avmeld", "unsubscribe"})
OPT_IN_WORDS = frozenset({"start", "start igjen", "unstop"})


def keyword_action(body: str) -> str | None:
    """ "out" or "in" when the whole message is an opt-out or opt-in keyword, else None.
    Only the whole message counts: "Skal vi stoppe medisinen?" is a question, not an opt-out."""
    words = " ".join(re.sub(r"[^\w\s]", " ", body).lower().split())
    if words in OPT_OUT_WORDS:
        return "out"
    if words in OPT_IN_WORDS:
        return "in"
    return None


def quiet_until(now: dt.datetime) -> dt.datetime | None:
    """If `now` falls in quiet hours (default 21:00-08:00, Oslo time), when they end."""
    start, end = settings.QUIET_HOURS
    local = now.astimezone(OSLO)
    # A window like 21-8 wraps midnight; one like 0-6 lies within the day.
    wraps = start > end
    quiet = (local.hour >= start or local.hour < end) if wraps else start <= local.hour < end
    if not quiet:
        return None
    day = local.date() if local.hour < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(end), tzinfo=OSLO)
