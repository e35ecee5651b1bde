"""`make run` has no beat process: the demo server runs the beat schedule itself."""

import datetime as dt

import pytest
from django.utils import timezone
from eskalering.models import Breach, Escalation
from eskalering.services import escalate_inquiry
from meldinger import services as messages
from meldinger.models import Message

from core.beat import InProcessBeat
from tests.eskalering.conftest import on_shift
from tests.factories import ContactFactory, InquiryFactory, PatientFactory
from tests.processes import DaphneServer, wait_for

SCHEDULE = {
    "often": {"task": "a.often", "schedule": 60.0},
    "seldom": {"task": "a.seldom", "schedule": 3600.0},
}


def test_each_entry_runs_when_due_and_a_failing_task_does_not_stop_the_others():
    ran = []

    def run(task):
        ran.append(task)
        if task == "a.often":
            raise RuntimeError("the database is away")

    beat = InProcessBeat(SCHEDULE, run)
    wait = beat.tick()
    assert ran == ["a.often", "a.seldom"]
    assert 0 < wait <= 60
    beat.tick()  # nothing is due again yet
    assert ran == ["a.often", "a.seldom"]


@pytest.mark.django_db(transaction=True)
def test_the_demo_server_sweeps_overdue_escalations_and_the_outbox(
    section, coordinator, make_user, monkeypatch
):
    ward, on_call = make_user("doctor"), make_user("doctor")
    on_shift(section, ward, "ward_doctor")
    on_shift(section, on_call, "on_call")
    patient = PatientFactory(section=section)
    inquiry = InquiryFactory(
        section=section, patient=patient, grade="red", status="in_progress", claimed_by=coordinator
    )
    half_an_hour_ago = timezone.now() - dt.timedelta(minutes=30)
    escalation = escalate_inquiry(
        inquiry_id=inquiry.pk,
        by=coordinator,
        target="ward_doctor",
        question="Feber 39. Inn?",
        now=half_an_hour_ago,
    )  # red: to be seen within 15 minutes, so overdue now
    mother = ContactFactory(patient=patient, sms_consent=True)
    monkeypatch.setattr(messages, "enqueue", lambda pk: None)  # as if the broker was down
    stuck = messages.queue_message(
        section=section,
        kind="reply",
        to_phone=mother.phone,
        composed=messages.Composed("Timen er flyttet.", "Timen er flyttet.", False, None, None),
        language="nb",
        now=timezone.now(),
        idempotency_key="stuck",
        contact=mother,
    )

    server = DaphneServer(
        extra_env={
            "IN_PROCESS_BEAT": "true",
            "IN_PROCESS_BEAT_SECONDS": "0.5",
            "OUTBOX_STUCK_SECONDS": "1",
        }
    ).start()
    try:
        moved = wait_for(
            lambda: Escalation.objects.filter(pk=escalation.pk, doctor=on_call).first(),
            what="the overdue escalation to reach the on-call doctor",
        )
        assert moved.level == 1
        assert Breach.objects.filter(escalation=escalation, outcome="re_escalated").count() == 1
        wait_for(
            lambda: Message.objects.get(pk=stuck.pk).status == "sent",
            what="the stuck message to be sent",
        )
    finally:
        server.stop()
