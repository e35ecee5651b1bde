"""The inbox between the SMS webhook and the queue: the webhook stores a text and answers
Twilio; a worker (in-process here) puts it on its inquiry. What a family or coordinator would
notice if it went wrong: a text lost, doubled, out of order, or stuck behind another."""

from __future__ import annotations

import datetime as dt
import io
import os
import threading
import uuid
import zoneinfo
from types import SimpleNamespace

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from core import realtime
from core.models import AuditEvent, Event
from henvendelser import tasks
from henvendelser.models import InboundText, Inquiry, TimelineEntry
from henvendelser.services import inbox, receive_sms
from henvendelser.tasks import drain_inbox
from tests.core.test_metrics import sample, scrape
from tests.factories import ContactFactory, InquiryFactory, PatientFactory
from tests.henvendelser.test_webhook_sms import PATH, sms
from tests.processes import at_once
from triage.rulesets import active_ruleset

pytestmark = pytest.mark.django_db

OSLO = zoneinfo.ZoneInfo("Europe/Oslo")


@pytest.fixture
def handed_over(monkeypatch):
    """Hand-overs to the worker, noted instead of run: the texts wait in the inbox."""
    sections: list[int] = []
    monkeypatch.setattr(tasks, "drain_inbox", SimpleNamespace(delay=sections.append))
    return sections


@pytest.fixture
def broker_down(monkeypatch):
    """The broker refuses every hand-over; returns the sections it was asked for."""
    asked: list[int] = []

    def refuse(section_id):
        asked.append(section_id)
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks, "drain_inbox", SimpleNamespace(delay=refuse))
    return asked


@pytest.fixture
def tasks_to_a_broker(settings):
    """As in production: tasks go to a worker through Redis, not run in this process; the
    drain flags under a prefix of this test's own."""
    if not os.environ.get("REDIS_URL"):
        pytest.skip("the drain flag lives in Redis (CI runs with it)")
    from config.celery import app

    settings.CHANNEL_PREFIX = f"test-inbox-{uuid.uuid4().hex}"
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True  # as tests/conftest.py has it


@pytest.fixture
def broken_intake(monkeypatch):
    """A bug in intake that only the text "Ødelagt" meets; `.fix()` deploys the fix."""
    real = inbox.record_sms

    def broken_for_one(**kwargs):
        if kwargs["body"] == "Ødelagt":
            raise ValueError("a bug in intake")
        return real(**kwargs)

    monkeypatch.setattr(inbox, "record_sms", broken_for_one)
    return SimpleNamespace(fix=lambda: monkeypatch.setattr(inbox, "record_sms", real))


def texts_of(phone):
    return list(
        TimelineEntry.objects.filter(kind="sms_in", inquiry__caller_phone=phone)
        .order_by("at", "id")
        .values_list("text", flat=True)
    )


def test_the_webhook_stores_the_text_and_a_worker_puts_it_on_its_inquiry(
    twilio_post, section, handed_over
):
    response = twilio_post(PATH, sms(section, body="Emma har 38,5 i feber"))
    assert response.status_code == 200
    assert handed_over == [section.pk]
    waiting = InboundText.objects.get()
    assert (waiting.body, waiting.processed_at) == ("Emma har 38,5 i feber", None)
    assert not Inquiry.objects.exists()

    assert inbox.drain(section.pk) == 1
    inquiry = Inquiry.objects.get()
    assert inquiry.alarm is True  # the alarm screen ran in the worker
    assert texts_of("+4791234567") == ["Emma har 38,5 i feber"]
    done = InboundText.objects.get()
    # The text now lives on the timeline only; the inbox keeps the MessageSid for retries.
    assert (done.body, done.inquiry, done.processed_at is not None) == ("", inquiry, True)


