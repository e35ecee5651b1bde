"""Norwegian public holidays (helligdager), for "the next working day".

Fixed: 1 January, 1 May, 17 May, 25 and 26 December. Around Easter: Maundy Thursday, Good
Friday, Easter Sunday and Monday, Ascension Day (Easter + 39 days), Whit Sunday and Monday
(Easter + 49 and + 50). Christmas Eve and New Year's Eve are not public holidays.
"""

from __future__ import annotations

import datetime as dt
from functools import cache


def easter_sunday(year: int) -> dt.date:
    """Western Easter, by the anonymous Gregorian computus (Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


@cache
def public_holidays(year: int) -> frozenset[dt.date]:
    easter = easter_sunday(year)
    around_easter = (-3, -2, 0, 1, 39, 49, 50)
    fixed = ((1, 1), (5, 1), (5, 17), (12, 25), (12, 26))
    return frozenset(
        [dt.date(year, month, day) for month, day in fixed]
        + [easter + dt.timedelta(days=offset) for offset in around_easter]
    )


def is_working_day(day: dt.date) -> bool:
    return day.isoweekday() <= 5 and day not in public_holidays(day.year)
