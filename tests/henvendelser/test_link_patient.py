"""Linking an unknown caller's inquiry to a patient from the inquiry page's API."""

import pytest

from core.models import AuditEvent
from henvendelser.models import Contact, Inquiry
from tests.factories import ContactFactory, InquiryFactory, PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def unknown(section):
    return InquiryFactory(
        section=section,
        patient=None,
        contact=None,
        caller_phone="+4798765432",
        identification="unknown",
        channel="sms",
    )


def link(api, inquiry, **body):
    return api.post(f"/api/inquiries/{inquiry.pk}/patient/", body, format="json")


def test_the_coordinator_links_an_unknown_number_and_saves_it_as_the_mothers(
    api_as, coordinator, section, unknown, twilio_post
):
    emma = PatientFactory(section=section, first_name="Emma")
    before = api_as(coordinator).get(f"/api/inquiries/{unknown.pk}/").json()
    assert "link_patient" in before["actions"]

    response = link(
        api_as(coordinator),
        unknown,
        patient=emma.pk,
        save_number_as={"name": "Mona Hansen", "relation": "mor"},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["patient"], body["identification"]) == (emma.pk, "identified")
    assert "link_patient" not in body["actions"]
    assert body["entries"][-1]["kind"] == "patient_linked"
    contact = Contact.objects.get(phone="+4798765432")
    assert (contact.patient, contact.name, contact.sms_consent) == (emma, "Mona Hansen", False)
    assert body["contact"] == contact.pk
    assert AuditEvent.objects.filter(action="inquiry.link_patient", patient_id=emma.pk).exists()

    # The next text from that number is recognised as being about Emma.
    from tests.henvendelser.test_webhook_sms import PATH, sms

    Inquiry.objects.filter(pk=unknown.pk).update(status="closed")
    twilio_post(PATH, sms(section, sid="SM" + "9" * 32, sender="+4798765432", body="Hei igjen"))
    newest = Inquiry.objects.latest("pk")
    assert (newest.patient, newest.contact) == (emma, contact)


def test_a_known_number_of_the_patient_becomes_the_contact_without_saving(
    api_as, coordinator, section, unknown
):
    emma = PatientFactory(section=section)
    father = ContactFactory(patient=emma, phone="+4798765432")
    response = link(api_as(coordinator), unknown, patient=emma.pk)
    assert response.json()["contact"] == father.pk
    again = link(api_as(coordinator), unknown, patient=emma.pk)  # a second press
    assert again.status_code == 200
    assert [e["kind"] for e in again.json()["entries"]].count("patient_linked") == 1
    assert Contact.objects.count() == 1


def test_refused_for_a_patient_elsewhere_a_secretary_and_a_closed_inquiry(
    api_as, coordinator, secretary, section, other_section, unknown
):
    stranger = PatientFactory(section=other_section)
    refused = link(api_as(coordinator), unknown, patient=stranger.pk)
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"]["patient"] == ["Ukjent pasient."]
    emma = PatientFactory(section=section)
    assert link(api_as(secretary), unknown, patient=emma.pk).status_code == 403
    unknown.status = "closed"
    unknown.save()
    closed = link(api_as(coordinator), unknown, patient=emma.pk)
    assert closed.status_code == 409
    unknown.refresh_from_db()
    assert unknown.patient is None


def test_bad_bodies_get_a_clear_400(api_as, coordinator, unknown):
    api = api_as(coordinator)
    assert link(api, unknown).status_code == 400
    assert link(api, unknown, patient="x").status_code == 400
    assert link(api, unknown, patient=10**30).status_code == 400
    emma = PatientFactory(section=unknown.section)
    missing = link(api, unknown, patient=emma.pk, save_number_as={"name": "A"})
    assert missing.status_code == 400
    assert "relation" in missing.json()["error"]["fields"]
