import datetime as dt

import pytest
from django.utils import timezone
from eskalering.models import RosterShift

from core import sms
from core.models import UserProfile
from tests.factories import InquiryFactory, PatientFactory


@pytest.fixture(autouse=True)
def empty_outbox():
    sms.OUTBOX.clear()
    yield
    sms.OUTBOX.clear()


def on_shift(section, doctor, role, *, hours=12):
    now = timezone.now()
    return RosterShift.objects.create(
        section=section,
        role=role,
        doctor=doctor,
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(hours=hours),
    )


@pytest.fixture
def ward_doctor(make_user, section):
    doctor = make_user("doctor", first_name="Lars", last_name="Lege")
    UserProfile.objects.create(user=doctor, phone="+4790000101")
    on_shift(section, doctor, "ward_doctor")
    return doctor


@pytest.fixture
def on_call(make_user, section):
    doctor = make_user("doctor", first_name="Vera", last_name="Vakt")
    UserProfile.objects.create(user=doctor, phone="+4790000103")
    on_shift(section, doctor, "on_call")
    return doctor


@pytest.fixture
def responsible(make_user):
    doctor = make_user("doctor", first_name="Liv", last_name="Onkolog")
    UserProfile.objects.create(user=doctor, phone="+4790000102")
    return doctor


@pytest.fixture
def red_inquiry(section, responsible, coordinator):
    patient = PatientFactory(
        section=section, first_name="Emma", last_name="Johansen", responsible_doctor=responsible
    )
    return InquiryFactory(
        section=section,
        patient=patient,
        grade="red",
        status="in_progress",
        claimed_by=coordinator,
        summary="Feber 38,6",
    )
