import datetime as dt

import pytest

from core.models import AuditEvent
from henvendelser.models import Contact, Patient
from tests.conftest import error_code
from tests.factories import ContactFactory, PatientFactory, valid_national_id

pytestmark = pytest.mark.django_db

BIRTH = dt.date(2016, 5, 17)


def patient_body(**overrides):
    body = {
        "first_name": "Emma",
        "last_name": "Johansen",
        "birth_date": BIRTH.isoformat(),
        "national_id": valid_national_id(BIRTH),
        "diagnosis": "ALL",
        "protocol": "ALLTogether1",
    }
    body.update(overrides)
    return body


def test_a_coordinator_registers_a_patient_and_reads_the_national_id_back_masked(
    api_as, coordinator, section
):
    response = api_as(coordinator).post("/api/patients/", patient_body(), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["national_id"] == "170516*****"
    assert data["section"] == section.pk
    stored = Patient.objects.get(pk=data["id"])
    assert stored.national_id == valid_national_id(BIRTH)
    assert AuditEvent.objects.filter(action="patient.create", patient_id=stored.pk).exists()


@pytest.mark.parametrize(
    "national_id",
    ["17051650000", "1705165", "abcdefghijk", valid_national_id(dt.date(2016, 5, 18))],
)
def test_an_invalid_or_mismatched_national_id_is_refused_and_nothing_is_stored(
    api_as, coordinator, national_id
):
    response = api_as(coordinator).post(
        "/api/patients/", patient_body(national_id=national_id), format="json"
    )
    assert response.status_code == 400
    assert "national_id" in response.json()["error"]["fields"]
    assert not Patient.objects.exists()


def test_the_same_national_id_twice_in_a_section_is_refused(api_as, coordinator):
    client = api_as(coordinator)
    assert client.post("/api/patients/", patient_body(), format="json").status_code == 201
    again = client.post("/api/patients/", patient_body(), format="json")
    assert again.status_code == 400
    assert Patient.objects.count() == 1


def test_unknown_fields_are_refused_with_a_stable_code(api_as, coordinator):
    response = api_as(coordinator).post(
        "/api/patients/", patient_body(favourite_colour="blue"), format="json"
    )
    assert response.status_code == 400
    assert error_code(response) == "unknown_field"
    assert "favourite_colour" in response.json()["error"]["fields"]
    assert not Patient.objects.exists()


@pytest.mark.parametrize("role", ["doctor", "secretary"])
def test_doctors_and_secretaries_cannot_register_patients(api_as, make_user, role):
    response = api_as(make_user(role)).post("/api/patients/", patient_body(), format="json")
    assert response.status_code == 403
    assert error_code(response) == "permission_denied"


def test_patients_of_another_section_are_invisible(api_as, coordinator, other_section):
    foreign = PatientFactory(section=other_section)
    client = api_as(coordinator)
    assert client.get(f"/api/patients/{foreign.pk}/").status_code == 404
    assert client.get("/api/patients/").json()["count"] == 0
    patched = client.patch(f"/api/patients/{foreign.pk}/", {"diagnosis": "x"}, format="json")
    assert patched.status_code == 404


def test_reading_a_patient_is_audited_with_who_and_from_where(api_as, doctor, section):
    patient = PatientFactory(section=section)
    response = api_as(doctor).get(f"/api/patients/{patient.pk}/", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="patient.read")
    assert (event.user, event.patient_id, event.channel, event.ip) == (
        doctor,
        patient.pk,
        "api",
        "10.1.2.3",
    )


def test_patch_changes_the_patient_and_records_which_fields(api_as, coordinator, section):
    patient = PatientFactory(section=section)
    response = api_as(coordinator).patch(
        f"/api/patients/{patient.pk}/", {"protocol": "NOPHO"}, format="json"
    )
    assert response.status_code == 200
    patient.refresh_from_db()
    assert patient.protocol == "NOPHO"
    event = AuditEvent.objects.get(action="patient.update")
    assert event.detail == {"fields": ["protocol"]}


def test_a_contact_phone_is_stored_as_e164_with_consent_recorded(api_as, coordinator, section):
    patient = PatientFactory(section=section)
    response = api_as(coordinator).post(
        f"/api/patients/{patient.pk}/contacts/",
        {"name": "Ingrid", "relation": "mother", "phone": "912 34 567", "sms_consent": True},
        format="json",
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["phone"] == "+4791234567"
    assert data["opted_out"] is False
    contact = Contact.objects.get()
    assert contact.sms_consent_by == coordinator
    assert contact.sms_consent_at is not None
    listed = api_as(coordinator).get(f"/api/patients/{patient.pk}/contacts/").json()
    assert [c["phone"] for c in listed["results"]] == ["+4791234567"]


@pytest.mark.parametrize("phone", ["12", "not a number", "+47 1234"])
def test_a_malformed_contact_phone_is_refused_and_nothing_is_stored(
    api_as, coordinator, section, phone
):
    patient = PatientFactory(section=section)
    response = api_as(coordinator).post(
        f"/api/patients/{patient.pk}/contacts/",
        {"name": "Ingrid", "relation": "mother", "phone": phone},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["phone"]
    assert not Contact.objects.exists()


def test_opted_out_cannot_be_written_by_a_client(api_as, coordinator, section):
    patient = PatientFactory(section=section)
    response = api_as(coordinator).post(
        f"/api/patients/{patient.pk}/contacts/",
        {"name": "Ingrid", "relation": "mother", "phone": "91234567", "opted_out": True},
        format="json",
    )
    assert response.status_code == 400
    assert error_code(response) == "unknown_field"


def test_consent_recorded_later_says_who_and_when_and_is_audited(api_as, coordinator, section):
    contact = ContactFactory(patient=PatientFactory(section=section), sms_consent=False)
    response = api_as(coordinator).patch(
        f"/api/contacts/{contact.pk}/", {"sms_consent": True}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["sms_consent"] is True
    contact.refresh_from_db()
    assert (contact.sms_consent, contact.sms_consent_by) == (True, coordinator)
    assert contact.sms_consent_at is not None
    event = AuditEvent.objects.get(action="contact.update")
    assert event.detail == {"fields": ["sms_consent"]}
    assert event.patient_id == contact.patient_id

    withdrawn = api_as(coordinator).patch(
        f"/api/contacts/{contact.pk}/", {"sms_consent": False}, format="json"
    )
    assert withdrawn.json()["sms_consent"] is False
    contact.refresh_from_db()
    assert (contact.sms_consent_at, contact.sms_consent_by) == (None, None)


def test_a_contact_is_changed_only_by_whom_may_and_only_in_their_sections(
    api_as, coordinator, doctor, other_section, make_user
):
    contact = ContactFactory(patient=PatientFactory(section=other_section), sms_consent=False)
    outsider = api_as(coordinator).patch(
        f"/api/contacts/{contact.pk}/", {"sms_consent": True}, format="json"
    )
    assert outsider.status_code == 404
    doctor_there = make_user("doctor", sections=[other_section])
    refused = api_as(doctor_there).patch(
        f"/api/contacts/{contact.pk}/", {"sms_consent": True}, format="json"
    )
    assert refused.status_code == 403
    assert api_as(doctor_there).get(f"/api/contacts/{contact.pk}/").status_code == 200
    contact.refresh_from_db()
    assert contact.sms_consent is False


def test_a_changed_phone_is_checked_like_a_new_one(api_as, coordinator, section):
    contact = ContactFactory(patient=PatientFactory(section=section), phone="+4791000001")
    bad = api_as(coordinator).patch(f"/api/contacts/{contact.pk}/", {"phone": "12"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"]["phone"]
    good = api_as(coordinator).patch(
        f"/api/contacts/{contact.pk}/", {"phone": "912 34 567"}, format="json"
    )
    assert good.json()["phone"] == "+4791234567"
