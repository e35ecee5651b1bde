import datetime as dt

import pytest
from django.utils import timezone
from eskalering import services
from eskalering.models import Breach, Escalation

from core import sms
from henvendelser.models import Inquiry
from tests.conftest import error_code
from tests.factories import InquiryFactory, SectionFactory, UserFactory

pytestmark = pytest.mark.django_db


def escalate(client, inquiry, **body):
    payload = {"target": "ward_doctor", "question": "Feber 38,6 på dag 5 etter kur. Inn nå?"}
    payload.update(body)
    return client.post(f"/api/inquiries/{inquiry.pk}/escalations/", payload, format="json")


def test_the_ward_doctor_on_the_roster_gets_the_question_with_triage_and_context(
    api_as, coordinator, red_inquiry, ward_doctor, on_call, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = escalate(api_as(coordinator), red_inquiry)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["doctor"]["id"] == ward_doctor.pk
    assert body["state"] == "open"
    assert body["context"]["patient"]["name"] == "Emma Johansen"
    assert body["context"]["patient"]["diagnosis"]
    created = dt.datetime.fromisoformat(body["created_at"])
    assert dt.datetime.fromisoformat(body["acknowledge_due_at"]) - created == dt.timedelta(
        minutes=15
    )
    red_inquiry.refresh_from_db()
    assert red_inquiry.status == "awaiting_doctor"
    assert red_inquiry.entries.filter(kind="escalated").count() == 1
    # The doctor is told by SMS, with no patient data in it.
    [notice] = sms.OUTBOX
    assert notice.to == "+4790000101"
    assert notice.body.startswith("Ny eskalering (rød) i Kontaktpunkt, svar innen 15 min: ")
    assert notice.body.endswith("/lege/")
    assert "Emma" not in notice.body and "Johansen" not in notice.body


def test_the_queue_row_shows_the_escalation_state_doctor_and_due(
    api_as, coordinator, red_inquiry, ward_doctor
):
    escalate(api_as(coordinator), red_inquiry)
    row = api_as(coordinator).get("/api/inquiries/").json()["results"][0]
    assert row["escalation"]["state"] == "open"
    assert row["escalation"]["doctor"]["name"] == "Lars Lege"
    assert row["escalation"]["due"]


def test_the_responsible_doctor_target_goes_to_the_patients_doctor(
    api_as, coordinator, red_inquiry, responsible, ward_doctor
):
    body = escalate(api_as(coordinator), red_inquiry, target="responsible_doctor").json()
    assert body["doctor"]["id"] == responsible.pk


def test_with_no_ward_doctor_on_the_roster_the_on_call_doctor_gets_it(
    api_as, coordinator, red_inquiry, on_call
):
    assert escalate(api_as(coordinator), red_inquiry).json()["doctor"]["id"] == on_call.pk


def test_with_nobody_on_the_roster_the_coordinator_is_told_to_phone(
    api_as, coordinator, red_inquiry
):
    response = escalate(api_as(coordinator), red_inquiry)
    assert response.status_code == 409
    assert error_code(response) == "no_doctor_available"
    assert "Ring vakthavende" in response.json()["error"]["message"]
    assert not Escalation.objects.exists()
    red_inquiry.refresh_from_db()
    assert red_inquiry.status == "in_progress"


def test_a_chosen_doctor_must_be_a_doctor_in_the_section(
    api_as, coordinator, red_inquiry, ward_doctor, other_section
):
    stranger = UserFactory(role="doctor", sections=[other_section])
    response = escalate(api_as(coordinator), red_inquiry, doctor=stranger.pk)
    assert response.status_code == 400
    assert not Escalation.objects.exists()


@pytest.mark.parametrize("role", ["secretary", "doctor"])
def test_secretaries_and_doctors_cannot_escalate(api_as, make_user, red_inquiry, ward_doctor, role):
    assert escalate(api_as(make_user(role)), red_inquiry).status_code == 403
    assert not Escalation.objects.exists()


def test_one_open_escalation_at_a_time(api_as, coordinator, red_inquiry, ward_doctor):
    client = api_as(coordinator)
    assert escalate(client, red_inquiry).status_code == 201
    again = escalate(client, red_inquiry)
    assert again.status_code == 409


def test_the_doctor_acknowledges_and_answers_and_the_answer_comes_back(
    api_as, coordinator, red_inquiry, ward_doctor, section, django_capture_on_commit_callbacks
):
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from core.realtime import queue_group

    escalation_id = escalate(api_as(coordinator), red_inquiry).json()["id"]
    doctor = api_as(ward_doctor)
    mine = doctor.get("/api/escalations/?mine=true").json()
    assert [e["id"] for e in mine["results"]] == [escalation_id]
    acknowledged = doctor.post(f"/api/escalations/{escalation_id}/acknowledge/", {}, format="json")
    assert acknowledged.json()["state"] == "acknowledged"

    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(queue_group(section.pk), channel)
    with django_capture_on_commit_callbacks(execute=True):
        answered = doctor.post(
            f"/api/escalations/{escalation_id}/answer/",
            {"answer": "Kom inn til blodkultur og antibiotika nå.", "patient_must_come_in": True},
            format="json",
        )
    event = async_to_sync(layer.receive)(channel)["event"]
    async_to_sync(layer.group_discard)(queue_group(section.pk), channel)
    assert answered.status_code == 200
    assert answered.json()["patient_must_come_in"] is True
    assert event["type"] == "escalation.answered"
    assert event["inquiry"]["status"] == "in_progress"
    assert event["escalation"]["answer"] == "Kom inn til blodkultur og antibiotika nå."
    red_inquiry.refresh_from_db()
    assert red_inquiry.status == "in_progress"
    answer = red_inquiry.entries.get(kind="doctor_answer")
    assert (answer.author, answer.data["patient_must_come_in"]) == (ward_doctor, True)


def test_another_doctor_cannot_answer(api_as, coordinator, red_inquiry, ward_doctor, on_call):
    escalation_id = escalate(api_as(coordinator), red_inquiry).json()["id"]
    response = api_as(on_call).post(
        f"/api/escalations/{escalation_id}/answer/", {"answer": "Ja"}, format="json"
    )
    assert response.status_code == 403
    assert Escalation.objects.get().state == "open"


def test_a_doctor_reassigns_to_a_colleague(
    api_as, coordinator, red_inquiry, ward_doctor, responsible
):
    escalation_id = escalate(api_as(coordinator), red_inquiry).json()["id"]
    moved = api_as(ward_doctor).post(
        f"/api/escalations/{escalation_id}/reassign/", {"doctor": responsible.pk}, format="json"
    )
    assert moved.status_code == 200
    assert moved.json()["doctor"]["id"] == responsible.pk
    assert api_as(ward_doctor).get("/api/escalations/?mine=true").json()["count"] == 0
    assert api_as(responsible).get("/api/escalations/?mine=true").json()["count"] == 1


def test_a_doctor_sees_only_escalations_in_their_sections(
    api_as, coordinator, red_inquiry, ward_doctor
):
    escalation_id = escalate(api_as(coordinator), red_inquiry).json()["id"]
    elsewhere = UserFactory(role="doctor", sections=[SectionFactory()])
    client = api_as(elsewhere)
    assert client.get("/api/escalations/").json()["count"] == 0
    assert client.get(f"/api/escalations/{escalation_id}/").status_code == 404
    assert (
        client.post(f"/api/escalations/{escalation_id}/acknowledge/", {}, format="json").status_code
        == 404
    )


# --- Deadlines, with a controlled clock ----------------------------------------------------------


def make_escalation(inquiry, coordinator, at):
    return services.escalate_inquiry(
        inquiry_id=inquiry.pk, by=coordinator, target="ward_doctor", question="Inn nå?", now=at
    )


def test_acknowledged_in_time_nothing_happens(coordinator, red_inquiry, ward_doctor, on_call):
    start = timezone.now()
    escalation = make_escalation(red_inquiry, coordinator, start)
    services.acknowledge_escalation(
        escalation_id=escalation.pk, by=ward_doctor, now=start + dt.timedelta(minutes=10)
    )
    assert services.sweep_overdue(now=start + dt.timedelta(minutes=20)) == {
        "re_escalated": 0,
        "coordinator_alerted": 0,
    }


def test_answered_in_time_nothing_happens(coordinator, red_inquiry, ward_doctor, on_call):
    start = timezone.now()
    escalation = make_escalation(red_inquiry, coordinator, start)
    services.answer_escalation(
        escalation_id=escalation.pk,
        by=ward_doctor,
        answer="Gi paracet",
        now=start + dt.timedelta(minutes=5),
    )
    assert services.sweep_overdue(now=start + dt.timedelta(hours=5)) == {
        "re_escalated": 0,
        "coordinator_alerted": 0,
    }


def test_overdue_goes_to_on_call_then_the_coordinator_is_alerted(
    coordinator, red_inquiry, ward_doctor, on_call, django_capture_on_commit_callbacks
):
    start = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        escalation = make_escalation(red_inquiry, coordinator, start)
    assert services.sweep_overdue(now=start + dt.timedelta(minutes=14)) == {
        "re_escalated": 0,
        "coordinator_alerted": 0,
    }

    late = start + dt.timedelta(minutes=16)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sweep_overdue(now=late)["re_escalated"] == 1
    escalation.refresh_from_db()
    assert (escalation.doctor, escalation.level, escalation.state) == (on_call, 1, "open")
    assert escalation.acknowledge_due_at == late + dt.timedelta(minutes=15)
    assert [sent.to for sent in sms.OUTBOX] == ["+4790000101", "+4790000103"]

    later = late + dt.timedelta(minutes=16)
    assert services.sweep_overdue(now=later)["coordinator_alerted"] == 1
    escalation.refresh_from_db()
    assert escalation.coordinator_alerted_at == later
    assert list(Breach.objects.values_list("level", "outcome")) == [
        (0, "re_escalated"),
        (1, "coordinator_alerted"),
    ]
    assert red_inquiry.entries.filter(kind="escalation_late").count() == 2
    # Swept again: nothing new.
    assert services.sweep_overdue(now=later + dt.timedelta(hours=1)) == {
        "re_escalated": 0,
        "coordinator_alerted": 0,
    }


def test_acknowledged_but_not_answered_in_time_is_also_overdue(
    coordinator, red_inquiry, ward_doctor, on_call
):
    start = timezone.now()
    escalation = make_escalation(red_inquiry, coordinator, start)
    services.acknowledge_escalation(
        escalation_id=escalation.pk, by=ward_doctor, now=start + dt.timedelta(minutes=2)
    )
    assert services.sweep_overdue(now=start + dt.timedelta(minutes=31))["re_escalated"] == 1
    assert Breach.objects.get().deadline == "answer"


def test_when_the_on_call_doctor_was_the_one_asked_the_coordinator_is_alerted_at_once(
    coordinator, red_inquiry, on_call
):
    start = timezone.now()
    make_escalation(red_inquiry, coordinator, start)  # no ward doctor: on-call got it
    assert services.sweep_overdue(now=start + dt.timedelta(minutes=16)) == {
        "re_escalated": 0,
        "coordinator_alerted": 1,
    }


def test_a_reassigned_escalation_keeps_its_deadline(
    coordinator, red_inquiry, ward_doctor, responsible, on_call
):
    start = timezone.now()
    escalation = make_escalation(red_inquiry, coordinator, start)
    services.reassign_escalation(
        escalation_id=escalation.pk,
        by=ward_doctor,
        doctor=responsible,
        now=start + dt.timedelta(minutes=5),
    )
    escalation.refresh_from_db()
    assert escalation.acknowledge_due_at == start + dt.timedelta(minutes=15)
    assert services.sweep_overdue(now=start + dt.timedelta(minutes=16))["re_escalated"] == 1
    escalation.refresh_from_db()
    assert escalation.doctor == on_call


def test_the_doctor_notice_is_sent_once_however_often_the_task_runs(
    coordinator, red_inquiry, ward_doctor
):
    from eskalering.models import DoctorNotice
    from meldinger.tasks import deliver

    make_escalation(red_inquiry, coordinator, timezone.now())
    notice = DoctorNotice.objects.select_related("message").get()
    deliver.apply(args=[notice.message.pk])
    deliver.apply(args=[notice.message.pk])
    assert len(sms.OUTBOX) == 1
    notice.message.refresh_from_db()
    assert notice.message.status == "sent"
    assert notice.message.twilio_sid == sms.OUTBOX[0].sid


def test_an_untriaged_inquiry_is_escalated_on_amber_deadlines(coordinator, section, ward_doctor):
    inquiry = InquiryFactory(section=section)
    start = timezone.now()
    escalation = make_escalation(inquiry, coordinator, start)
    assert escalation.acknowledge_due_at == start + dt.timedelta(hours=2)
    flagged = InquiryFactory(section=section, alarm=True, caller_phone="+4791111111")
    escalation = make_escalation(flagged, coordinator, start)
    assert escalation.acknowledge_due_at == start + dt.timedelta(minutes=15)
    assert Inquiry.objects.filter(status="awaiting_doctor").count() == 2


@pytest.mark.django_db(transaction=True)
def test_sweeps_running_at_once_re_escalate_once(section, coordinator):
    """Several workers sweep the same minute: row locks and the one-breach-per-level
    constraint let exactly one of them act (PostgreSQL in CI)."""
    from core.models import UserProfile
    from tests.eskalering.conftest import on_shift
    from tests.factories import PatientFactory
    from tests.processes import at_once

    ward = UserFactory(role="doctor", sections=[section])
    UserProfile.objects.create(user=ward, phone="+4790000201")
    duty = UserFactory(role="doctor", sections=[section])
    UserProfile.objects.create(user=duty, phone="+4790000202")
    on_shift(section, ward, "ward_doctor")
    on_shift(section, duty, "on_call")
    start = timezone.now()
    for n in range(3):
        inquiry = InquiryFactory(
            section=section,
            grade="red",
            caller_phone=f"+479100000{n}",
            patient=PatientFactory(section=section),
        )
        make_escalation(inquiry, coordinator, start)

    results = at_once(lambda: services.sweep_overdue(now=start + dt.timedelta(minutes=16)))
    assert sum(r["re_escalated"] for r in results) == 3
    assert Breach.objects.count() == 3
    assert set(Escalation.objects.values_list("doctor_id", flat=True)) == {duty.pk}


def test_the_doctor_notice_goes_through_twilio_once(
    coordinator, red_inquiry, ward_doctor, fake_twilio, django_capture_on_commit_callbacks
):
    from eskalering.models import DoctorNotice
    from meldinger.tasks import deliver

    with django_capture_on_commit_callbacks(execute=True):
        make_escalation(red_inquiry, coordinator, timezone.now())
    [sent] = fake_twilio.sent_to("+4790000101")
    assert sent["body"].startswith("Ny eskalering (rød) i Kontaktpunkt, svar innen 15 min: ")
    notice = DoctorNotice.objects.select_related("message").get()
    deliver.apply(args=[notice.message.pk])  # a re-run task
    assert len(fake_twilio.sent_to("+4790000101")) == 1
    notice.message.refresh_from_db()
    assert notice.message.twilio_sid == sent["sid"]


def test_an_untriaged_flagged_inquiry_keeps_reds_deadline_when_re_escalated(
    coordinator, section, ward_doctor, on_call
):
    """The sweep hands it to the on-call doctor with red's 15 minutes, not amber's 2 hours:
    re-escalation asks the same urgency rule as the first escalation."""
    flagged = InquiryFactory(section=section, alarm=True, caller_phone="+4791111111")
    start = timezone.now()
    escalation = make_escalation(flagged, coordinator, start)
    late = start + dt.timedelta(minutes=16)
    assert services.sweep_overdue(now=late)["re_escalated"] == 1
    escalation.refresh_from_db()
    assert escalation.doctor == on_call
    assert escalation.acknowledge_due_at == late + dt.timedelta(minutes=15)


def test_a_red_inquiry_can_be_escalated_after_the_family_has_had_a_reply(
    api_as, coordinator, red_inquiry, ward_doctor
):
    red_inquiry.status = "answered"
    red_inquiry.save()
    detail = api_as(coordinator).get(f"/api/inquiries/{red_inquiry.pk}/").json()
    assert "escalate" in detail["actions"]
    assert detail["doctor_needed"] is True
    response = escalate(api_as(coordinator), red_inquiry)
    assert response.status_code == 201, response.content
    red_inquiry.refresh_from_db()
    assert red_inquiry.status == "awaiting_doctor"
    detail = api_as(coordinator).get(f"/api/inquiries/{red_inquiry.pk}/").json()
    assert "escalate" not in detail["actions"]
    assert detail["doctor_needed"] is False


def test_after_the_answer_the_page_shows_it_and_the_red_banner_is_gone(
    api_as, coordinator, red_inquiry, ward_doctor
):
    escalation = make_escalation(red_inquiry, coordinator, timezone.now())
    services.answer_escalation(
        escalation_id=escalation.pk, by=ward_doctor, answer="Kom inn nå.", patient_must_come_in=True
    )
    detail = api_as(coordinator).get(f"/api/inquiries/{red_inquiry.pk}/").json()
    assert detail["doctor_needed"] is False
    assert detail["doctor_answer"]["text"] == "Kom inn nå."
    assert detail["doctor_answer"]["doctor"]["name"] == "Lars Lege"
    assert detail["doctor_answer"]["patient_must_come_in"] is True
    # A new alarm text after the answer makes it a doctor's matter again.
    from henvendelser.services.intake import receive_sms

    red_inquiry.caller_phone = "+4791234567"
    red_inquiry.save()
    receive_sms(
        to_phone=red_inquiry.section.phone_number,
        from_phone="+4791234567",
        body="Nå blør hun fra nesen",
        message_sid="SM" + "1" * 32,
    )
    detail = api_as(coordinator).get(f"/api/inquiries/{red_inquiry.pk}/").json()
    assert detail["latest_inbound"]["alarm_terms"] == ["bleeding"]
    assert detail["doctor_needed"] is True
    assert "escalate" in detail["actions"]


@pytest.mark.parametrize("role", ["secretary", "doctor"])
def test_the_page_offers_no_escalation_to_those_who_may_not(api_as, make_user, red_inquiry, role):
    detail = api_as(make_user(role)).get(f"/api/inquiries/{red_inquiry.pk}/").json()
    assert "escalate" not in detail["actions"]
    assert "close" not in detail["actions"]
