"""Triage on an inquiry through the API: stored, on the timeline, driving queue and deadline."""

import copy
import datetime as dt
import json
import zoneinfo

import pytest
import time_machine

from core.models import AuditEvent
from henvendelser.models import Inquiry
from tests.conftest import error_code
from tests.factories import InquiryFactory
from triage.models import Assessment, RuleSet

pytestmark = pytest.mark.django_db
OSLO = zoneinfo.ZoneInfo("Europe/Oslo")


def assess(client, inquiry, **body):
    return client.post(f"/api/inquiries/{inquiry.pk}/assessments/", body, format="json")


def test_fever_on_chemo_goes_to_a_doctor_now_and_tops_the_queue(api_as, coordinator, section):
    waiting = InquiryFactory(section=section, grade="amber")
    child = InquiryFactory(section=section)
    client = api_as(coordinator)
    with time_machine.travel(dt.datetime(2026, 11, 24, 10, 0, tzinfo=OSLO), tick=False):
        response = assess(client, child, temperature_c=38.2, on_active_treatment=True)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["grade"], body["action"], body["rules_version"]) == (
        "red",
        "escalate_now",
        "2026.1",
    )
    assert body["reasons"][0]["code"] == "temperature.red.fever_on_treatment"
    assert body["reasons"][0]["value"] == 38.2
    assert "breathing" in body["not_assessed"]
    child.refresh_from_db()
    assert child.grade == "red"
    assert child.deadline_at == dt.datetime(2026, 11, 24, 10, 15, tzinfo=OSLO)
    queue = client.get("/api/inquiries/?open=true").json()["results"]
    assert [row["id"] for row in queue] == [child.pk, waiting.pk]
    entry = child.entries.get(kind="assessment")
    assert entry.data["grade"] == "red"
    assert entry.data["reasons"][0]["text"]
    assert AuditEvent.objects.filter(action="inquiry.assess", object_id=str(child.pk)).exists()


@pytest.mark.parametrize(
    ("when", "grade", "deadline"),
    [
        (dt.datetime(2026, 11, 24, 10, 0), "amber", dt.datetime(2026, 11, 24, 12, 0)),
        (dt.datetime(2026, 11, 24, 10, 0), "green", dt.datetime(2026, 11, 25, 12, 0)),
        (dt.datetime(2026, 11, 27, 16, 0), "green", dt.datetime(2026, 11, 30, 12, 0)),  # Fri
        (dt.datetime(2026, 11, 28, 9, 0), "green", dt.datetime(2026, 11, 30, 12, 0)),  # Sat
        # Public holidays: Christmas, Easter (Thursday to Monday), 17 May and Whit Monday.
        (dt.datetime(2026, 12, 23, 10, 0), "green", dt.datetime(2026, 12, 24, 12, 0)),
        (dt.datetime(2026, 12, 24, 10, 0), "green", dt.datetime(2026, 12, 28, 12, 0)),
        (dt.datetime(2027, 3, 24, 10, 0), "green", dt.datetime(2027, 3, 30, 12, 0)),
        (dt.datetime(2027, 5, 14, 10, 0), "green", dt.datetime(2027, 5, 18, 12, 0)),
    ],
)
def test_the_deadline_follows_the_grade(api_as, coordinator, section, when, grade, deadline):
    inquiry = InquiryFactory(section=section)
    inputs = {"amber": {"pain_score": 5}, "green": {"pain_score": 1}}[grade]
    with time_machine.travel(when.replace(tzinfo=OSLO), tick=False):
        assert assess(api_as(coordinator), inquiry, **inputs).json()["grade"] == grade
    inquiry.refresh_from_db()
    assert inquiry.deadline_at == deadline.replace(tzinfo=OSLO)


def test_a_sections_own_deadlines_apply(api_as, coordinator, section):
    section.deadline_rules = {"red_minutes": 10}
    section.save()
    inquiry = InquiryFactory(section=section)
    with time_machine.travel(dt.datetime(2026, 11, 24, 10, 0, tzinfo=OSLO), tick=False):
        assess(api_as(coordinator), inquiry, consciousness="seizure")
    inquiry.refresh_from_db()
    assert inquiry.deadline_at == dt.datetime(2026, 11, 24, 10, 10, tzinfo=OSLO)


