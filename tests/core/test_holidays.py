import datetime as dt

import pytest

from core.holidays import easter_sunday, is_working_day, public_holidays


@pytest.mark.parametrize(
    "easter",
    [
        dt.date(2024, 3, 31),
        dt.date(2025, 4, 20),
        dt.date(2026, 4, 5),
        dt.date(2027, 3, 28),
        dt.date(2038, 4, 25),  # as late as it gets
        dt.date(2285, 3, 22),  # as early as it gets
    ],
)
def test_easter_sunday(easter):
    assert easter_sunday(easter.year) == easter


def test_the_norwegian_public_holidays_of_2027():
    assert sorted(public_holidays(2027)) == [
        dt.date(2027, 1, 1),
        dt.date(2027, 3, 25),  # skjærtorsdag
        dt.date(2027, 3, 26),  # langfredag
        dt.date(2027, 3, 28),  # første påskedag
        dt.date(2027, 3, 29),  # andre påskedag
        dt.date(2027, 5, 1),
        dt.date(2027, 5, 6),  # Kristi himmelfartsdag
        dt.date(2027, 5, 16),  # første pinsedag
        dt.date(2027, 5, 17),  # grunnlovsdag and andre pinsedag, the same day this year
        dt.date(2027, 12, 25),
        dt.date(2027, 12, 26),
    ]


def test_christmas_eve_is_a_working_day_and_a_saturday_is_not():
    assert is_working_day(dt.date(2026, 12, 24))
    assert not is_working_day(dt.date(2026, 11, 28))