def test_with_the_broker_down_the_text_waits_and_the_sweep_puts_it_on_its_inquiry(
    twilio_post, section, broker_down, settings, caplog, client
):
    settings.METRICS_TOKEN = "m" * 40
    response = twilio_post(PATH, sms(section, body="Emma har 38,5 i feber"))
    assert response.status_code == 200  # Twilio does not retry: the text is stored
    assert "not handed to a worker" in caplog.text
    assert "38,5" not in caplog.text and "+4791234567" not in caplog.text
    assert not Inquiry.objects.exists()
    assert sample(scrape(client, settings.METRICS_TOKEN).content.decode(), "kontaktpunkt_inbox")[
        "kontaktpunkt_inbox_waiting"
    ] == pytest.approx(1)

    settings.INBOX_SWEEP_AFTER = 0
    assert tasks.sweep_inbox() == 1
    assert texts_of("+4791234567") == ["Emma har 38,5 i feber"]
    assert tasks.sweep_inbox() == 0  # nothing twice
    metrics = sample(scrape(client, settings.METRICS_TOKEN).content.decode(), "kontaktpunkt_inbox")
    assert metrics["kontaktpunkt_inbox_waiting"] == 0


def test_texts_arriving_while_a_drain_is_queued_share_that_drain(
    twilio_post, section, handed_over, tasks_to_a_broker
):
    for n in range(3):
        twilio_post(PATH, sms(section, sid=f"SM{n}", sender=f"+479000000{n}"))
    assert handed_over == [section.pk]  # one task for the three
    assert drain_inbox(section.pk) == 3  # the worker runs it: all three go on inquiries
    assert Inquiry.objects.count() == 3
    twilio_post(PATH, sms(section, sid="SM9", sender="+4790000009"))
    assert handed_over == [section.pk, section.pk]  # a text after it started queues another
    assert drain_inbox(section.pk) == 1


def test_a_hand_over_the_broker_refused_does_not_stop_the_next_one(
    twilio_post, section, broker_down, tasks_to_a_broker
):
    twilio_post(PATH, sms(section, sid="SM1"))
    twilio_post(PATH, sms(section, sid="SM2"))
    assert broker_down == [section.pk, section.pk]
    assert InboundText.objects.filter(processed_at__isnull=True).count() == 2


def test_the_sweep_leaves_a_text_just_received_to_the_worker_it_was_handed_to(
    twilio_post, section, handed_over, settings
):
    settings.INBOX_SWEEP_AFTER = 5
    twilio_post(PATH, sms(section))
    assert tasks.sweep_inbox() == 0
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=6)):
        assert tasks.sweep_inbox() == 1
    assert Inquiry.objects.count() == 1


def test_a_retry_while_the_text_waits_stores_nothing_and_acknowledges_once(
    twilio_post, section, handed_over
):
    section.opening_hours = {"weekdays": [1, 2, 3, 4, 5], "opens": "08:00", "closes": "15:30"}
    section.save()
    with time_machine.travel(dt.datetime(2026, 11, 24, 22, 0, tzinfo=OSLO), tick=False):
        first = twilio_post(PATH, sms(section, sid="SMnight"))
        retry = twilio_post(PATH, sms(section, sid="SMnight"))
        assert b"<Message>" in first.content
        assert b"<Message>" not in retry.content
        assert InboundText.objects.count() == 1
        inbox.drain(section.pk)
        again = twilio_post(PATH, sms(section, sid="SMnight"))  # after it is on the inquiry
    assert b"<Message>" not in again.content
    assert texts_of("+4791234567") == ["Emma har 38,5 i feber"]


