"""The one access module: the table of who may do what, services that check the section
themselves, the queue socket that never guesses a section, and the secretary's least privilege."""

import datetime as dt

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from eskalering import services as escalations
from meldinger import plans
from meldinger.models import FollowUpPlan, Message, MunicipalCoordinator
from rest_framework.authtoken.models import Token

from config.asgi import application
from core import access
from core.access import Action
from core.exceptions import NotAllowed
from henvendelser.services import patients
from maler.services import load_seed_templates
from tests.factories import ContactFactory, InquiryFactory, PatientFactory, UserFactory
from triage import services as triage

Y, N = True, False
ROLES = ("coordinator", "secretary", "lead", "doctor", "admin")

# The expected table, written out by hand: a change to access.RULES must change this too.
EXPECTED = {
    #                                  coord sec lead doctor admin
    Action.READ_QUEUE: (Y, Y, Y, Y, N),
    Action.READ_CLINICAL: (Y, N, Y, Y, N),
    Action.LOG_INQUIRY: (Y, Y, Y, N, N),
    Action.WORK_INQUIRY: (Y, N, Y, N, N),
    Action.REASSIGN_INQUIRY: (N, N, Y, N, N),
    Action.ESCALATE: (Y, N, Y, N, N),
    Action.WRITE_NOTE: (Y, Y, Y, Y, N),
    Action.ASSESS: (Y, N, Y, Y, N),
    Action.ANSWER_ESCALATION: (N, N, N, Y, N),
    Action.WRITE_PATIENT: (Y, N, Y, N, N),
    Action.WRITE_CONTACT: (Y, Y, Y, N, N),
    Action.SEND_MESSAGE: (Y, N, Y, N, N),
    Action.SEND_PRACTICAL_MESSAGE: (Y, Y, Y, N, N),
    Action.MANAGE_PLANS: (Y, N, Y, N, N),
    Action.READ_TEMPLATES: (Y, Y, Y, N, N),
    Action.PUBLISH_TEMPLATES: (N, N, Y, N, N),
    Action.PUBLISH_RULES: (N, N, Y, N, N),
    Action.MANAGE_ROSTER: (N, N, Y, N, N),
    Action.READ_AUDIT: (N, N, Y, N, N),
    Action.UNLOCK_ACCOUNTS: (N, N, Y, N, N),
    Action.READ_STATS: (N, N, Y, N, N),
}


def test_every_action_is_in_the_expected_table():
    assert set(EXPECTED) == set(Action)


@pytest.mark.parametrize("action", list(Action))
def test_who_may_do_what_in_their_own_section_and_nowhere_else(
    action, make_user, section, other_section
):
    for role, allowed in zip(ROLES, EXPECTED[action], strict=True):
        user = make_user(role)
        assert access.may(user, action) is allowed, (role, action)
        assert access.may(user, action, section.pk) is allowed, (role, action)
        assert access.may(user, action, other_section.pk) is False, (role, action)


def test_the_secretary_may_send_practical_templates_and_nothing_medical():
    assert access.message_action("appointment") == Action.SEND_PRACTICAL_MESSAGE
    assert access.message_action("general") == Action.SEND_PRACTICAL_MESSAGE
    assert access.message_action("test_results") == Action.SEND_MESSAGE
    assert access.message_action("treatment") == Action.SEND_MESSAGE
    assert access.message_action(None) == Action.SEND_MESSAGE  # free text


# --- Services check the section themselves, whoever calls them ---------------------------


@pytest.fixture
def elsewhere(other_section):
    """A coordinator with full rights, but in another section."""
    return UserFactory(role="coordinator", sections=[other_section])


@pytest.fixture
def family(section):
    patient = PatientFactory(section=section)
    contact = ContactFactory(patient=patient, phone="+4791000009", sms_consent=True)
    inquiry = InquiryFactory(section=section, patient=patient, contact=contact)
    return patient, contact, inquiry


def test_patient_and_contact_services_refuse_another_sections_staff(elsewhere, family):
    patient, contact, _ = family
    with pytest.raises(NotAllowed):
        patients.update_patient(by=elsewhere, patient=patient, first_name="Endret")
    with pytest.raises(NotAllowed):
        patients.add_contact(by=elsewhere, patient=patient, name="X", relation="far", phone="+47")
    with pytest.raises(NotAllowed):
        patients.update_contact(by=elsewhere, contact=contact, sms_consent=False)
    patient.refresh_from_db()
    contact.refresh_from_db()
    assert patient.first_name != "Endret"
    assert contact.sms_consent is True
    assert patient.contacts.count() == 1


