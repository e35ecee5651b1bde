"""STOP and START from families."""

import pytest
from meldinger.models import Message, OptOut

from henvendelser.models import Inquiry
from tests.conftest import error_code

SMS_PATH = "/webhooks/twilio/sms/"


def text(twilio_post, sid, body, sender="+4791000001"):
    return twilio_post(
        SMS_PATH, {"MessageSid": sid, "From": sender, "To": "+4759440000", "Body": body}
    )


@pytest.mark.parametrize("word", ["STOP", "Stopp", "avslutt", "AVMELD", " stopp. "])
def test_a_stop_word_opts_the_number_out_with_one_confirmation(
    twilio_post, mother, fake_twilio, django_capture_on_commit_callbacks, word
):
    with django_capture_on_commit_callbacks(execute=True):
        response = text(twilio_post, "SMstop1", word)
    assert response.status_code == 200
    mother.refresh_from_db()
    assert mother.opted_out
    assert OptOut.objects.get(phone=mother.phone).opted_out
    [confirmation] = fake_twilio.sent_to(mother.phone)
    assert "START" in confirmation["body"]
    assert not Inquiry.objects.exists()  # an opt-out is not a question for the queue


def test_a_retried_or_repeated_stop_sends_no_second_confirmation(
    twilio_post, mother, fake_twilio, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        text(twilio_post, "SMstop1", "STOPP")
        text(twilio_post, "SMstop1", "STOPP")  # Twilio retried the webhook
        text(twilio_post, "SMstop2", "STOPP")  # the parent sent it again
    assert len(fake_twilio.sent_to(mother.phone)) == 1


def test_nothing_else_goes_to_an_opted_out_number(
    twilio_post, reply, mother, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        text(twilio_post, "SMstop1", "STOPP")
    response = reply({"text": "Hei"})
    assert response.status_code == 409
    assert error_code(response) == "recipient_opted_out"


def test_start_opts_back_in(
    twilio_post, reply, mother, fake_twilio, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        text(twilio_post, "SMstop1", "STOPP")
        text(twilio_post, "SMstart1", "START IGJEN")
    mother.refresh_from_db()
    assert not mother.opted_out
    assert len(fake_twilio.sent_to(mother.phone)) == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert reply({"text": "Hei igjen"}).status_code == 201


def test_a_question_with_the_word_stop_in_it_is_a_question(twilio_post, mother, section):
    text(twilio_post, "SMq1", "Skal vi stoppe medisinen nå som hun har feber?")
    mother.refresh_from_db()
    assert not mother.opted_out
    inquiry = Inquiry.objects.get()
    assert inquiry.alarm  # and the alarm screen still sees the fever
    assert not Message.objects.exists()
