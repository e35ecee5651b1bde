"""Texts as Twilio delivers them to Daphne: through the ASGI application, signed with Twilio's
real scheme. On PostgreSQL the SMS webhook is served on the event loop in front of Django
(henvendelser/ingress.py); everywhere else, and for what the loop leaves to Django, by the
view. What a family and a coordinator see must be the same either way (CI runs PostgreSQL)."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.core.signals import request_started
from django.db import connection
from meldinger.models import OptOut

from core import loop
from henvendelser.models import InboundText, Inquiry, TimelineEntry
from henvendelser.webhooks import EMPTY_MESSAGING_TWIML
from tests.asgi import request
from tests.conftest import twilio_signature
from tests.factories import ContactFactory, PatientFactory

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/webhooks/twilio/sms/"
FORM = (b"content-type", b"application/x-www-form-urlencoded")
ON_POSTGRESQL = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the event loop serves texts on PostgreSQL only"
)


def sms(section, sid="SM" + "5" * 32, body="Emma har 38,5 i feber", sender="+4791234567"):
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": "AC" + "1" * 32,
        "From": sender,
        "To": str(section.phone_number),
        "Body": body,
        "NumMedia": "0",
    }


async def _post(params, signature=None, headers=(FORM,), host=b"localhost", body=None):
    sig = twilio_signature(PATH, params) if signature is None else signature
    return await request(
        PATH,
        method="POST",
        body=urlencode(params).encode() if body is None else body,
        headers=[*headers, (b"x-twilio-signature", sig.encode())],
        host=host,
    )


def post(params, **kwargs):
    """One delivery, in an event loop of its own (as each test's are); the loop's connections
    ended after it."""

    async def deliver():
        try:
            return await _post(params, **kwargs)
        finally:
            await loop.close()

    return async_to_sync(deliver)()


def test_a_text_is_stored_once_and_put_on_its_inquiry_even_when_twilio_retries(section):
    contact = ContactFactory(patient=PatientFactory(section=section), phone="+4791234567")

    first = post(sms(section))
    again = post(sms(section))

    for status, headers, body in (first, again):
        assert status == 200
        assert headers[b"Content-Type"].startswith(b"application/xml")
        assert body.decode() == EMPTY_MESSAGING_TWIML
    inquiry = Inquiry.objects.get()
    assert (inquiry.channel, inquiry.patient, inquiry.contact) == ("sms", contact.patient, contact)
    assert [e.text for e in TimelineEntry.objects.filter(kind="sms_in")] == [
        "Emma har 38,5 i feber"
    ]
    assert InboundText.objects.count() == 1


def test_the_answer_carries_the_headers_every_answer_gets_on_the_loop_as_from_django(
    section, settings
):
    """The webhook served on the event loop is outside Django's middleware: its answer still
    gets the content security policy, and HSTS where the service is served over https."""
    from core.middleware import CONTENT_SECURITY_POLICY

    settings.PUBLIC_BASE_URL = "https://kontaktpunkt.example.no"
    status, headers, _ = post(sms(section))
    assert status == 200
    assert headers[b"Content-Security-Policy"].decode() == CONTENT_SECURITY_POLICY
    assert headers[b"Strict-Transport-Security"].startswith(b"max-age=31536000")
    assert InboundText.objects.count() == 1


def test_out_of_hours_the_family_is_acknowledged_once_with_the_emergency_number(section):
    section.opening_hours = {"weekdays": []}  # never staffed
    section.save()

    _, _, body = post(sms(section))
    _, _, retried = post(sms(section))

    assert "<Message>" in body.decode()
    assert "113" in body.decode()
    assert section.ward_phone in body.decode()
    assert retried.decode() == EMPTY_MESSAGING_TWIML  # never text a family twice


def test_a_bad_or_missing_or_stale_signature_is_403_and_stores_nothing(section):
    params = sms(section)
    forged = twilio_signature(PATH, params, token="someone-elses-token")
    signed_before = twilio_signature(PATH, params)
    tampered = {**params, "Body": "changed after signing"}

    assert post(params, signature=forged)[0] == 403
    assert post(params, signature="")[0] == 403
    assert post(tampered, signature=signed_before)[0] == 403
    assert not InboundText.objects.exists()
    assert not Inquiry.objects.exists()


def test_a_malformed_or_missing_twilio_id_is_a_400_and_stores_nothing(section):
    malformed = {**sms(section), "MessageSid": "SM<script>", "SmsSid": "SM<script>"}
    missing = sms(section)
    del missing["MessageSid"], missing["SmsSid"]

    status, _, body = post(malformed)
    assert (status, body) == (400, b"MessageSid malformed")
    status, _, body = post(missing)
    assert (status, body) == (400, b"MessageSid missing")
    assert not InboundText.objects.exists()


def test_a_nul_in_a_text_is_dropped_and_the_rest_kept(section):
    assert post(sms(section, body="Hun har\x00 feber"))[0] == 200
    assert TimelineEntry.objects.get(kind="sms_in").text == "Hun har feber"


def test_a_text_to_a_number_no_section_has_is_kept_by_the_first_section(
    section, other_section, caplog
):
    with caplog.at_level(logging.WARNING):
        status, _, _ = post({**sms(other_section), "To": "+4759999999"})
    assert status == 200
    assert Inquiry.objects.get().section == min(section, other_section, key=lambda s: s.pk)
    assert "unconfigured number" in caplog.text


def test_with_no_section_at_all_twilio_gets_a_500_to_retry_and_nothing_is_stored(section):
    params = sms(section)
    section.delete()

    status, _, body = post(params)

    assert status == 500
    assert "Noe gikk galt" in body.decode()
    assert not InboundText.objects.exists()


@pytest.fixture
def tasks_through_a_broker():
    """As in production: tasks go to a worker through the broker, not run in this process."""
    from config.celery import app

    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True  # as tests/conftest.py has it


def test_with_redis_not_answering_a_text_is_answered_without_waiting_and_the_sweep_takes_it(
    section, settings, monkeypatch, tasks_through_a_broker
):
    import redis

    from henvendelser import tasks
    from henvendelser.services import inbox

    nobody = "redis://127.0.0.1:9/0"  # refused at once
    settings.REDIS_URL = nobody
    monkeypatch.setattr(inbox, "_redis", lambda: redis.Redis.from_url(nobody))
    asked = []
    monkeypatch.setattr(tasks, "drain_inbox", SimpleNamespace(delay=asked.append))

    assert post(sms(section))[0] == 200

    assert asked == []  # the broker is that Redis: no task asked of it, no wait for it
    assert InboundText.objects.filter(processed_at__isnull=True).count() == 1
    settings.INBOX_SWEEP_AFTER = 0
    assert tasks.sweep_inbox() == 1
    assert Inquiry.objects.get().caller_phone == "+4791234567"


def test_a_stop_opts_the_number_out_and_is_not_queued(section, fake_twilio):
    status, _, body = post(sms(section, sid="SM" + "6" * 32, body="STOPP"))

    assert status == 200
    assert body.decode() == EMPTY_MESSAGING_TWIML
    assert OptOut.objects.get(phone="+4791234567").opted_out
    [confirmation] = fake_twilio.sent_to("+4791234567")
    assert "START" in confirmation["body"]
    assert not Inquiry.objects.exists()


def test_what_is_not_a_signed_form_post_is_answered_as_django_answers_it(section):
    params = sms(section)
    assert async_to_sync(request)(PATH)[0] == 405  # GET
    # JSON is not what Twilio sends: no form, so no valid signature
    as_json = post(params, headers=[(b"content-type", b"application/json")], body=b"{}")
    assert as_json[0] == 403
    assert post(params, host=b"evil.example")[0] == 400  # a Host outside ALLOWED_HOSTS
    too_many = {**params, **{f"x{i}": "1" for i in range(300)}}  # over Django's field limit
    assert post(too_many)[0] == 400
    assert not InboundText.objects.exists()


def test_the_answer_and_the_logs_hold_neither_the_text_nor_the_number(section, caplog):
    with caplog.at_level(logging.DEBUG):  # to a number nobody configured: a warning logged
        _, _, body = post({**sms(section), "To": "+4759999999"})
    assert "unconfigured number" in caplog.text
    for where in (caplog.text, body.decode()):
        assert "38,5" not in where
        assert "+4791234567" not in where


@ON_POSTGRESQL
def test_on_postgresql_a_text_never_enters_djangos_request_handling(section):
    started = []

    def note(**kwargs):
        started.append(kwargs)

    request_started.connect(note)
    try:
        assert post(sms(section))[0] == 200
        assert started == []
        assert post(sms(section, sid="SM" + "7" * 32, body="STOPP"))[0] == 200
        assert len(started) == 1  # an opt-out is Django's to record
    finally:
        request_started.disconnect(note)
    assert Inquiry.objects.count() == 1


@ON_POSTGRESQL
async def test_texts_keep_coming_in_after_postgresql_ended_the_loops_connections(section):
    def end_the_loops_sessions():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = %s",
                [loop.APPLICATION_NAME],
            )
            return cursor.rowcount

    try:
        assert (await _post(sms(section, sid="SM" + "8" * 32)))[0] == 200
        assert await database_sync_to_async(end_the_loops_sessions)() >= 1
        status, _, _ = await _post(sms(section, sid="SM" + "9" * 32, sender="+4790000009"))
    finally:
        await loop.close()

    assert status == 200
    assert await Inquiry.objects.acount() == 2
