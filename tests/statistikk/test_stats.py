"""`GET /api/stats/`: a lead's figures for a period, counted the way docs/statistics.md says."""

import csv
import datetime as dt
import io
import zoneinfo

import pytest
from django.contrib.auth import get_user_model
from eskalering.models import Breach, Escalation
from meldinger.models import InboundKeyword
from statistikk.services import percentile

from core.models import AuditEvent
from henvendelser.models import TimelineEntry
from tests.factories import ContactFactory, InquiryFactory, PatientFactory, SectionFactory

pytestmark = pytest.mark.django_db
OSLO = zoneinfo.ZoneInfo("Europe/Oslo")


def at(day, hour=10, minute=0):
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=OSLO)


def inquiry(section, when, **kwargs):
    return InquiryFactory(section=section, created_at=when, updated_at=when, **kwargs)


def escalate(inquiry_, when, answered_after=None):
    doctor = get_user_model().objects.create(username=f"lege{inquiry_.pk}")
    return Escalation.objects.create(
        inquiry=inquiry_,
        section=inquiry_.section,
        target="ward_doctor",
        doctor=doctor,
        question="?",
        created_at=when,
        acknowledge_due_at=when + dt.timedelta(minutes=15),
        answer_due_at=when + dt.timedelta(minutes=60),
        answered_at=when + answered_after if answered_after else None,
        state="answered" if answered_after else "open",
    )


@pytest.fixture
def november(section, other_section):
    # Three days in the period, one the day before it, one in another section.
    a = inquiry(section, at(10), channel="sms", grade="red")
    b = inquiry(section, at(10, 23, 30), channel="phone", grade="green")  # late evening, Oslo
    c = inquiry(section, at(11), channel="sms")
    d = inquiry(section, at(12), channel="web", grade="amber")
    inquiry(section, at(9), channel="sms", grade="red")
    inquiry(other_section, at(10), channel="sms", grade="red")
    TimelineEntry.objects.create(inquiry=a, kind="sms_out", at=at(10, 10, 10))
    TimelineEntry.objects.create(inquiry=b, kind="closed", at=at(10, 23, 50))
    TimelineEntry.objects.create(inquiry=c, kind="sms_out", at=at(11, 10, 40))
    TimelineEntry.objects.create(inquiry=c, kind="sms_out", at=at(11, 12))  # not the first
    answered = escalate(a, at(10, 10, 5), answered_after=dt.timedelta(minutes=20))
    late = escalate(d, at(12, 9), answered_after=None)
    Breach.objects.create(
        escalation=late,
        level=0,
        deadline="acknowledge",
        due_at=at(12, 9, 15),
        detected_at=at(12, 9, 16),
        outcome="re_escalated",
    )
    assert answered.answered_at
    mother = ContactFactory(patient=PatientFactory(section=section), phone="+4791111111")
    InboundKeyword.objects.create(
        message_sid="SM1", phone=mother.phone, action="out", changed=True, at=at(11)
    )
    InboundKeyword.objects.create(
        message_sid="SM2", phone="+4799999999", action="out", changed=True, at=at(11)
    )
    return a, b, c, d


def test_the_figures_of_a_period(api_as, lead, november, section):
    response = api_as(lead).get("/api/stats/?from=2026-11-10&to=2026-11-12")
    assert response.status_code == 200
    data = response.json()
    assert (data["from"], data["to"], data["sections"]) == (
        "2026-11-10",
        "2026-11-12",
        [section.pk],
    )
    days = {d["date"]: d for d in data["per_day"]}
    assert list(days) == ["2026-11-10", "2026-11-11", "2026-11-12"]
    assert days["2026-11-10"]["by_channel"]["sms"] == 1
    assert days["2026-11-10"]["by_channel"]["phone"] == 1  # 23:30 in Oslo is still the 10th
    assert days["2026-11-10"]["by_grade"] == {"red": 1, "amber": 0, "green": 1, "none": 0}
    assert days["2026-11-11"]["by_grade"]["none"] == 1
    assert days["2026-11-12"]["by_channel"]["web"] == 1
    assert data["totals"] == {
        "inquiries": 4,
        "escalated_inquiries": 2,
        "escalation_rate": 0.5,
        "escalations_breached": 1,
        "opt_outs": 1,  # the other number is no contact of this section's patients
    }
    # First responses: 10 min (a), 20 min (b, closed), 40 min (c); d none yet.
    assert data["first_response_minutes"] == {"count": 3, "median": 20.0, "p90": 40.0}
    assert data["doctor_answer_minutes"] == {"count": 1, "median": 20.0, "p90": 20.0}
    read = AuditEvent.objects.get(action="stats.read")
    assert read.section_id == section.pk and read.detail == {
        "from": "2026-11-10",
        "to": "2026-11-12",
    }


def test_the_days_as_csv(api_as, lead, november):
    response = api_as(lead).get("/api/stats/csv/?from=2026-11-10&to=2026-11-11")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "kontaktpunkt-2026-11-10-2026-11-11.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][0] == "dato" and "kanal_sms" in rows[0] and "grad_red" in rows[0]
    assert [r[0] for r in rows[1:]] == ["2026-11-10", "2026-11-11"]
    assert rows[1][rows[0].index("kanal_sms")] == "1"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-11-12&to=2026-11-10", "from"),
        ("from=2025-01-01&to=2026-11-10", "to"),
        ("from=2026-13-01", "from"),
    ],
)
def test_a_bad_period_is_a_clear_400(api_as, lead, query, field):
    response = api_as(lead).get(f"/api/stats/?{query}")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_another_sections_figures_are_refused(api_as, lead):
    elsewhere = SectionFactory()
    response = api_as(lead).get(f"/api/stats/?section={elsewhere.pk}")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"section": ["not_yours"]}


def test_percentiles_are_nearest_rank():
    assert percentile([], 0.5) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0
    assert percentile([float(n) for n in range(1, 11)], 0.9) == 9.0