def test_one_drain_takes_every_waiting_text_in_the_order_they_came(
    twilio_post, section, handed_over, settings
):
    settings.INBOX_BATCH = 2  # five texts: three batches in one drain
    start = timezone.now()
    for n, (sender, body) in enumerate(
        [
            ("+4791234567", "Emma har feber"),
            ("+4790000002", "Kan vi flytte timen?"),
            ("+4791234567", "Nå 39,1"),
            ("+4791234567", "Hun kaster opp"),
            ("+4790000002", "Det gjelder torsdag"),
        ]
    ):
        with time_machine.travel(start + dt.timedelta(seconds=n), tick=False):
            twilio_post(PATH, sms(section, sid=f"SM{n:032d}", body=body, sender=sender))
    assert inbox.drain(section.pk) == 5
    assert texts_of("+4791234567") == ["Emma har feber", "Nå 39,1", "Hun kaster opp"]
    assert texts_of("+4790000002") == ["Kan vi flytte timen?", "Det gjelder torsdag"]
    emma = Inquiry.objects.get(caller_phone="+4791234567")
    assert emma.summary == "Emma har feber"
    assert emma.created_at == start
    assert not InboundText.objects.filter(processed_at__isnull=True).exists()


def waiting_to_drain(twilio_post, section, texts):
    """`texts` (sender, body) stored by the webhook and waiting for a drain; the section's event
    number before it. The rules in force exist already, as in any running service."""
    for n, (sender, body) in enumerate(texts):
        twilio_post(PATH, sms(section, sid=f"SM{n:032d}", body=body, sender=sender))
    active_ruleset()
    return realtime.current_seq(section.pk)


def test_a_batch_tells_the_queue_each_text_in_order_and_audits_each_in_few_statements(
    twilio_post, section, handed_over, django_assert_max_num_queries
):
    """A batch numbers its events and writes its audit records together (core.realtime,
    core.audit): the queue still hears of every text, in the order they came, numbered without
    a gap, with the row as it was after that text; and each text has its audit record."""
    texts = [
        ("+4791234567", "Emma har feber"),
        ("+4790000002", "Kan vi flytte timen?"),
        ("+4791234567", "Nå 39,1"),
    ]
    before = waiting_to_drain(twilio_post, section, texts)
    # A few statements per batch, at most three per text (ten before texts were batched).
    with django_assert_max_num_queries(12 + 3 * len(texts)):
        assert inbox.drain(section.pk) == 3
    events = list(Event.objects.filter(section=section, seq__gt=before).order_by("seq"))
    assert [e.seq for e in events] == [before + 1, before + 2, before + 3]
    shown = [
        (e.type, e.payload["inquiry"]["caller_phone"], e.payload["inquiry"]["latest_text"])
        for e in events
    ]
    assert shown == [
        ("inquiry.created", "+4791234567", "Emma har feber"),
        ("inquiry.created", "+4790000002", "Kan vi flytte timen?"),
        ("inquiry.updated", "+4791234567", "Nå 39,1"),
    ]
    assert events[0].payload["inquiry"]["alarm"] is True  # "feber": screened with the batch
    emma = Inquiry.objects.get(caller_phone="+4791234567")
    assert (emma.alarm, emma.alarm_terms) == (True, ["fever", "temperature_value"])
    records = AuditEvent.objects.filter(action="inquiry.sms_in").order_by("pk")
    assert [r.object_id for r in records] == [
        str(emma.pk),
        str(Inquiry.objects.get(caller_phone="+4790000002").pk),
        str(emma.pk),
    ]


def test_a_texts_timeline_entries_and_audit_record_are_written_by_its_events_statement(
    twilio_post, section, handed_over
):
    """Under the section's lock every round trip holds up the next text: on PostgreSQL a
    drained text's two timeline entries and its audit record are written by the statement
    that numbers and stores its event (core.sql.riding_along), not by statements of their own.
    Everywhere, all of them are there after the drain, as the family's text came."""
    from django.test.utils import CaptureQueriesContext

    from core.sql import table

    before = waiting_to_drain(twilio_post, section, [("+4791234567", "Emma har feber")])
    with CaptureQueriesContext(connection) as statements:
        assert inbox.drain(section.pk) == 1
    inquiry = Inquiry.objects.get(caller_phone="+4791234567")
    kinds = list(inquiry.entries.order_by("id").values_list("kind", "text"))
    assert kinds == [("created", ""), ("sms_in", "Emma har feber")]
    record = AuditEvent.objects.get(action="inquiry.sms_in")
    assert (record.object_id, record.section_id) == (str(inquiry.pk), section.pk)
    event = Event.objects.get(section=section, seq=before + 1)
    assert event.payload["inquiry"]["latest_text"] == "Emma har feber"
    if connection.vendor == "postgresql":
        inserts = [q["sql"] for q in statements if "INSERT INTO" in q["sql"]]
        into = {
            name: f"INSERT INTO {table(model)}"
            for name, model in [("entries", TimelineEntry), ("audit", AuditEvent), ("event", Event)]
        }
        alone = [q for q in inserts if q.lstrip().startswith((into["entries"], into["audit"]))]
        assert alone == []
        (together,) = [q for q in inserts if into["event"] in q]
        assert into["entries"] in together and into["audit"] in together