def test_raising_the_grade_needs_no_reason_and_changes_the_action(api_as, coordinator, section):
    inquiry = InquiryFactory(section=section)
    body = assess(api_as(coordinator), inquiry, pain_score=2, override_grade="red").json()
    assert (body["computed_grade"], body["grade"], body["action"]) == (
        "green",
        "red",
        "escalate_now",
    )


def test_lowering_the_grade_needs_a_written_reason(api_as, coordinator, section):
    inquiry = InquiryFactory(section=section)
    client = api_as(coordinator)
    refused = assess(
        client, inquiry, temperature_c=38.3, on_active_treatment=False, override_grade="green"
    )
    assert refused.status_code == 400
    assert "override_reason" in refused.json()["error"]["fields"]
    assert not Assessment.objects.exists()
    inquiry.refresh_from_db()
    assert inquiry.grade is None
    accepted = assess(
        client,
        inquiry,
        temperature_c=38.3,
        on_active_treatment=False,
        override_grade="green",
        override_reason="Målt rett etter varmt bad; ny måling 37,2.",
    )
    assert accepted.status_code == 201
    assert accepted.json()["grade"] == "green"
    entry = inquiry.entries.get(kind="assessment")
    assert entry.text == "Målt rett etter varmt bad; ny måling 37,2."
    assert entry.data["computed_grade"] == "amber"
    event = AuditEvent.objects.get(action="inquiry.assess")
    assert event.detail["overridden"] is True


def test_bad_triage_input_is_a_400_naming_the_field_and_stores_nothing(
    api_as, coordinator, section
):
    inquiry = InquiryFactory(section=section)
    response = assess(api_as(coordinator), inquiry, temperature_c="høy", heart_rate=150)
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"temperature_c", "heart_rate"}
    assert not Assessment.objects.exists()


def test_a_closed_inquiry_cannot_be_triaged(api_as, coordinator, section):
    inquiry = InquiryFactory(section=section, status="closed")
    response = assess(api_as(coordinator), inquiry, pain_score=2)
    assert response.status_code == 409
    assert error_code(response) == "invalid_transition"


def test_a_secretary_cannot_triage_but_a_doctor_can(api_as, secretary, doctor, section):
    inquiry = InquiryFactory(section=section)
    assert assess(api_as(secretary), inquiry, pain_score=2).status_code == 403
    assert assess(api_as(doctor), inquiry, pain_score=2).status_code == 201


def test_another_sections_inquiry_cannot_be_triaged(api_as, coordinator, other_section):
    inquiry = InquiryFactory(section=other_section)
    assert assess(api_as(coordinator), inquiry, pain_score=2).status_code == 404


def test_assessments_are_listed_with_the_rules_version(api_as, coordinator, section):
    inquiry = InquiryFactory(section=section)
    client = api_as(coordinator)
    assess(client, inquiry, pain_score=5)
    assess(client, inquiry, pain_score=8)
    listed = client.get(f"/api/inquiries/{inquiry.pk}/assessments/").json()
    assert [a["grade"] for a in listed["results"]] == ["amber", "red"]
    assert {a["rules_version"] for a in listed["results"]} == {"2026.1"}


