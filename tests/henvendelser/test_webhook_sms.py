import datetime as dt
import zoneinfo

import pytest
import time_machine

from core.models import AuditEvent
from henvendelser.models import InboundText, Inquiry, TimelineEntry
from tests.conftest import twilio_signature
from tests.factories import ContactFactory, PatientFactory

pytestmark = pytest.mark.django_db

OSLO = zoneinfo.ZoneInfo("Europe/Oslo")
PATH = "/webhooks/twilio/sms/"


def sms(
    section,
    sid="SM00000000000000000000000000000001",
    body="Emma har 38,5 i feber",
    sender="+4791234567",
):
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": "AC" + "1" * 32,
        "From": sender,
        "To": section.phone_number,
        "Body": body,
        "NumMedia": "0",
    }


def test_a_text_from_a_known_parent_starts_an_inquiry_for_the_child(twilio_post, section):
    contact = ContactFactory(patient=PatientFactory(section=section), phone="+4791234567")
    response = twilio_post(PATH, sms(section))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    inquiry = Inquiry.objects.get()
    assert (inquiry.channel, inquiry.status, inquiry.patient, inquiry.contact) == (
        "sms",
        "new",
        contact.patient,
        contact,
    )
    assert inquiry.identification == "identified"
    entry = inquiry.entries.get(kind="sms_in")
    assert entry.text == "Emma har 38,5 i feber"
    assert AuditEvent.objects.filter(
        action="inquiry.sms_in", patient_id=contact.patient_id
    ).exists()


def test_a_retried_webhook_creates_nothing_new(twilio_post, section):
    assert twilio_post(PATH, sms(section)).status_code == 200
    again = twilio_post(PATH, sms(section))
    assert again.status_code == 200
    assert Inquiry.objects.count() == 1
    assert TimelineEntry.objects.filter(kind="sms_in").count() == 1


def test_a_bad_signature_gets_403_and_changes_nothing(twilio_post, section):
    params = sms(section)
    forged = twilio_signature(PATH, params, token="someone-elses-token")
    assert twilio_post(PATH, params, signature=forged).status_code == 403
    assert twilio_post(PATH, params, signature="").status_code == 403
    tampered = twilio_signature(PATH, params)
    params["Body"] = "changed after signing"
    assert twilio_post(PATH, params, signature=tampered).status_code == 403
    assert not Inquiry.objects.exists()