def test_a_batch_identifies_parents_and_joins_open_inquiries_from_lookups_made_once(
    twilio_post, section, coordinator, handed_over, django_assert_max_num_queries
):
    """The numbers' open inquiries and contacts are read once for a batch (intake.Callers):
    a known parent's first text starts an inquiry on the child, her second joins it, and a
    family whose inquiry was answered re-opens it, with its holder and status on the queue."""
    emma = PatientFactory(section=section, first_name="Emma", last_name="Johansen")
    mother = ContactFactory(patient=emma, phone="+4791234567", name="Ingrid Johansen")
    answered = InquiryFactory(
        section=section, caller_phone="+4790000002", status="answered", claimed_by=coordinator
    )
    texts = [
        ("+4791234567", "Emma har feber"),
        ("+4790000002", "Takk! Ett spørsmål til"),
        ("+4791234567", "Nå 39,1"),
    ]
    before = waiting_to_drain(twilio_post, section, texts)
    # One statement per batch for the numbers, and few per text (4 to 6 before).
    with django_assert_max_num_queries(12 + 3 * len(texts)):
        assert inbox.drain(section.pk) == 3

    started = Inquiry.objects.get(caller_phone="+4791234567")
    assert (started.patient, started.contact, started.identification) == (
        emma,
        mother,
        "identified",
    )
    assert texts_of("+4791234567") == ["Emma har feber", "Nå 39,1"]
    answered.refresh_from_db()
    assert (answered.status, answered.claimed_by) == ("in_progress", coordinator)
    assert texts_of("+4790000002") == ["Takk! Ett spørsmål til"]
    rows = [
        e.payload["inquiry"]
        for e in Event.objects.filter(section=section, seq__gt=before).order_by("seq")
    ]
    assert [(r["id"], r["status"], r["latest_text"]) for r in rows] == [
        (started.pk, "new", "Emma har feber"),
        (answered.pk, "in_progress", "Takk! Ett spørsmål til"),
        (started.pk, "new", "Nå 39,1"),
    ]
    assert rows[0]["patient_name"] == "Emma Johansen"
    assert rows[1]["claimed_by"]["id"] == coordinator.pk


def test_a_text_that_fails_does_not_hold_up_the_others(
    twilio_post, section, handed_over, settings, client, broken_intake, caplog
):
    settings.METRICS_TOKEN = "m" * 40
    twilio_post(PATH, sms(section, sid="SM1", body="Først", sender="+4790000001"))
    twilio_post(PATH, sms(section, sid="SM2", body="Ødelagt", sender="+4790000002"))
    twilio_post(PATH, sms(section, sid="SM3", body="Sist", sender="+4790000003"))
    assert inbox.drain(section.pk) == 3
    assert texts_of("+4790000001") == ["Først"]
    assert texts_of("+4790000003") == ["Sist"]
    stuck = InboundText.objects.get(message_sid="SM2")
    assert (stuck.processed_at, stuck.failures, stuck.body) == (None, 1, "Ødelagt")
    assert "Ødelagt" not in caplog.text
    metrics = sample(scrape(client, settings.METRICS_TOKEN).content.decode(), "kontaktpunkt_inbox")
    assert metrics["kontaktpunkt_inbox_failing"] == 1

    broken_intake.fix()  # the bug fixed and deployed
    settings.INBOX_SWEEP_AFTER = 0
    assert tasks.sweep_inbox() == 1
    assert texts_of("+4790000002") == ["Ødelagt"]


