"""The hand-written statements on every request's path (core.sql) give the same instances the
ORM gives: every field, of every type (datetimes, JSON, nulls), on SQLite and PostgreSQL."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.authtoken.models import Token

from core import sql
from core.auth import token_with_user
from core.models import AuditEvent, Section
from henvendelser.services.intake import section_for_number

pytestmark = pytest.mark.django_db


def fields_of(obj):
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_the_token_and_its_user_are_what_the_orm_reads(coordinator):
    coordinator.last_login = timezone.now() - dt.timedelta(hours=3)
    coordinator.save()
    key = Token.objects.create(user=coordinator).key
    token = token_with_user(key)
    assert fields_of(token) == fields_of(Token.objects.get(key=key))
    assert fields_of(token.user) == fields_of(get_user_model().objects.get(pk=coordinator.pk))
    assert isinstance(token.user.date_joined, dt.datetime)
    assert token_with_user("x" * 40) is None


def test_the_section_for_a_number_is_what_the_orm_reads(section):
    section.opening_hours = {"weekdays": [1, 2], "opens": "09:00", "closes": "15:00"}
    section.ward_phone = "+4722000000"
    section.save()
    found = section_for_number(section.phone_number)
    assert fields_of(found) == fields_of(Section.objects.get(pk=section.pk))
    assert found.opening_hours["opens"] == "09:00"


def test_an_inserted_audit_record_reads_back_as_written(coordinator):
    event = AuditEvent(
        at=timezone.now(),
        user=coordinator,
        username=coordinator.username,
        action="inquiry.list",
        object_type="inquiry",
        patients=",1,2,",
        section_id=7,
        channel="api",
        ip="127.0.0.1",
        detail={"objects": ["1", "2"]},
    )
    sql.insert(event)
    assert event.pk is not None and not event._state.adding
    assert fields_of(AuditEvent.objects.get(pk=event.pk)) == fields_of(event)


# Rows riding along (core.sql.riding_along): written by the section's event statement.


def _audit(action, section_id):
    return AuditEvent(
        at=timezone.now(), action=action, section_id=section_id, detail={"n": 1}, ip="10.0.0.1"
    )


def test_rows_riding_along_are_written_by_the_event_statement_each_as_it_was_made(
    section, django_capture_on_commit_callbacks
):
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from core import realtime
    from core.models import Event

    with (
        django_capture_on_commit_callbacks(execute=True),
        transaction.atomic(),
        CaptureQueriesContext(connection) as statements,
        sql.riding_along(),
    ):
        sql.insert(_audit("one", section.pk))
        sql.insert(_audit("two", section.pk))
        event = realtime.publish(section_id=section.pk, type="changed", body={"x": "æøå"})
    stored = list(AuditEvent.objects.order_by("pk").values_list("action", "section_id", "ip"))
    assert stored == [("one", section.pk, "10.0.0.1"), ("two", section.pk, "10.0.0.1")]
    assert (
        Event.objects.get(section=section).payload
        == event
        == {
            "type": "changed",
            "seq": 1,
            "x": "æøå",
        }
    )
    if connection.vendor == "postgresql":  # one round trip for the three rows
        assert len(statements.captured_queries) == 1


def test_rows_no_statement_took_are_written_when_the_block_ends(section):
    from django.db import transaction

    with transaction.atomic(), sql.riding_along():
        sql.insert(_audit("one", section.pk))
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["one"]


def test_rows_of_a_block_that_failed_never_ride_with_a_later_statement(section):
    from django.db import transaction

    from core import realtime

    with transaction.atomic():
        with pytest.raises(ValueError), transaction.atomic(), sql.riding_along():
            sql.insert(_audit("rolled back", section.pk))
            raise ValueError("a bug")
        realtime.publish(section_id=section.pk, type="changed", body={})
    assert not AuditEvent.objects.exists()


def test_a_row_whose_key_the_block_needs_is_written_at_once_and_the_rest_still_ride(section):
    """An inquiry that a drain goes on to hang entries on gets its key as it is inserted,
    inside the block too; what has no use for its key still waits for the event's statement."""
    from django.db import connection, transaction

    with transaction.atomic(), sql.riding_along():
        keyed = _audit("keyed", section.pk)
        sql.insert(keyed, needs_key=True)
        assert keyed.pk is not None
        assert AuditEvent.objects.get(pk=keyed.pk).action == "keyed"
        riding = [_audit("riding", section.pk), _audit("riding too", section.pk)]
        sql.insert_all(riding)
        waiting = AuditEvent.objects.filter(action__startswith="riding").count()
    assert waiting == (0 if connection.vendor == "postgresql" else 2)
    actions = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))
    assert actions == ["keyed", "riding", "riding too"]


# Prepared reads (core.sql.prepared): compiled by the ORM once per shape, values bound later.


def _by_section(section_ids):
    from henvendelser.models import Inquiry

    return (
        Inquiry.objects.filter(section_id__in=section_ids).select_related("patient").order_by("pk")
    )