def test_message_and_plan_services_refuse_another_sections_staff(elsewhere, family, coordinator):
    from meldinger import services as messages

    load_seed_templates()
    patient, contact, inquiry = family
    with pytest.raises(NotAllowed):
        messages.create_reply(inquiry_id=inquiry.pk, by=elsewhere, text="Hei")
    municipality = MunicipalCoordinator.objects.create(
        municipality="Bergen", name="Kari", phone="+4755555555"
    )
    with pytest.raises(NotAllowed):
        plans.create_plan(
            patient=patient,
            contact=contact,
            start_date=dt.date(2026, 11, 1),
            municipality=municipality,
            by=elsewhere,
        )
    assert not Message.objects.exists()
    assert not FollowUpPlan.objects.exists()
    plan, _ = plans.create_plan(
        patient=patient,
        contact=contact,
        start_date=dt.date(2026, 11, 1),
        municipality=municipality,
        by=coordinator,
    )
    with pytest.raises(NotAllowed):
        plans.cancel_plan(plan_id=plan.pk, by=elsewhere)
    plan.refresh_from_db()
    assert plan.cancelled_at is None


def test_triage_and_escalation_services_refuse_a_secretary_in_the_section(secretary, family):
    _, _, inquiry = family
    with pytest.raises(NotAllowed):
        triage.assess_inquiry(inquiry_id=inquiry.pk, by=secretary, inputs={"temperature_c": 39})
    with pytest.raises(NotAllowed):
        escalations.escalate_inquiry(
            inquiry_id=inquiry.pk, by=secretary, target="ward_doctor", question="?"
        )
    assert not inquiry.entries.filter(kind__in=["assessment", "escalated"]).exists()


# --- The queue socket and the API agree on the section -------------------------------------


async def _open_queue(user, query=""):
    token, _ = await database_sync_to_async(Token.objects.get_or_create)(user=user)
    communicator = WebsocketCommunicator(
        application,
        "/ws/queue/" + query,
        headers=[(b"authorization", f"Token {token.key}".encode())],
    )
    connected, code = await communicator.connect()
    return communicator, connected, code


@pytest.mark.django_db(transaction=True)
async def test_someone_in_two_sections_must_name_the_queue_they_watch(section, other_section):
    both = await database_sync_to_async(UserFactory)(
        role="coordinator", sections=[section, other_section]
    )
    here = await database_sync_to_async(InquiryFactory)(section=other_section)

    _, connected, code = await _open_queue(both)
    assert (connected, code) == (False, 4403)

    socket, connected, _ = await _open_queue(both, f"?section={other_section.pk}")
    assert connected
    snapshot = await socket.receive_json_from()
    assert [row["id"] for row in snapshot["inquiries"]] == [here.pk]
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_one_section_needs_no_name_and_another_sections_queue_is_refused(
    section, other_section
):
    one = await database_sync_to_async(UserFactory)(role="secretary", sections=[section])
    socket, connected, _ = await _open_queue(one)
    assert connected
    await socket.disconnect()
    _, connected, code = await _open_queue(one, f"?section={other_section.pk}")
    assert (connected, code) == (False, 4403)


def test_the_queue_page_of_someone_in_two_sections_names_the_section(
    client, section, other_section
):
    both = UserFactory(role="coordinator", sections=[section, other_section])
    client.force_login(both)
    first = min([section, other_section], key=lambda s: (s.name, s.pk))
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == f"/?section={first.pk}"
    page = client.get(f"/?section={other_section.pk}")
    assert page.status_code == 200
    assert f'data-section="{other_section.pk}"' in page.content.decode()


# --- The secretary: booking and practical questions, nothing clinical ----------------------


@pytest.fixture
def clinical_inquiry(section, coordinator, family, django_capture_on_commit_callbacks):
    """An inquiry with a triage, a doctor's question and answer, a test-result message and a
    practical one."""
    from eskalering.models import Escalation
    from meldinger import services as messages

    from tests.eskalering.conftest import on_shift

    load_seed_templates()
    _, _, inquiry = family
    doctor = UserFactory(role="doctor", sections=[section])
    on_shift(section, doctor, "ward_doctor")
    triage.assess_inquiry(
        inquiry_id=inquiry.pk,
        by=coordinator,
        inputs={"temperature_c": 38.9, "on_active_treatment": True},
    )
    escalation = escalations.escalate_inquiry(
        inquiry_id=inquiry.pk, by=coordinator, target="ward_doctor", question="ANC i går 0,3?"
    )
    escalations.answer_escalation(
        escalation_id=escalation.pk, by=doctor, answer="Kom inn nå, ring 113 ved forverring."
    )
    assert Escalation.objects.get().state == "answered"
    messages.create_reply(
        inquiry_id=inquiry.pk,
        by=coordinator,
        template="blodprover_fine",
        variables={"dato": "3. desember", "klokkeslett": "09:30"},
        idempotency_key="r1",
    )
    messages.create_reply(
        inquiry_id=inquiry.pk,
        by=coordinator,
        template="ringer_tilbake",
        variables={"tidspunkt": "i ettermiddag"},
        idempotency_key="r2",
    )
    return inquiry