def test_a_text_that_keeps_failing_is_set_aside_raised_and_put_back_by_hand(
    twilio_post, section, handed_over, settings, client, broken_intake, caplog
):
    """A text no attempt can take would otherwise send every later drain the slow way, one
    text at a time, for ever, and be invisible: after INBOX_MAX_ATTEMPTS it is set aside,
    whole, an alert says so, and `inbox_retry` puts it back once the cause is fixed."""
    settings.METRICS_TOKEN = "m" * 40
    settings.INBOX_SWEEP_AFTER = 0
    settings.INBOX_MAX_ATTEMPTS = 2
    twilio_post(PATH, sms(section, sid="SM1", body="Ødelagt", sender="+4790000002"))
    assert tasks.sweep_inbox() == 1
    assert tasks.sweep_inbox() == 1
    assert "set aside after 2 attempts" in caplog.text
    assert tasks.sweep_inbox() == 0  # no longer tried

    caplog.clear()
    twilio_post(PATH, sms(section, sid="SM2", body="Neste", sender="+4790000003"))
    assert inbox.drain(section.pk) == 1
    assert texts_of("+4790000003") == ["Neste"]
    assert "one at a time" not in caplog.text  # the batch went through whole

    stuck = InboundText.objects.get(message_sid="SM1")
    assert (stuck.processed_at, stuck.failures, stuck.body) == (None, 2, "Ødelagt")
    metrics = sample(scrape(client, settings.METRICS_TOKEN).content.decode(), "kontaktpunkt_inbox")
    assert metrics["kontaktpunkt_inbox_set_aside"] == 1
    assert metrics["kontaktpunkt_inbox_waiting"] == 0
    assert metrics["kontaktpunkt_inbox_failing"] == 0

    broken_intake.fix()  # the bug fixed and deployed
    out = io.StringIO()
    call_command("inbox_retry", stdout=out)
    assert out.getvalue().startswith("1 text")
    assert handed_over[-1] == section.pk
    assert inbox.drain(section.pk) == 1
    assert texts_of("+4790000002") == ["Ødelagt"]
    metrics = sample(scrape(client, settings.METRICS_TOKEN).content.decode(), "kontaktpunkt_inbox")
    assert metrics["kontaktpunkt_inbox_set_aside"] == 0


def test_a_text_already_on_the_timeline_is_not_put_there_twice(section, handed_over):
    """A text taken in before the inbox existed, whose retry arrives after the upgrade."""
    receive_sms(
        message_sid="SMold", from_phone="+4791234567", to_phone=section.phone_number, body="Feber"
    )
    now = timezone.now()
    assert inbox.accept_sms(
        message_sid="SMold",
        section=section,
        from_phone="+4791234567",
        to_phone=section.phone_number,
        body="Feber",
        num_media=0,
        now=now,
    )
    inbox.accept_sms(
        message_sid="SMnew",
        section=section,
        from_phone="+4791234567",
        to_phone=section.phone_number,
        body="Nå 39",
        num_media=0,
        now=now + dt.timedelta(seconds=1),
    )
    assert inbox.drain(section.pk) == 2
    assert texts_of("+4791234567") == ["Feber", "Nå 39"]
    old = InboundText.objects.get(message_sid="SMold")
    assert old.processed_at is not None and old.failures == 0
    assert old.inquiry == Inquiry.objects.get()


