"""Many events and audit records from one transaction (the inbox drain puts up to
INBOX_BATCH texts on inquiries in one): numbered and written together, each still itself and
in order. What a screen would notice if this went wrong: events out of order or numbered
with a gap (a resync), an event for a change that was rolled back, or an audit record lost."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from core import audit, realtime
from core.models import AuditEvent, Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    """What goes out to the channel layer, in order: (group, seq)."""
    out: list[tuple[str, int]] = []
    monkeypatch.setattr(
        realtime, "broadcast", lambda group, event, text: out.append((group, event["seq"]))
    )
    return out


def test_events_published_together_are_numbered_in_order_stored_and_sent_after_commit(
    section, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        first = realtime.publish(section_id=section.pk, type="before", body={})
        with realtime.published_together(section.pk):
            a = realtime.publish(section_id=section.pk, type="a", body={"n": 1})
            b = realtime.publish(section_id=section.pk, type="b", body={"n": 2})
            assert a == {} and b == {}  # numbered when the block ends
            to_a_doctor = realtime.publish(
                section_id=section.pk, type="c", body={"n": 3}, groups=["doctor.user.7"]
            )
            d = realtime.publish(section_id=section.pk, type="d", body={"n": 4})
        assert sent == []  # nothing leaves before commit

    assert (first["seq"], a["seq"], b["seq"], to_a_doctor["seq"], d["seq"]) == (1, 2, 3, 4, 5)
    assert a == {"type": "a", "seq": 2, "n": 1}
    stored = list(Event.objects.filter(section=section).order_by("seq").values_list("seq", "type"))
    assert stored == [(1, "before"), (2, "a"), (3, "b"), (4, "c"), (5, "d")]
    # What a resync reads back is what the screens were sent, its number included.
    payloads = Event.objects.filter(section=section, seq__in=[2, 3, 5]).order_by("seq")
    assert [e.payload for e in payloads] == [a, b, d]
    queue = realtime.queue_group(section.pk)
    assert sent == [(queue, 1), (queue, 2), (queue, 3), ("doctor.user.7", 4), (queue, 5)]
    assert realtime.current_seq(section.pk) == 5


def test_events_published_together_in_a_transaction_that_fails_are_neither_kept_nor_sent(
    section, sent, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(ValueError),
        transaction.atomic(),
        realtime.published_together(section.pk),
    ):
        realtime.publish(section_id=section.pk, type="a", body={})
        raise ValueError("a bug")
    assert not Event.objects.exists()
    assert sent == []
    assert realtime.current_seq(section.pk) == 0  # no gap for the screens to resync over


def test_audit_records_made_together_are_written_once_each_with_their_own_times(
    section, coordinator
):
    start = timezone.now()
    with (
        transaction.atomic(),
        time_machine.travel(start, tick=False) as clock,
        audit.recorded_together(),
    ):
        audit.record(user=coordinator, action="one", section_id=section.pk)
        clock.shift(dt.timedelta(seconds=2))
        audit.record(user=None, action="two", section_id=section.pk, detail={"n": 2})
        assert not AuditEvent.objects.exists()  # written when the block ends
    rows = list(AuditEvent.objects.order_by("pk").values_list("action", "user", "at", "detail"))
    assert rows == [
        ("one", coordinator.pk, start, {}),
        ("two", None, start + dt.timedelta(seconds=2), {"n": 2}),
    ]


def test_audit_records_made_together_in_a_failed_transaction_are_not_written(section):
    with pytest.raises(ValueError), transaction.atomic(), audit.recorded_together():
        audit.record(user=None, action="one", section_id=section.pk)
        raise ValueError("a bug")
    assert not AuditEvent.objects.exists()
