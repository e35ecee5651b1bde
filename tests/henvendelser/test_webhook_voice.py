import datetime as dt
import zoneinfo

import pytest
import time_machine

from henvendelser.models import Call, Inquiry, TimelineEntry
from tests.factories import ContactFactory, PatientFactory

pytestmark = pytest.mark.django_db

OSLO = zoneinfo.ZoneInfo("Europe/Oslo")
VOICE = "/webhooks/twilio/voice/"
STATUS = "/webhooks/twilio/voice/status/"
OPEN_TIME = dt.datetime(2026, 11, 24, 10, 0, tzinfo=OSLO)  # a Tuesday morning
NIGHT = dt.datetime(2026, 11, 24, 23, 0, tzinfo=OSLO)


@pytest.fixture
def weekday_hours(section):
    section.opening_hours = {"weekdays": [1, 2, 3, 4, 5], "opens": "08:00", "closes": "15:30"}
    section.save()
    return section


def call(section, sid="CA00000000000000000000000000000001", sender="+4791234567"):
    return {
        "CallSid": sid,
        "AccountSid": "AC" + "1" * 32,
        "From": sender,
        "To": section.phone_number,
        "CallStatus": "ringing",
        "Direction": "inbound",
    }


def test_in_opening_hours_a_call_is_logged_and_forwarded_to_the_coordinator(
    twilio_post, weekday_hours
):
    contact = ContactFactory(patient=PatientFactory(section=weekday_hours), phone="+4791234567")
    with time_machine.travel(OPEN_TIME, tick=False):
        response = twilio_post(VOICE, call(weekday_hours))
    twiml = response.content.decode()
    assert response.status_code == 200
    assert "<Dial" in twiml and "+4755000000</Number>" in twiml
    assert 'language="nb-NO"' in twiml
    assert "113" in twiml
    inquiry = Inquiry.objects.get()
    assert (inquiry.channel, inquiry.patient, inquiry.needs_callback) == (
        "phone",
        contact.patient,
        False,
    )
    assert inquiry.entries.filter(kind="call_in").count() == 1


def test_a_retried_call_webhook_logs_the_call_once(twilio_post, weekday_hours):
    with time_machine.travel(OPEN_TIME, tick=False):
        twilio_post(VOICE, call(weekday_hours))
        twilio_post(VOICE, call(weekday_hours))
    assert Call.objects.count() == 1
    assert Inquiry.objects.get().entries.filter(kind="call_in").count() == 1


def test_out_of_hours_the_caller_is_offered_voicemail_and_a_callback_is_queued(
    twilio_post, weekday_hours
):
    with time_machine.travel(NIGHT, tick=False):
        response = twilio_post(VOICE, call(weekday_hours))
    twiml = response.content.decode()
    assert "<Record" in twiml and "<Dial" not in twiml
    assert "113" in twiml
    inquiry = Inquiry.objects.get()
    assert inquiry.needs_callback is True
    assert inquiry.entries.filter(kind="call_missed").count() == 1


def test_an_unanswered_forward_offers_voicemail_and_becomes_a_callback(twilio_post, weekday_hours):
    with time_machine.travel(OPEN_TIME, tick=False):
        twilio_post(VOICE, call(weekday_hours))
        params = {"CallSid": call(weekday_hours)["CallSid"], "DialCallStatus": "no-answer"}
        response = twilio_post(STATUS, params)
        twilio_post(STATUS, params)  # retried
    assert "<Record" in response.content.decode()
    inquiry = Inquiry.objects.get()
    assert inquiry.needs_callback is True
    assert inquiry.entries.filter(kind="call_missed").count() == 1


def test_a_voicemail_recording_is_attached_once(twilio_post, weekday_hours):
    sid = call(weekday_hours)["CallSid"]
    with time_machine.travel(NIGHT, tick=False):
        twilio_post(VOICE, call(weekday_hours))
        params = {
            "CallSid": sid,
            "RecordingSid": "RE" + "2" * 32,
            "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE2",
            "RecordingDuration": "17",
        }
        response = twilio_post(STATUS, params)
        twilio_post(STATUS, params)
    assert "<Hangup" in response.content.decode()
    inquiry = Inquiry.objects.get()
    voicemail = inquiry.entries.get(kind="voicemail")
    assert voicemail.data["duration_seconds"] == 17
    assert voicemail.data["recording_url"].endswith("/RE2")
    assert Call.objects.get().recording_sid == "RE" + "2" * 32


