import datetime as dt
import zoneinfo

import pytest
from eskalering.models import RosterShift
from eskalering.services import doctor_on_roster

from tests.factories import SectionFactory, UserFactory

pytestmark = pytest.mark.django_db
OSLO = zoneinfo.ZoneInfo("Europe/Oslo")


def shift_body(doctor, **overrides):
    body = {
        "role": "ward_doctor",
        "doctor": doctor.pk,
        "starts_at": "2026-11-23T08:00:00+01:00",
        "ends_at": "2026-11-23T16:00:00+01:00",
    }
    body.update(overrides)
    return body


def test_a_lead_adds_a_shift_and_the_roster_answers_who_is_on(api_as, lead, make_user, section):
    doctor = make_user("doctor")
    response = api_as(lead).post("/api/rosters/", shift_body(doctor), format="json")
    assert response.status_code == 201, response.content
    at = dt.datetime(2026, 11, 23, 12, 0, tzinfo=OSLO)
    assert doctor_on_roster(section_id=section.pk, role="ward_doctor", at=at) == doctor
    after = dt.datetime(2026, 11, 23, 16, 0, tzinfo=OSLO)
    assert doctor_on_roster(section_id=section.pk, role="ward_doctor", at=after) is None


def test_a_week_is_listed_for_coordinators(api_as, lead, coordinator, make_user):
    doctor = make_user("doctor")
    api_as(lead).post("/api/rosters/", shift_body(doctor), format="json")
    listed = (
        api_as(coordinator)
        .get("/api/rosters/?from=2026-11-23T00:00:00%2B01:00&to=2026-11-30T00:00:00%2B01:00")
        .json()
    )
    assert [s["doctor"]["id"] for s in listed["results"]] == [doctor.pk]
    outside = api_as(coordinator).get("/api/rosters/?from=2026-12-01T00:00:00%2B01:00").json()
    assert outside["count"] == 0


@pytest.mark.parametrize(
    "overrides",
    [{"ends_at": "2026-11-23T07:00:00+01:00"}, {"role": "chief"}],
)
def test_bad_shifts_are_refused(api_as, lead, make_user, overrides):
    response = api_as(lead).post(
        "/api/rosters/", shift_body(make_user("doctor"), **overrides), format="json"
    )
    assert response.status_code == 400
    assert not RosterShift.objects.exists()


def test_a_doctor_from_another_section_cannot_be_rostered(api_as, lead):
    stranger = UserFactory(role="doctor", sections=[SectionFactory()])
    response = api_as(lead).post("/api/rosters/", shift_body(stranger), format="json")
    assert response.status_code == 400


def test_only_a_lead_edits_the_roster(api_as, coordinator, lead, make_user):
    doctor = make_user("doctor")
    assert (
        api_as(coordinator).post("/api/rosters/", shift_body(doctor), format="json").status_code
        == 403
    )
    shift_id = api_as(lead).post("/api/rosters/", shift_body(doctor), format="json").json()["id"]
    assert api_as(coordinator).delete(f"/api/rosters/{shift_id}/").status_code == 403
    assert api_as(lead).delete(f"/api/rosters/{shift_id}/").status_code == 204
    assert not RosterShift.objects.exists()


def test_csv_import_stores_every_line(api_as, lead, make_user, section):
    ward = make_user("doctor", username="lege1")
    duty = make_user("doctor", username="lege2")
    text = (
        "role,doctor,starts_at,ends_at\n"
        "ward_doctor,lege1,2026-11-23T08:00,2026-11-23T16:00\n"
        "on_call,lege2,2026-11-23T16:00,2026-11-24T08:00\n"
    )
    response = api_as(lead).post("/api/rosters/import/", {"csv": text}, format="json")
    assert response.status_code == 201, response.content
    assert response.json() == {"count": 2}
    night = dt.datetime(2026, 11, 23, 23, 0, tzinfo=OSLO)
    assert doctor_on_roster(section_id=section.pk, role="on_call", at=night) == duty
    morning = dt.datetime(2026, 11, 23, 8, 0, tzinfo=OSLO)  # local time, no offset in the file
    assert doctor_on_roster(section_id=section.pk, role="ward_doctor", at=morning) == ward


def test_a_csv_with_one_bad_line_stores_nothing_and_names_the_line(api_as, lead, make_user):
    make_user("doctor", username="lege1")
    text = (
        "role,doctor,starts_at,ends_at\n"
        "ward_doctor,lege1,2026-11-23T08:00,2026-11-23T16:00\n"
        "on_call,nobody,2026-11-23T16:00,2026-11-24T08:00\n"
        "on_call,lege1,not a time,2026-11-24T08:00\n"
    )
    response = api_as(lead).post("/api/rosters/import/", {"csv": text}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"line 3", "line 4"}
    assert not RosterShift.objects.exists()
    wrong_header = api_as(lead).post("/api/rosters/import/", {"csv": "a,b\n1,2"}, format="json")
    assert wrong_header.status_code == 400