def _words(body):
    return str(body)


def test_the_secretary_sees_that_things_happened_but_not_what_the_clinic_said(
    api_as, secretary, coordinator, clinical_inquiry
):
    mine = api_as(coordinator).get(f"/api/inquiries/{clinical_inquiry.pk}/").json()
    assert mine["clinical_hidden"] is False
    assert "Kom inn nå" in mine["doctor_answer"]["text"]
    assert "ANC i går" in _words(mine["entries"])
    assert "Blodprøvene" in _words(mine["entries"])

    hers = api_as(secretary).get(f"/api/inquiries/{clinical_inquiry.pk}/").json()
    assert hers["clinical_hidden"] is True
    assert hers["doctor_answer"] is None
    kinds = [e["kind"] for e in hers["entries"]]
    assert {"assessment", "escalated", "doctor_answer", "sms_out"} <= set(kinds)
    text = _words(hers["entries"])
    for secret in ("ANC i går", "Kom inn nå", "Blodprøvene", "temperature"):
        assert secret not in text, secret
    assert "Vi ringer deg tilbake i ettermiddag" in text  # the practical reply stays readable
    assessment = next(e for e in hers["entries"] if e["kind"] == "assessment")
    assert assessment["data"] == {"grade": "red"}

    listed = api_as(secretary).get(f"/api/inquiries/{clinical_inquiry.pk}/messages/").json()
    by_template = {m["template"]["key"]: m for m in listed["results"]}
    assert by_template["blodprover_fine"]["redacted"] is True
    assert by_template["blodprover_fine"]["body"] == by_template["blodprover_fine"]["content"] == ""
    assert by_template["ringer_tilbake"]["redacted"] is False
    assert "ettermiddag" in by_template["ringer_tilbake"]["body"]


def test_the_secretary_cannot_read_assessments_or_escalations(api_as, secretary, clinical_inquiry):
    api = api_as(secretary)
    assert api.get(f"/api/inquiries/{clinical_inquiry.pk}/assessments/").status_code == 403
    assert api.get("/api/escalations/").status_code == 403
    escalation = clinical_inquiry.escalations.get()
    assert api.get(f"/api/escalations/{escalation.pk}/").status_code == 403


def test_the_secretary_sends_a_practical_template_but_no_result_and_no_free_text(
    api_as, secretary, family, django_capture_on_commit_callbacks
):
    load_seed_templates()
    _, _, inquiry = family
    api = api_as(secretary)
    listed = {t["key"]: t["may_send"] for t in api.get("/api/templates/").json()["results"]}
    assert listed["timepaaminnelse"] is True and listed["ringer_tilbake"] is True
    assert listed["blodprover_fine"] is False and listed["behandlingsstart"] is False

    path = f"/api/inquiries/{inquiry.pk}/replies/"
    result = api.post(
        path,
        {
            "template": "blodprover_fine",
            "variables": {"dato": "3. desember", "klokkeslett": "09:30"},
        },
        format="json",
    )
    assert result.status_code == 403
    assert result.json()["error"]["code"] == "permission_denied"
    assert api.post(path, {"text": "Hei"}, format="json").status_code == 403
    assert not Message.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        booked = api.post(
            path,
            {
                "template": "timepaaminnelse",
                "variables": {
                    "dato": "4. desember",
                    "klokkeslett": "10:00",
                    "sted": "Poliklinikken",
                    "telefon": "55000000",
                },
            },
            format="json",
            HTTP_IDEMPOTENCY_KEY="book-1",
        )
    assert booked.status_code == 201
    inquiry.refresh_from_db()
    assert inquiry.claimed_by_id is None  # she does not take the inquiry by sending a reminder


def test_staff_never_see_a_secure_links_token(api_as, coordinator, family):
    from meldinger import services as messages

    load_seed_templates()
    _, _, inquiry = family
    message, _ = messages.create_reply(
        inquiry_id=inquiry.pk,
        by=coordinator,
        template="provesvar_klare",
        variables={"dato": "1. desember", "svar": "Alt var fint.", "telefon": "55000000"},
        idempotency_key="s1",
    )
    assert message.sensitive and "/m/" in message.body
    token = message.body.split("/m/")[1].split()[0]
    shown = api_as(coordinator).get(f"/api/messages/{message.pk}/").json()
    assert "/m/" in shown["body"]
    assert token not in str(shown)
