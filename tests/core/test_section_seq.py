import json

from core import realtime
from core.models import Section


def test_saving_a_section_loaded_earlier_does_not_wind_its_event_sequence_back(section):
    stale = Section.objects.get(pk=section.pk)
    assert realtime.next_seq(section.pk) == 1
    stale.opening_hours = {**stale.opening_hours, "closes": "16:00"}
    stale.save()  # as the admin saves a section someone opened a while ago
    assert realtime.next_seq(section.pk) == 2
    assert Section.objects.get(pk=section.pk).opening_hours["closes"] == "16:00"


def test_an_event_is_numbered_stored_and_broadcast_alike_in_one_statement_on_postgresql(
    section, django_capture_on_commit_callbacks, monkeypatch
):
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from core.models import Event

    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(
        realtime, "broadcast", lambda group, event, text: sent.append((group, text))
    )
    realtime.next_seq(section.pk)  # an earlier event
    with (
        django_capture_on_commit_callbacks(execute=True),
        CaptureQueriesContext(connection) as statements,
        transaction.atomic(),
    ):
        event = realtime.publish(section_id=section.pk, type="inquiry.updated", body={"n": "ø"})
    assert event == {"type": "inquiry.updated", "seq": 2, "n": "ø"}
    stored = Event.objects.get(section=section, seq=2)
    assert (stored.type, stored.payload) == ("inquiry.updated", event)
    assert Section.objects.get(pk=section.pk).last_seq == 2
    assert [(group, json.loads(text)) for group, text in sent] == [
        (realtime.queue_group(section.pk), event)
    ]
    writes = [q for q in statements if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(writes) == (1 if connection.vendor == "postgresql" else 2)