def test_a_prepared_read_binds_each_calls_values_and_gives_what_the_orm_gives(
    section, other_section
):
    from tests.factories import InquiryFactory, PatientFactory

    mine = InquiryFactory(section=section, patient=PatientFactory(section=section))
    theirs = InquiryFactory(section=other_section)
    for wanted in ([section.pk], [other_section.pk], [section.pk]):
        rows = sql.prepared("test-by-section", _by_section, wanted)
        orm = list(_by_section(wanted))
        assert [fields_of(r) for r in rows] == [fields_of(r) for r in orm]
    rows = sql.prepared("test-by-section", _by_section, [section.pk])
    assert [r.pk for r in rows] == [mine.pk]
    # select_related came with the row: reading the patient asks nothing more.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as asked:
        assert rows[0].patient.full_name == mine.patient.full_name
    assert not asked.captured_queries
    both = sql.prepared("test-by-section", _by_section, [section.pk, other_section.pk])
    assert [r.pk for r in both] == [mine.pk, theirs.pk]
    assert sql.prepared("test-by-section", _by_section, []) == []


def test_a_prepared_read_is_compiled_once_per_shape(section):
    from unittest import mock

    from django.db.models.sql.compiler import SQLCompiler

    from tests.factories import InquiryFactory

    InquiryFactory(section=section)
    key = object()  # a shape no other test compiled
    with mock.patch.object(
        SQLCompiler, "as_sql", autospec=True, side_effect=SQLCompiler.as_sql
    ) as c:
        first = sql.prepared(key, _by_section, [section.pk])
        compiled = c.call_count
        assert compiled > 0
        again = sql.prepared(key, _by_section, [section.pk + 1000])
        assert c.call_count == compiled  # the second read bound its value to the same text
    assert len(first) == 1
    assert again == []


def test_a_value_the_orm_would_change_or_write_into_the_text_is_refused():
    from django.core.exceptions import ImproperlyConfigured

    from henvendelser.models import Inquiry

    def searched(term):
        return Inquiry.objects.filter(summary__icontains=term)

    with pytest.raises(ImproperlyConfigured):
        sql.prepared("test-icontains", searched, "time")

    def flagged(alarm):
        return Inquiry.objects.filter(alarm=alarm)

    with pytest.raises(TypeError):
        sql.prepared("test-flag", flagged, True)


def test_a_value_whose_stand_in_the_orm_would_rule_out_is_refused_not_read_as_no_rows(section):
    # A small number field: the ORM rules out a comparison with a number outside its range
    # (no rows, without asking the database), as it would the stand-in. Kept as "no rows",
    # every later read of the shape would have been empty whatever its values.
    from django.core.exceptions import ImproperlyConfigured

    from henvendelser.models import InboundText

    InboundText.objects.create(
        message_sid="SM" + "1" * 32,
        section=section,
        from_phone="+4791234567",
        to_phone=section.phone_number,
        body="Hei",
        received_at=timezone.now(),
    )

    def failed_fewer_than(times):
        return InboundText.objects.filter(failures__lt=times)

    with pytest.raises(ImproperlyConfigured):
        sql.prepared("test-small-number", failed_fewer_than, 3)

    def in_sections(ids):
        return InboundText.objects.filter(section_id__in=ids)

    # A shape the ORM rules out for any values (an empty list) is no rows, as the ORM says.
    assert sql.prepared("test-no-sections", in_sections, []) == []
    assert len(sql.prepared("test-no-sections", in_sections, [section.pk])) == 1


@pytest.mark.django_db(transaction=True)
def test_a_read_prepared_in_one_thread_runs_on_another_threads_connection(section):
    import threading

    from django.db import connection

    from tests.factories import InquiryFactory

    inquiry = InquiryFactory(section=section)
    key = "test-threads"
    assert [r.pk for r in sql.prepared(key, _by_section, [section.pk])] == [inquiry.pk]
    seen = {}

    def read():
        try:
            seen["rows"] = [r.pk for r in sql.prepared(key, _by_section, [section.pk])]
            seen["connection"] = connection.connection
        finally:
            connection.close()

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    assert seen["rows"] == [inquiry.pk]
    assert seen["connection"] is not connection.connection


def test_get_reads_what_the_orm_reads_and_a_missing_key_is_does_not_exist(section, other_section):
    for wanted in (section, other_section):
        assert fields_of(sql.get(Section, wanted.pk)) == fields_of(
            Section.objects.get(pk=wanted.pk)
        )
    with pytest.raises(Section.DoesNotExist):
        sql.get(Section, other_section.pk + 1000)


def test_the_statements_kept_are_capped_and_reads_past_the_cap_stay_right(monkeypatch, section):
    from tests.factories import InquiryFactory

    inquiry = InquiryFactory(section=section)
    monkeypatch.setattr(sql, "_statements", {})
    monkeypatch.setattr(sql, "MAX_STATEMENTS", 3)
    for n in range(6):  # six shapes: one more section id in the list each time
        wanted = [section.pk] + [section.pk + 1000 + i for i in range(n)]
        assert [r.pk for r in sql.prepared("test-cap", _by_section, wanted)] == [inquiry.pk]
        assert len(sql._statements) <= 3


def test_a_filter_written_twice_is_the_same_filter(api_as, coordinator, section):
    from tests.factories import InquiryFactory

    wanted = InquiryFactory(section=section, status="new")
    InquiryFactory(section=section, status="closed")
    client = api_as(coordinator)
    once = client.get("/api/inquiries/?status=new").json()["results"]
    kept = len(sql._statements)
    twice = client.get("/api/inquiries/?status=new&status=new&status=new").json()["results"]
    assert [r["id"] for r in once] == [r["id"] for r in twice] == [wanted.pk]
    assert len(sql._statements) == kept  # no statement of its own