def test_the_stateless_endpoint_stores_nothing(api_as, coordinator):
    response = api_as(coordinator).post(
        "/api/triage/assess/",
        {"temperature_c": 38.5, "question_type": "medication_dose"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["grade"], body["action"]) == ("red", "escalate_now")
    assert not Assessment.objects.exists()
    bad = api_as(coordinator).post("/api/triage/assess/", [1], format="json")
    assert bad.status_code == 400


def test_a_lead_publishes_a_new_rule_version_and_assessments_record_it(
    api_as, lead, coordinator, section
):
    client = api_as(lead)
    rules = copy.deepcopy(client.get("/api/triage/rules/").json()["data"])
    rules["version"] = "2026.2"
    rules["combination"]["red_when_ambers_at_least"] = 3
    published = client.post("/api/triage/rules/", {"rules": rules}, format="json")
    assert published.status_code == 201, published.content
    assert RuleSet.objects.get(active=True).version == "2026.2"
    inquiry = InquiryFactory(section=section)
    body = assess(api_as(coordinator), inquiry, pain_score=5, rash="new").json()
    assert (body["grade"], body["rules_version"]) == ("amber", "2026.2")
    again = client.post("/api/triage/rules/", {"rules": rules}, format="json")
    assert again.status_code == 400  # a version number is used once


def test_broken_rules_are_refused_and_only_a_lead_may_publish(api_as, lead, coordinator):
    broken = {"version": "x", "symptoms": []}
    response = api_as(lead).post("/api/triage/rules/", {"rules": broken}, format="json")
    assert response.status_code == 400
    assert api_as(lead).get("/api/triage/rules/").json()["version"] == "2026.1"
    denied = api_as(coordinator).post("/api/triage/rules/", {"rules": broken}, format="json")
    assert denied.status_code == 403


def test_an_alarming_text_is_flagged_before_anyone_reads_it_and_assessment_clears_it(
    twilio_post, api_as, coordinator, section
):
    calm = InquiryFactory(section=section, grade="amber")
    twilio_post(
        "/webhooks/twilio/sms/",
        {
            "MessageSid": "SMalarm1",
            "From": "+4791234567",
            "To": section.phone_number,
            "Body": "Hun har 38,6 og puster tungt",
        },
    )
    flagged = Inquiry.objects.get(caller_phone="+4791234567")
    assert flagged.alarm is True
    assert flagged.alarm_terms == ["breathing", "temperature_value"]
    client = api_as(coordinator)
    queue = client.get("/api/inquiries/?open=true").json()["results"]
    assert [row["id"] for row in queue] == [flagged.pk, calm.pk]
    assert queue[0]["alarm"] is True and queue[0]["grade"] is None

    assess(client, flagged, temperature_c=37.0, breathing="normal")
    flagged.refresh_from_db()
    assert (flagged.alarm, flagged.grade) == (False, "green")

    # A new alarming text on an assessed inquiry flags it again: it needs a new look.
    twilio_post(
        "/webhooks/twilio/sms/",
        {
            "MessageSid": "SMalarm2",
            "From": "+4791234567",
            "To": section.phone_number,
            "Body": "Nå har hun kramper",
        },
    )
    flagged.refresh_from_db()
    assert flagged.alarm is True
    queue = client.get("/api/inquiries/?open=true").json()["results"]
    assert queue[0]["id"] == flagged.pk


def test_an_everyday_text_is_not_flagged(twilio_post, section):
    twilio_post(
        "/webhooks/twilio/sms/",
        {
            "MessageSid": "SMcalm",
            "From": "+4791234567",
            "To": section.phone_number,
            "Body": "Når er neste time?",
        },
    )
    assert Inquiry.objects.get().alarm is False


def test_the_publish_command_loads_a_file_once(tmp_path):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("publish_triage_rules", stdout=out)
    call_command("publish_triage_rules", stdout=out)
    assert RuleSet.objects.get(active=True).version == "2026.1"
    assert "finnes allerede" in out.getvalue()

    from triage.rulesets import DEFAULT_RULES_FILE

    newer = json.loads(DEFAULT_RULES_FILE.read_text())
    newer["version"] = "2026.3"
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(newer))
    call_command("publish_triage_rules", str(path), stdout=out)
    assert RuleSet.objects.get(active=True).version == "2026.3"
    assert RuleSet.objects.count() == 2


def test_no_grade_is_shown_before_the_sepsis_questions_are_answered(api_as, coordinator):
    api = api_as(coordinator)
    empty = api.post("/api/triage/assess/", {}, format="json").json()
    assert empty["show_grade"] is False
    assert empty["missing_required"] == [
        "temperature_c",
        "appears_unwell",
        "breathing",
        "consciousness",
    ]
    # A red answer shows at once, whatever is still unanswered.
    fever = api.post("/api/triage/assess/", {"temperature_c": 38.6}, format="json").json()
    assert (fever["grade"], fever["show_grade"], fever["complete"]) == ("red", True, False)
    answered = {
        "temperature_c": 36.8,
        "appears_unwell": False,
        "breathing": "normal",
        "consciousness": "normal",
    }
    calm = api.post("/api/triage/assess/", answered, format="json").json()
    assert (calm["grade"], calm["show_grade"], calm["complete"]) == ("green", True, True)
