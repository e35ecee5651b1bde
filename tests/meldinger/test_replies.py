"""Replying to a family: the API, the outbox and the fake Twilio server, end to end."""

import pytest
from meldinger.models import Message, OptOut

from henvendelser.models import Contact
from tests.conftest import TWILIO_TEST_FROM, error_code
from tests.factories import InquiryFactory

from .conftest import CALLBACK_BLODPROVER


def test_a_templated_reply_is_sent_through_twilio_and_answers_the_inquiry(
    reply, inquiry, mother, fake_twilio, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = reply(CALLBACK_BLODPROVER)
    assert response.status_code == 201
    body = response.json()
    assert body["template"] == {
        "key": "blodprover_fine",
        "category": "test_results",
        "language": "nb",
        "version": 1,
    }
    [sent] = fake_twilio.sent_to(mother.phone)
    assert sent["from"] == TWILIO_TEST_FROM
    assert sent["body"] == (
        "Hei! Blodprøvene i dag var fine, og dere kan være hjemme som planlagt. Neste time er "
        "3. desember kl. 09:30. Hilsen kontaktpunktet, Barneavdelingen"
    )
    message = Message.objects.get(pk=body["id"])
    assert message.status == "sent"
    assert message.twilio_sid == sent["sid"]
    assert message.template_version.used
    inquiry.refresh_from_db()
    assert inquiry.status == "answered"
    assert inquiry.entries.filter(kind="sms_out").count() == 1


def test_the_queue_row_carries_the_last_message_status(
    api_as, coordinator, reply, inquiry, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reply({"text": "Vi har flyttet timen til fredag kl. 10."})
    [row] = api_as(coordinator).get("/api/inquiries/").json()["results"]
    assert row["last_message_status"] == "sent"


def test_the_same_idempotency_key_sends_once(
    reply, mother, fake_twilio, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = reply({"text": "Timen er flyttet."}, key="klikk-1")
    with django_capture_on_commit_callbacks(execute=True):
        again = reply({"text": "Timen er flyttet."}, key="klikk-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert len(fake_twilio.sent_to(mother.phone)) == 1


def test_a_sensitive_template_sends_only_a_link(
    reply, inquiry, mother, fake_twilio, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = reply(
            {
                "template": "provesvar_klare",
                "language": "nb",
                "variables": {
                    "dato": "1. desember",
                    "svar": "Blodprosenten er 11,2.",
                    "telefon": "22 00 00 00",
                },
            }
        )
    assert response.status_code == 201
    [sent] = fake_twilio.sent_to(mother.phone)
    assert "Blodprosenten" not in sent["body"] and "Emma" not in sent["body"]
    assert "https://kontaktpunkt.example.test/m/" in sent["body"]
    message = Message.objects.get(pk=response.json()["id"])
    assert message.sensitive and "Blodprosenten er 11,2." in message.content


def test_missing_variables_are_refused_before_anything_is_sent(
    reply, fake_twilio, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = reply({"template": "blodprover_fine", "language": "nb", "variables": {}})
    assert response.status_code == 400
    assert error_code(response) == "template_variables_invalid"
    assert response.json()["error"]["fields"]["missing"] == ["dato", "klokkeslett"]
    assert Message.objects.count() == 0 and fake_twilio.messages == []


def test_template_or_text_but_not_both(reply):
    response = reply({**CALLBACK_BLODPROVER, "text": "hei"})
    assert response.status_code == 400
    assert error_code(response) == "validation_error"


def test_an_opted_out_number_is_refused_with_a_reason(reply, mother):
    OptOut.objects.create(phone=mother.phone, changed_at="2026-11-01T10:00:00Z")
    response = reply({"text": "Hei"})
    assert response.status_code == 409
    assert error_code(response) == "recipient_opted_out"
    assert "STOPP" in response.json()["error"]["message"]
    assert Message.objects.count() == 0


def test_without_recorded_consent_nothing_is_sent(reply, mother):
    Contact.objects.filter(pk=mother.pk).update(sms_consent=False)
    response = reply({"text": "Hei"})
    assert response.status_code == 409
    assert error_code(response) == "consent_missing"


def test_a_family_that_texted_us_may_be_answered_there(
    reply, section, fake_twilio, django_capture_on_commit_callbacks
):
    texted = InquiryFactory(section=section, channel="sms", caller_phone="+4798765432")
    with django_capture_on_commit_callbacks(execute=True):
        response = reply({"text": "Takk, vi ringer deg i ettermiddag."}, target=texted)
    assert response.status_code == 201
    assert len(fake_twilio.sent_to("+4798765432")) == 1


def test_someone_elses_inquiry_is_not_answered(reply, inquiry, coordinator2):
    inquiry.claimed_by = coordinator2
    inquiry.save()
    response = reply({"text": "Hei"})
    assert response.status_code == 409
    assert error_code(response) == "not_claimant"


@pytest.mark.parametrize("role", ["secretary", "doctor"])
def test_only_coordinators_and_leads_send(reply, make_user, role):
    assert reply({"text": "Hei"}, user=make_user(role)).status_code == 403


def test_another_sections_inquiry_is_404(reply, other_section):
    elsewhere = InquiryFactory(section=other_section, caller_phone="+4791234567")
    assert reply({"text": "Hei"}, target=elsewhere).status_code == 404


def test_the_message_can_be_read_back_with_its_status(
    api_as, coordinator, reply, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message_id = reply({"text": "Hei"}).json()["id"]
    response = api_as(coordinator).get(f"/api/messages/{message_id}/")
    assert response.status_code == 200
    assert response.json()["status"] == "sent"
    assert response.json()["segments"] == 1


def test_the_free_text_preview_counts_and_says_when_a_text_would_be_refused(api_as, coordinator):
    api = api_as(coordinator)
    short = api.post(
        "/api/messages/preview/", {"text": "Timen er flyttet til fredag."}, format="json"
    ).json()
    assert (short["encoding"], short["segments"], short["sendable"]) == ("GSM-7", 1, True)
    emoji = api.post("/api/messages/preview/", {"text": "Takk 🙂"}, format="json").json()
    assert emoji["encoding"] == "UCS-2"
    long = api.post("/api/messages/preview/", {"text": "a" * 1601}, format="json").json()
    assert long["sendable"] is False
    assert long["problems"][0]["code"] == "too_long"
    assert "1601 tegn, høyst 1600" in long["problems"][0]["message"]
    # The reply refuses the same text for the same reason.
    assert long["segments"] == 11


def test_the_template_preview_is_not_sendable_with_a_variable_missing(api_as, coordinator):
    body = (
        api_as(coordinator)
        .post(
            "/api/templates/blodprover_fine/preview/",
            {"language": "nb", "variables": {"dato": "3. desember"}},
            format="json",
        )
        .json()
    )
    assert body["missing"] == ["klokkeslett"]
    assert body["sendable"] is False


@pytest.mark.parametrize("role", ["secretary", "doctor"])
def test_only_senders_preview_free_text(api_as, make_user, role):
    response = api_as(make_user(role)).post(
        "/api/messages/preview/", {"text": "Hei"}, format="json"
    )
    assert response.status_code == 403