def test_a_signature_for_another_url_is_refused(client, section):
    params = sms(section)
    signature = twilio_signature("/webhooks/twilio/voice/", params)
    response = client.post(PATH, params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 403
    assert not Inquiry.objects.exists()


def test_get_is_not_allowed(client):
    assert client.get(PATH).status_code == 405


def test_a_second_text_joins_the_open_inquiry(twilio_post, section):
    twilio_post(PATH, sms(section, sid="SM1"))
    twilio_post(PATH, sms(section, sid="SM2", body="Nå 39 grader"))
    inquiry = Inquiry.objects.get()
    assert list(inquiry.entries.filter(kind="sms_in").values_list("text", flat=True)) == [
        "Emma har 38,5 i feber",
        "Nå 39 grader",
    ]


def test_a_text_after_the_inquiry_was_closed_starts_a_new_one(twilio_post, section):
    twilio_post(PATH, sms(section, sid="SM1"))
    Inquiry.objects.update(status="closed")
    twilio_post(PATH, sms(section, sid="SM2"))
    assert Inquiry.objects.count() == 2
    assert Inquiry.objects.filter(status="new").count() == 1


def test_a_text_reopens_an_answered_inquiry_to_its_coordinator(twilio_post, section, coordinator):
    twilio_post(PATH, sms(section, sid="SM1"))
    Inquiry.objects.update(status="answered", claimed_by=coordinator)
    twilio_post(PATH, sms(section, sid="SM2", body="Takk! Ett spørsmål til"))
    inquiry = Inquiry.objects.get()
    assert inquiry.status == "in_progress"
    assert inquiry.claimed_by == coordinator
    reopened = inquiry.entries.get(kind="status")
    assert reopened.data == {"from": "answered", "to": "in_progress", "reason": "new_inbound"}


def test_an_unknown_number_still_creates_an_unidentified_inquiry(twilio_post, section):
    twilio_post(PATH, sms(section, sender="+4798765432"))
    inquiry = Inquiry.objects.get()
    assert inquiry.patient is None
    assert inquiry.identification == "unknown"
    assert inquiry.caller_phone == "+4798765432"


def test_a_parent_of_two_patients_is_not_guessed(twilio_post, section):
    ContactFactory(patient=PatientFactory(section=section), phone="+4791234567")
    ContactFactory(patient=PatientFactory(section=section), phone="+4791234567")
    twilio_post(PATH, sms(section))
    inquiry = Inquiry.objects.get()
    assert inquiry.patient is None
    assert inquiry.identification == "ambiguous"


def test_texts_to_another_sections_number_go_to_that_section(twilio_post, section, other_section):
    twilio_post(PATH, sms(other_section))
    assert Inquiry.objects.get().section == other_section


def test_a_text_to_a_number_no_section_has_is_kept_by_the_first_section(
    twilio_post, section, other_section, caplog
):
    to_nobody = {**sms(other_section), "To": "+4759999999"}
    assert twilio_post(PATH, to_nobody).status_code == 200
    assert Inquiry.objects.get().section == min(section, other_section, key=lambda s: s.pk)
    assert "unconfigured number" in caplog.text


def test_with_no_section_at_all_a_text_is_refused_and_nothing_stored(twilio_post, section):
    params = sms(section)
    section.delete()
    with pytest.raises(RuntimeError, match="No section"):
        twilio_post(PATH, params)
    assert not InboundText.objects.exists()


def test_in_opening_hours_the_answer_is_empty_twiml(twilio_post, section):
    section.opening_hours = {"weekdays": [1, 2, 3, 4, 5], "opens": "08:00", "closes": "15:30"}
    section.save()
    with time_machine.travel(dt.datetime(2026, 11, 24, 10, 0, tzinfo=OSLO), tick=False):
        response = twilio_post(PATH, sms(section))
    assert b"<Message>" not in response.content


def test_on_a_public_holiday_the_contact_point_is_closed(twilio_post, section):
    section.opening_hours = {"weekdays": [1, 2, 3, 4, 5], "opens": "08:00", "closes": "15:30"}
    section.save()
    # 17 May 2027 is a Monday; the 18th is an ordinary Tuesday.
    with time_machine.travel(dt.datetime(2027, 5, 17, 10, 0, tzinfo=OSLO), tick=False):
        holiday = twilio_post(PATH, sms(section, sid="SMholiday"))
    with time_machine.travel(dt.datetime(2027, 5, 18, 10, 0, tzinfo=OSLO), tick=False):
        ordinary = twilio_post(PATH, sms(section, sid="SMtuesday"))
    assert "113" in holiday.content.decode()
    assert b"<Message>" not in ordinary.content
    section.opening_hours["public_holidays"] = "open"
    section.save()
    with time_machine.travel(dt.datetime(2027, 5, 17, 10, 0, tzinfo=OSLO), tick=False):
        staffed = twilio_post(PATH, sms(section, sid="SMstaffed"))
    assert b"<Message>" not in staffed.content


def test_out_of_hours_the_family_gets_an_acknowledgement_with_the_emergency_number(
    twilio_post, section
):
    section.opening_hours = {"weekdays": [1, 2, 3, 4, 5], "opens": "08:00", "closes": "15:30"}
    section.save()
    with time_machine.travel(dt.datetime(2026, 11, 24, 22, 0, tzinfo=OSLO), tick=False):
        response = twilio_post(PATH, sms(section, sid="SMnight"))
        retry = twilio_post(PATH, sms(section, sid="SMnight"))
    text = response.content.decode()
    assert "<Message>" in text
    assert "113" in text
    assert section.ward_phone in text
    # A retried delivery never texts the family a second time.
    assert b"<Message>" not in retry.content


def test_the_twiml_answer_and_logs_hold_no_message_text(twilio_post, section, caplog):
    twilio_post(PATH, sms(section, body="Emma har 38,5 i feber"))
    assert "38,5" not in caplog.text
    assert "+4791234567" not in caplog.text


def test_a_webhook_without_message_sid_is_refused(twilio_post, section):
    params = sms(section)
    del params["MessageSid"], params["SmsSid"]
    assert twilio_post(PATH, params).status_code == 400
    assert not Inquiry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_the_same_message_record_it_once(section):
    """Two Twilio retries racing each other: the unique MessageSid lets one through."""
    from henvendelser.services import receive_sms
    from tests.processes import at_once

    results = at_once(
        lambda: receive_sms(
            message_sid="SMrace",
            from_phone="+4791234567",
            to_phone=section.phone_number,
            body="Feber",
        )
    )
    assert len(results) == 4
    assert sum(not r.duplicate for r in results) == 1
    assert Inquiry.objects.count() == 1
    assert TimelineEntry.objects.filter(external_id="SMrace").count() == 1


def test_the_alarm_flag_on_a_text_follows_the_temperature_in_the_rule_set_in_force(
    twilio_post, section, lead
):
    """A lead who publishes rules with another fever threshold changes what the screen flags."""
    import copy
    import json

    from triage.rulesets import DEFAULT_RULES_FILE, publish_ruleset

    twilio_post(PATH, sms(section, sid="SM" + "a" * 32, body="Hun har 37,8", sender="+4790000001"))
    assert Inquiry.objects.get(caller_phone="+4790000001").alarm_terms == ["temperature_value"]

    rules = copy.deepcopy(json.loads(DEFAULT_RULES_FILE.read_text(encoding="utf-8")))
    rules["version"] = "2026.1-test"
    temperature = next(s for s in rules["symptoms"] if s["field"] == "temperature_c")
    for bands in temperature["by_context"]["cases"].values():
        for band in bands:
            band.update({k: 38.5 for k in ("from", "below") if band.get(k) in (37.5, 38.0)})
    publish_ruleset(data=rules, by=lead)

    twilio_post(PATH, sms(section, sid="SM" + "b" * 32, body="Hun har 37,8", sender="+4790000002"))
    twilio_post(PATH, sms(section, sid="SM" + "c" * 32, body="Hun har 38,6", sender="+4790000003"))
    assert Inquiry.objects.get(caller_phone="+4790000002").alarm is False
    assert Inquiry.objects.get(caller_phone="+4790000003").alarm_terms == ["temperature_value"]
