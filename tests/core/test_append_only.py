import pytest
from django.db import DatabaseError, connection, transaction

from core import audit
from core.models import AuditEvent
from henvendelser.models import TimelineEntry
from henvendelser.services import add_note
from tests.factories import InquiryFactory

pytestmark = pytest.mark.django_db


def test_the_models_refuse_to_rewrite_history(coordinator, section):
    inquiry = InquiryFactory(section=section)
    add_note(inquiry_id=inquiry.pk, by=coordinator, text="Første notat")
    entry = TimelineEntry.objects.get(kind="note")
    entry.text = "Endret i ettertid"
    with pytest.raises(RuntimeError):
        entry.save()
    with pytest.raises(RuntimeError):
        entry.delete()
    event = audit.record(user=coordinator, action="test")
    with pytest.raises(RuntimeError):
        event.save()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_postgresql_refuses_a_raw_update_or_delete(coordinator, section):
    inquiry = InquiryFactory(section=section)
    add_note(inquiry_id=inquiry.pk, by=coordinator, text="Første notat")
    audit.record(user=coordinator, action="test")
    for table in ("henvendelser_timelineentry", "core_auditevent"):
        for statement in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):  # noqa: S608
            with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
                cur.execute(statement)
    assert TimelineEntry.objects.filter(text="Første notat").exists()
    assert AuditEvent.objects.filter(action="test").exists()