def test_handled_texts_are_forgotten_after_the_keeping_time_waiting_ones_never(
    twilio_post, section, handed_over, settings
):
    settings.INBOX_KEEP_HOURS = 24
    twilio_post(PATH, sms(section, sid="SMhandled"))
    inbox.drain(section.pk)
    twilio_post(PATH, sms(section, sid="SMwaiting", sender="+4790000009"))
    later = timezone.now() + dt.timedelta(hours=25)
    InboundText.objects.filter(message_sid="SMwaiting").update(
        received_at=later - dt.timedelta(hours=30)
    )
    assert inbox.prune(later) == 1
    assert list(InboundText.objects.values_list("message_sid", flat=True)) == ["SMwaiting"]
    assert texts_of("+4791234567") == ["Emma har 38,5 i feber"]  # the inquiry keeps it


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    django_settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"),
    reason="drains racing need PostgreSQL's row locks (CI runs it there)",
)
def test_drains_racing_each_other_put_each_text_on_once_and_in_order(section, handed_over):
    start = timezone.now()
    senders = [f"+47900000{n:02d}" for n in range(8)]
    for n in range(40):
        inbox.accept_sms(
            message_sid=f"SM{n:032d}",
            section=section,
            from_phone=senders[n % 8],
            to_phone=section.phone_number,
            body=f"melding {n}",
            num_media=0,
            now=start + dt.timedelta(milliseconds=n),
        )
    taken = at_once(lambda: inbox.drain(section.pk, limit=7))
    assert sum(taken) == 40
    assert Inquiry.objects.count() == 8
    assert TimelineEntry.objects.filter(kind="sms_in").count() == 40
    for i, sender in enumerate(senders):
        assert texts_of(sender) == [f"melding {n}" for n in range(i, 40, 8)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    django_settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"),
    reason="about PostgreSQL's row locks (SQLite serialises every write; CI runs PostgreSQL)",
)
def test_twilio_is_answered_while_a_worker_is_putting_an_earlier_text_on_its_inquiry(
    section, handed_over, twilio_post, monkeypatch
):
    """The webhook's one insert must not wait for a drain of its section: the drain holds the
    section's lock while it works, and the insert's foreign key to the section is checked
    against that row. Twilio waits 15 s at most, then retries."""
    inbox.accept_sms(
        message_sid="SM" + "1" * 32,
        section=section,
        from_phone="+4791234567",
        to_phone=section.phone_number,
        body="Første",
        num_media=0,
        now=timezone.now(),
    )
    working, finish = threading.Event(), threading.Event()
    real = inbox.record_sms

    def slow_intake(**kwargs):
        working.set()
        assert finish.wait(20)
        return real(**kwargs)

    monkeypatch.setattr(inbox, "record_sms", slow_intake)

    def worker() -> None:
        try:
            inbox.drain(section.pk)
        finally:
            connection.close()

    def twilio() -> None:
        try:
            answers.append(twilio_post(PATH, sms(section, sid="SM" + "2" * 32, body="Andre")))
        finally:
            connection.close()

    answers: list = []
    draining = threading.Thread(target=worker)
    draining.start()
    try:
        assert working.wait(10)
        delivering = threading.Thread(target=twilio)
        delivering.start()
        delivering.join(5)
        answered_during_the_drain = not delivering.is_alive()
    finally:
        finish.set()
        draining.join(20)
    delivering.join(20)
    assert answered_during_the_drain
    assert [response.status_code for response in answers] == [200]
    inbox.drain(section.pk)
    assert texts_of("+4791234567") == ["Første", "Andre"]


def test_the_webhooks_section_lookup_and_insert_are_one_statement_on_postgresql(
    section, handed_over
):
    """A round trip costs the webhook more than the statement (docs/benchmarks.md)."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as statements:
        found, stored = inbox.accept_sms_to_number(
            inbox.InboundSms(
                message_sid="SM" + "7" * 32,
                to_phone=section.phone_number,
                from_phone="+4791234567",
                body="Feber",
                num_media=0,
            ),
            timezone.now(),
        )
    assert (found, stored) == (section, True)
    assert len(statements) == (1 if connection.vendor == "postgresql" else 2)
    assert InboundText.objects.get().section == section
