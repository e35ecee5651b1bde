import pytest

from core.exceptions import InvalidTransition
from henvendelser.lifecycle import TRANSITIONS, next_status

STATUSES = ["new", "in_progress", "awaiting_doctor", "answered", "closed"]


@pytest.mark.parametrize(
    ("action", "current", "expected"),
    [
        ("claim", "new", "in_progress"),
        ("release", "in_progress", "new"),
        ("escalate", "in_progress", "awaiting_doctor"),
        ("doctor_answered", "awaiting_doctor", "in_progress"),
        ("reply_sent", "in_progress", "answered"),
        ("reopen_claimed", "answered", "in_progress"),
        ("reopen_unclaimed", "answered", "new"),
        ("close", "answered", "closed"),
        ("close", "new", "closed"),
    ],
)
def test_the_lifecycle_of_design_4(action, current, expected):
    assert next_status(action, current) == expected


def test_nothing_leaves_closed():
    for action in TRANSITIONS:
        with pytest.raises(InvalidTransition):
            next_status(action, "closed")


def test_an_inquiry_waiting_for_a_doctor_cannot_be_closed():
    with pytest.raises(InvalidTransition) as refused:
        next_status("close", "awaiting_doctor")
    assert "lege" in refused.value.message


def test_every_transition_ends_in_a_known_status():
    for table in TRANSITIONS.values():
        assert set(table) <= set(STATUSES)
        assert set(table.values()) <= set(STATUSES)
