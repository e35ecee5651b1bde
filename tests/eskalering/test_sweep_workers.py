"""Two real Celery workers sweep the same overdue escalations at once: each is re-escalated to
the on-call doctor once, with one breach and one SMS to that doctor."""

import datetime as dt
import re

import pytest
from django.conf import settings
from django.utils import timezone
from eskalering.models import Breach, DoctorNotice, Escalation

from core.models import UserProfile
from tests.eskalering.conftest import on_shift
from tests.eskalering.test_escalate import make_escalation
from tests.factories import InquiryFactory, PatientFactory, UserFactory
from tests.processes import send_task, wait_for, worker_env

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"),
        reason="two processes writing at once need PostgreSQL's row locks (CI runs it there)",
    ),
]

SWEEP = "eskalering.tasks.sweep_escalations"


def test_two_workers_sweeping_at_once_re_escalate_each_once(
    section, coordinator, broker, workers, fake_twilio_server
):
    ward = UserFactory(role="doctor", sections=[section])
    UserProfile.objects.create(user=ward, phone="+4790000201")
    duty = UserFactory(role="doctor", sections=[section])
    UserProfile.objects.create(user=duty, phone="+4790000202")
    on_shift(section, ward, "ward_doctor")
    on_shift(section, duty, "on_call")
    twenty_minutes_ago = timezone.now() - dt.timedelta(minutes=20)
    for n in range(3):
        inquiry = InquiryFactory(
            section=section,
            grade="red",
            caller_phone=f"+479100000{n}",
            patient=PatientFactory(section=section),
        )
        make_escalation(inquiry, coordinator, twenty_minutes_ago)  # red: 15 minutes, so overdue

    env = worker_env(broker, fake_twilio_server.url)
    started = [workers(env, "a"), workers(env, "b")]
    for _ in range(4):
        send_task(broker, SWEEP)

    def succeeded(worker) -> int:
        return len(re.findall(rf"Task {re.escape(SWEEP)}\[[\w-]+\] succeeded", worker.output()))

    wait_for(lambda: sum(map(succeeded, started)) == 4, what="four sweeps")
    assert all(succeeded(worker) for worker in started)  # both workers swept
    assert Breach.objects.count() == 3
    assert set(Escalation.objects.values_list("doctor_id", "level")) == {(duty.pk, 1)}
    assert DoctorNotice.objects.filter(doctor=duty).count() == 3
    wait_for(
        lambda: len(fake_twilio_server.sent_to("+4790000202")) >= 3,
        what="the on-call doctor's notices",
    )
    assert len(fake_twilio_server.sent_to("+4790000202")) == 3