def test_an_answered_call_is_logged_as_ended_with_its_duration(twilio_post, weekday_hours):
    sid = call(weekday_hours)["CallSid"]
    with time_machine.travel(OPEN_TIME, tick=False):
        twilio_post(VOICE, call(weekday_hours))
        hangup = twilio_post(STATUS, {"CallSid": sid, "DialCallStatus": "completed"})
        twilio_post(STATUS, {"CallSid": sid, "CallStatus": "completed", "CallDuration": "184"})
        twilio_post(STATUS, {"CallSid": sid, "CallStatus": "completed", "CallDuration": "184"})
    assert "<Hangup" in hangup.content.decode()
    inquiry = Inquiry.objects.get()
    assert inquiry.needs_callback is False
    ended = inquiry.entries.get(kind="call_ended")
    assert ended.data == {"duration_seconds": 184}


def test_a_caller_who_hangs_up_before_anyone_answers_is_a_missed_call(twilio_post, weekday_hours):
    sid = call(weekday_hours)["CallSid"]
    with time_machine.travel(OPEN_TIME, tick=False):
        twilio_post(VOICE, call(weekday_hours))
        twilio_post(STATUS, {"CallSid": sid, "CallStatus": "completed", "CallDuration": "6"})
    assert Inquiry.objects.get().needs_callback is True


def test_a_status_for_an_unknown_call_changes_nothing(twilio_post, section):
    response = twilio_post(STATUS, {"CallSid": "CAunknown", "CallStatus": "completed"})
    assert response.status_code == 200
    assert not Inquiry.objects.exists()


def test_voice_webhooks_with_a_bad_signature_get_403(twilio_post, section):
    assert twilio_post(VOICE, call(section), signature="bad").status_code == 403
    assert (
        twilio_post(
            STATUS, {"CallSid": "CA1", "DialCallStatus": "busy"}, signature="bad"
        ).status_code
        == 403
    )
    assert not Call.objects.exists()


def test_a_call_from_a_parent_with_an_open_text_inquiry_joins_it(twilio_post, weekday_hours):
    with time_machine.travel(OPEN_TIME, tick=False):
        twilio_post(
            "/webhooks/twilio/sms/",
            {
                "MessageSid": "SM1",
                "From": "+4791234567",
                "To": weekday_hours.phone_number,
                "Body": "Ringer snart",
            },
        )
        twilio_post(VOICE, call(weekday_hours))
    inquiry = Inquiry.objects.get()
    assert [e.kind for e in inquiry.entries.all()] == ["created", "sms_in", "call_in"]


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(42)",
        "http://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE2",
        "https://evil.example/RE2",
        "https://api.twilio.com.evil.example/RE2",
        "https://user@api.twilio.com/RE2",
    ],
)
def test_a_recording_url_that_is_not_twilios_https_host_never_becomes_a_link(
    twilio_post, weekday_hours, url, api_as, coordinator
):
    sid = call(weekday_hours)["CallSid"]
    with time_machine.travel(NIGHT, tick=False):
        twilio_post(VOICE, call(weekday_hours))
        response = twilio_post(
            STATUS, {"CallSid": sid, "RecordingSid": "RE" + "3" * 32, "RecordingUrl": url}
        )
    assert response.status_code == 200  # the voicemail is still recorded, without a link
    inquiry = Inquiry.objects.get()
    assert inquiry.entries.get(kind="voicemail").data["recording_url"] == ""
    # Also a row stored before the check is shown without it.
    TimelineEntry.objects.create(
        inquiry=inquiry, kind="voicemail", at=inquiry.created_at, data={"recording_url": url}
    )
    shown = api_as(coordinator).get(f"/api/inquiries/{inquiry.pk}/").json()
    links = [e["data"]["recording_url"] for e in shown["entries"] if e["kind"] == "voicemail"]
    assert links == ["", ""]
