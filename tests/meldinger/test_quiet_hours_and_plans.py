"""Quiet hours (21:00-08:00 Oslo) for what the family did not ask for, and follow-up plans."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from meldinger import plans
from meldinger.models import Message, MunicipalCoordinator
from meldinger.rules import quiet_until
from meldinger.services import Composed, queue_message, sweep_outbox

from tests.conftest import error_code

OSLO = ZoneInfo("Europe/Oslo")


def oslo(*args):
    return dt.datetime(*args, tzinfo=OSLO)


@pytest.mark.parametrize(
    ("now", "until"),
    [
        (oslo(2026, 11, 23, 20, 59), None),
        (oslo(2026, 11, 23, 21, 0), oslo(2026, 11, 24, 8, 0)),
        (oslo(2026, 11, 23, 23, 30), oslo(2026, 11, 24, 8, 0)),
        (oslo(2026, 11, 24, 0, 10), oslo(2026, 11, 24, 8, 0)),
        (oslo(2026, 11, 24, 7, 59), oslo(2026, 11, 24, 8, 0)),
        (oslo(2026, 11, 24, 8, 0), None),
        (oslo(2026, 3, 28, 23, 0), oslo(2026, 3, 29, 8, 0)),  # the night clocks go forward
    ],
)
def test_quiet_hours(now, until):
    assert quiet_until(now) == until


def notice(section, mother, now, key="n1"):
    return queue_message(
        section=section,
        kind="notice",
        to_phone=mother.phone,
        composed=Composed("Husk timen i morgen.", "Husk timen i morgen.", False, None, None),
        language="nb",
        now=now,
        idempotency_key=key,
        contact=mother,
    )


def test_a_notice_in_the_evening_waits_visibly_for_the_morning(
    section, mother, fake_twilio, django_capture_on_commit_callbacks
):
    evening = oslo(2026, 11, 23, 22, 30)
    with (
        time_machine.travel(evening, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        message = notice(section, mother, evening)
    assert message.status == "scheduled"
    assert message.scheduled_for == oslo(2026, 11, 24, 8, 0)
    assert fake_twilio.messages == []
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_outbox(now=oslo(2026, 11, 24, 7, 59))["released"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_outbox(now=oslo(2026, 11, 24, 8, 0))["released"] == 1
    message.refresh_from_db()
    assert message.status == "sent"
    assert len(fake_twilio.sent_to(mother.phone)) == 1


def test_a_reply_to_the_family_goes_at_once_at_night(
    reply, mother, fake_twilio, django_capture_on_commit_callbacks
):
    with (
        time_machine.travel(oslo(2026, 11, 23, 23, 15), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = reply({"text": "Ring avdelingen nå hvis feberen er over 38."})
    assert response.json()["status"] in ("queued", "sent")
    assert len(fake_twilio.sent_to(mother.phone)) == 1


def plan_made_on_23_november(patient, mother, municipality, coordinator, start_date):
    """A Pakkeforløp hjem plan made at noon on 23 November 2026 (Oslo), from `start_date`."""
    with time_machine.travel(oslo(2026, 11, 23, 12, 0), tick=False):
        plan, _created = plans.create_plan(
            patient=patient,
            contact=mother,
            start_date=start_date,
            municipality=municipality,
            by=coordinator,
        )
    return plan


@pytest.fixture
def oslo_coordinator(db):
    return MunicipalCoordinator.objects.create(
        municipality_number="0301",
        municipality="Oslo",
        name="Hanne Koordinator",
        phone="+4721000301",
    )


def test_pakkeforlop_hjem_schedules_notices_and_reminders(
    api_as, coordinator, patient, mother, oslo_coordinator
):
    with time_machine.travel(oslo(2026, 11, 23, 12, 0), tick=False):
        response = api_as(coordinator).post(
            f"/api/patients/{patient.pk}/followups/",
            {"contact": mother.pk, "start_date": "2026-11-20", "municipality": oslo_coordinator.pk},
            format="json",
        )
    assert response.status_code == 201
    plan = response.json()
    when = [(m["template"], m["scheduled_for"][:16]) for m in plan["messages"]]
    assert when == [
        ("behovskartlegging_paaminnelse", "2027-02-13T10:00"),
        ("behovskartlegging_3_mnd", "2027-02-20T10:00"),
        ("behovskartlegging_paaminnelse", "2027-11-13T10:00"),
        ("behovskartlegging_12_mnd", "2027-11-20T10:00"),
    ]
    three = Message.objects.get(template_version__template__key="behovskartlegging_3_mnd")
    assert "Hanne Koordinator, tlf. +4721000301" in three.body
    assert "Oslo kommune" in three.body
    assert three.status == "scheduled"
    # Shown on the patient, and cancellable.
    listed = api_as(coordinator).get(f"/api/patients/{patient.pk}/followups/").json()
    assert [p["id"] for p in listed["results"]] == [plan["id"]]
    cancelled = api_as(coordinator).post(f"/api/followups/{plan['id']}/cancel/")
    assert cancelled.status_code == 200
    assert {m["status"] for m in cancelled.json()["messages"]} == {"cancelled"}


def test_a_plan_made_late_skips_what_is_past(patient, mother, oslo_coordinator, coordinator):
    plan = plan_made_on_23_november(
        patient, mother, oslo_coordinator, coordinator, dt.date(2026, 8, 1)
    )
    assert [m.template_version.template.key for m in plans.plan_messages(plan)] == [
        "behovskartlegging_paaminnelse",
        "behovskartlegging_12_mnd",
    ]


def test_a_plan_needs_consent(api_as, coordinator, patient, mother, oslo_coordinator):
    mother.sms_consent = False
    mother.save()
    response = api_as(coordinator).post(
        f"/api/patients/{patient.pk}/followups/",
        {"contact": mother.pk, "start_date": "2026-11-20", "municipality": oslo_coordinator.pk},
        format="json",
    )
    assert response.status_code == 409
    assert error_code(response) == "consent_missing"


def test_a_plan_message_in_nynorsk_for_a_nynorsk_family(
    patient, mother, oslo_coordinator, coordinator
):
    mother.language = "nn"
    mother.save()
    plan, _created = plans.create_plan(
        patient=patient,
        contact=mother,
        start_date=dt.date.today(),
        municipality=oslo_coordinator,
        by=coordinator,
    )
    assert all("kommune er Hanne Koordinator" in m.body for m in plans.plan_messages(plan))
    assert all(m.language == "nn" for m in plans.plan_messages(plan))
    assert "Det har gått nokre månader" in plans.plan_messages(plan)[1].body


def test_add_months_keeps_to_the_end_of_short_months():
    assert plans.add_months(dt.date(2026, 11, 30), 3) == dt.date(2027, 2, 28)
    assert plans.add_months(dt.date(2026, 1, 31), 12) == dt.date(2027, 1, 31)


def test_a_plan_message_goes_with_the_coordinator_and_number_of_the_day_it_is_sent(
    patient, mother, oslo_coordinator, coordinator, django_capture_on_commit_callbacks
):
    """Made at diagnosis, sent a year later: the municipality has a new coordinator and the
    family a new number by then."""
    from core import sms

    plan = plan_made_on_23_november(
        patient, mother, oslo_coordinator, coordinator, dt.date(2026, 11, 20)
    )
    first = plans.plan_messages(plan)[0]
    assert "Hanne Koordinator" in first.body
    oslo_coordinator.name, oslo_coordinator.phone = "Per Ny", "+4723999999"
    oslo_coordinator.save()
    mother.phone = "+4791999999"
    mother.save()

    with (
        time_machine.travel(first.scheduled_for + dt.timedelta(minutes=1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert sweep_outbox()["released"] == 1
    first.refresh_from_db()
    assert first.status == "sent"
    assert "Per Ny" in first.body and "Hanne Koordinator" not in first.body
    [sent] = sms.OUTBOX
    assert sent.to == "+4791999999"
    assert "+4723999999" in sent.body
    # The rest of the plan still shows what it will say, and is rendered again in its turn.
    assert "Hanne Koordinator" in plans.plan_messages(plan)[1].body


def test_consent_withdrawn_after_the_plan_was_made_stops_what_has_not_gone(
    api_as, patient, mother, oslo_coordinator, coordinator, django_capture_on_commit_callbacks
):
    from core import sms

    plan = plan_made_on_23_november(
        patient, mother, oslo_coordinator, coordinator, dt.date(2026, 11, 20)
    )
    withdrawn = api_as(coordinator).patch(
        f"/api/contacts/{mother.pk}/", {"sms_consent": False}, format="json"
    )
    assert withdrawn.status_code == 200
    first = plans.plan_messages(plan)[0]
    with (
        time_machine.travel(first.scheduled_for + dt.timedelta(minutes=1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        counts = sweep_outbox()
    assert (counts["released"], counts["no_consent"]) == (0, 1)
    first.refresh_from_db()
    assert (first.status, first.error_reason) == ("cancelled", "no_consent")
    assert sms.OUTBOX == []


def make_plan(api, patient, contact, municipality, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return api.post(
        f"/api/patients/{patient.pk}/followups/",
        {"contact": contact.pk, "start_date": "2026-11-20", "municipality": municipality.pk},
        format="json",
        **headers,
    )


def test_pressing_lag_plan_twice_makes_one_plan(
    api_as, coordinator, patient, mother, oslo_coordinator
):
    api = api_as(coordinator)
    with time_machine.travel(oslo(2026, 11, 23, 12, 0), tick=False):
        first = make_plan(api, patient, mother, oslo_coordinator, key="plan-form-1")
        again = make_plan(api, patient, mother, oslo_coordinator, key="plan-form-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert Message.objects.filter(plan_id=first.json()["id"]).count() == 4
    assert Message.objects.count() == 4


def test_a_second_running_plan_to_the_same_contact_is_refused_until_the_first_ends(
    api_as, coordinator, patient, mother, oslo_coordinator
):
    api = api_as(coordinator)
    with time_machine.travel(oslo(2026, 11, 23, 12, 0), tick=False):
        first = make_plan(api, patient, mother, oslo_coordinator, key="a")
        second = make_plan(api, patient, mother, oslo_coordinator, key="b")
        assert second.status_code == 409
        assert second.json()["error"]["code"] == "plan_exists"
        assert "allerede en oppfølgingsplan" in second.json()["error"]["message"]
        api.post(f"/api/followups/{first.json()['id']}/cancel/")
        assert make_plan(api, patient, mother, oslo_coordinator, key="b").status_code == 201


def test_a_plan_message_sent_tells_the_sections_screens_with_ids_and_status_only(
    patient, mother, oslo_coordinator, coordinator, django_capture_on_commit_callbacks
):
    """The inquiry page's plan list follows a plan message's status without a reload."""
    from core.models import Event

    plan = plan_made_on_23_november(
        patient, mother, oslo_coordinator, coordinator, dt.date(2026, 11, 20)
    )
    first = plans.plan_messages(plan)[0]
    with (
        time_machine.travel(first.scheduled_for + dt.timedelta(minutes=1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        sweep_outbox()
    [event] = Event.objects.filter(type="followup.status").values_list("payload", flat=True)
    assert (event["patient"], event["plan"]) == (patient.pk, plan.pk)
    assert (event["message"]["id"], event["message"]["status"]) == (first.pk, "sent")
    # No names, numbers or text in it: the screens fetch the plan, audited, if they show it.
    assert patient.first_name not in str(event) and mother.phone not in str(event)
    assert "body" not in event["message"]
