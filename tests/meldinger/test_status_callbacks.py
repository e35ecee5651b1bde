"""`POST /webhooks/twilio/status/`: signed, forward-only, pushed to the queue."""

import pytest
from meldinger.models import Message

from core.models import Event

STATUS_PATH = "/webhooks/twilio/status/"


@pytest.fixture
def sent(reply, fake_twilio, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message_id = reply({"text": "Timen er flyttet til fredag."}).json()["id"]
    return Message.objects.get(pk=message_id)


def callback(twilio_post, fake, message, status, error_code=None):
    params = fake.callback_params(message.twilio_sid, status, error_code)
    return twilio_post(STATUS_PATH, params)


def test_delivered_is_recorded_and_pushed_to_the_queue(
    twilio_post, fake_twilio, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = callback(twilio_post, fake_twilio, sent, "delivered")
    assert response.status_code == 204
    sent.refresh_from_db()
    assert sent.status == "delivered" and sent.delivered_at is not None
    event = Event.objects.filter(type="message.status").latest("seq")
    assert event.payload["message"]["id"] == sent.pk
    assert event.payload["message"]["status"] == "delivered"
    assert event.payload["inquiry"]["last_message_status"] == "delivered"
    assert "body" not in event.payload["message"]  # the socket carries status, not text


def test_callbacks_out_of_order_never_move_a_message_back(twilio_post, fake_twilio, sent):
    callback(twilio_post, fake_twilio, sent, "delivered")
    callback(twilio_post, fake_twilio, sent, "sent")
    callback(twilio_post, fake_twilio, sent, "queued")
    sent.refresh_from_db()
    assert sent.status == "delivered"


def test_a_failure_keeps_twilios_error_code(twilio_post, fake_twilio, sent):
    callback(twilio_post, fake_twilio, sent, "undelivered", error_code=30003)
    sent.refresh_from_db()
    assert (sent.status, sent.error_code) == ("undelivered", 30003)
    callback(twilio_post, fake_twilio, sent, "delivered")  # a final status stays
    sent.refresh_from_db()
    assert sent.status == "undelivered"


def test_an_unknown_sid_is_answered_and_changes_nothing(twilio_post, sent):
    before = list(Message.objects.values_list("pk", "status"))
    response = twilio_post(
        STATUS_PATH, {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"}
    )
    assert response.status_code == 204
    assert list(Message.objects.values_list("pk", "status")) == before


def test_an_unsigned_callback_is_refused_and_changes_nothing(twilio_post, fake_twilio, sent):
    params = fake_twilio.callback_params(sent.twilio_sid, "delivered")
    response = twilio_post(STATUS_PATH, params, signature="forged")
    assert response.status_code == 403
    sent.refresh_from_db()
    assert sent.status == "sent"


def test_a_callback_without_a_status_is_a_400(twilio_post):
    assert twilio_post(STATUS_PATH, {"MessageSid": "SM1"}).status_code == 400
