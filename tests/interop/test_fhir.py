"""FHIR R4 export: a patient's texts as `Communication` and escalations as `Task`, in searchset
Bundles that `fhir.resources` accepts (its R4B models: Communication and Task are as in R4).
The data is made through the service's own doors: a signed webhook, the reply and escalation
APIs, the doctor's answer."""

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.communication import Communication
from fhir.resources.R4B.task import Task

from core.models import AuditEvent, UserProfile
from tests.eskalering.conftest import on_shift
from tests.factories import ALWAYS_OPEN, ContactFactory, PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(section, coordinator, make_user, api_as, twilio_post, django_capture_on_commit_callbacks):
    """Mother texts about fever; the coordinator answers the family and asks the ward doctor,
    who answers."""
    section.opening_hours = ALWAYS_OPEN
    section.save()
    patient = PatientFactory(section=section, first_name="Emma", last_name="Johansen")
    mother = ContactFactory(patient=patient, name="Kari Johansen", relation="mother")
    doctor = make_user("doctor", first_name="Lars", last_name="Lege")
    UserProfile.objects.create(user=doctor, phone="+4790000101")
    on_shift(section, doctor, "ward_doctor")
    response = twilio_post(
        "/webhooks/twilio/sms/",
        {
            "MessageSid": "SM" + "a" * 32,
            "From": mother.phone,
            "To": section.phone_number,
            "Body": "Emma har 38,6 i feber i kveld",
        },
    )
    assert response.status_code == 200
    inquiry = patient.inquiries.get()
    nurse = api_as(coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        reply = nurse.post(
            f"/api/inquiries/{inquiry.pk}/replies/",
            {"text": "Vi ringer deg om fem minutter."},
            format="json",
            HTTP_IDEMPOTENCY_KEY="fhir-reply-1",
        )
    assert reply.status_code == 201, reply.content
    escalation = nurse.post(
        f"/api/inquiries/{inquiry.pk}/escalations/",
        {"target": "ward_doctor", "question": "Feber 38,6 dag 5 etter kur. Inn nå?"},
        format="json",
    )
    assert escalation.status_code == 201, escalation.content
    answered = api_as(doctor).post(
        f"/api/escalations/{escalation.json()['id']}/answer/",
        {"answer": "Ja, kom inn til blodkultur og antibiotika nå."},
        format="json",
    )
    assert answered.status_code == 200, answered.content
    return patient, mother, doctor, inquiry


def test_the_patients_texts_export_as_valid_fhir_communications(api_as, coordinator, story):
    patient, mother, _doctor, inquiry = story
    response = api_as(coordinator).get(f"/api/fhir/Communication?patient={patient.pk}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate(response.json())
    assert bundle.type == "searchset" and bundle.total == 2
    inbound, outbound = (
        Communication.model_validate(e.resource.model_dump()) for e in bundle.entry
    )

    assert inbound.status == "completed"
    assert inbound.subject.reference == f"Patient/{patient.pk}"
    assert inbound.sender.reference == f"RelatedPerson/{mother.pk}"
    assert inbound.payload[0].contentString == "Emma har 38,6 i feber i kveld"
    assert inbound.medium[0].coding[0].code == "WRITTEN"
    assert inbound.topic.coding[0].code == str(inquiry.pk)

    assert outbound.status == "completed"  # sent through the (console) SMS backend
    assert outbound.recipient[0].reference == f"RelatedPerson/{mother.pk}"
    assert outbound.payload[0].contentString == "Vi ringer deg om fem minutter."
    assert outbound.sent is not None
    # No phone number anywhere in the export.
    assert mother.phone not in response.content.decode()


def test_escalations_export_as_valid_fhir_tasks_with_the_doctors_answer(api_as, coordinator, story):
    patient, _mother, doctor, inquiry = story
    response = api_as(coordinator).get(f"/api/fhir/Task?patient={patient.pk}")
    assert response.status_code == 200
    bundle = Bundle.model_validate(response.json())
    [entry] = bundle.entry
    task = Task.model_validate(entry.resource.model_dump())
    assert task.status == "completed"
    assert task.intent == "order"
    assert task.description == "Feber 38,6 dag 5 etter kur. Inn nå?"
    assert task.owner.reference == f"Practitioner/{doctor.pk}"
    assert task.output[0].valueString == "Ja, kom inn til blodkultur og antibiotika nå."
    assert task.focus.identifier.value == str(inquiry.pk)
    assert task.restriction.period.end is not None


def test_an_open_escalation_is_a_requested_task_without_output(
    api_as, coordinator, story, make_user
):
    patient, _mother, _doctor, inquiry = story
    api_as(coordinator).post(
        f"/api/inquiries/{inquiry.pk}/escalations/",
        {"target": "ward_doctor", "question": "Og blodprøvene fra i går?"},
        format="json",
    )
    bundle = api_as(coordinator).get(f"/api/fhir/Task?patient={patient.pk}").json()
    states = [(e["resource"]["status"], "output" in e["resource"]) for e in bundle["entry"]]
    assert states == [("completed", True), ("requested", False)]
    Bundle.model_validate(bundle)


def test_the_export_is_audited_with_what_was_exported(api_as, coordinator, story):
    patient, *_ = story
    api_as(coordinator).get(f"/api/fhir/Communication?patient={patient.pk}")
    record = AuditEvent.objects.get(action="fhir.communication")
    assert record.patient_id == patient.pk
    assert record.username == coordinator.username
    assert len(record.detail["resources"]) == 2


def test_the_secretary_and_other_sections_get_nothing(
    api_as, secretary, coordinator, story, other_section, make_user
):
    patient, *_ = story
    assert api_as(secretary).get(f"/api/fhir/Communication?patient={patient.pk}").status_code == 403
    assert api_as(secretary).get(f"/api/fhir/Task?patient={patient.pk}").status_code == 403
    stranger_patient = PatientFactory(section=other_section)
    response = api_as(coordinator).get(f"/api/fhir/Task?patient={stranger_patient.pk}")
    assert response.status_code == 404
    assert api_as(coordinator).get("/api/fhir/Task").status_code == 400
    assert api_as(coordinator).get("/api/fhir/Task?patient=abc").status_code == 400
