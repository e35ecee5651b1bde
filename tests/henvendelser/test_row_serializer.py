"""The queue row is built by hand for speed (InquiryRowSerializer.to_representation); it must be
exactly what DRF's generic serializer makes of the same fields, for every kind of row: new,
identified, claimed, escalated in each state, with messages, alarmed, closed; from a plain
instance (an event) and from the queue's annotated query (a list)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from eskalering import services as escalations
from meldinger.services import Composed, queue_message
from rest_framework import serializers

from core.models import UserProfile
from henvendelser import selectors
from henvendelser.models import Inquiry
from henvendelser.serializers import InquiryRowSerializer
from tests.factories import (
    ContactFactory,
    InquiryFactory,
    PatientFactory,
    SectionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def generic(inquiry: Inquiry) -> dict:
    """DRF's own walk over the declared fields, as before the hand-built row."""
    serializer = InquiryRowSerializer(inquiry)
    return dict(serializers.ModelSerializer.to_representation(serializer, inquiry))


@pytest.fixture
def rows(section, coordinator):
    doctor = UserFactory(role="doctor", sections=[section], first_name="Lars", last_name="Lege")
    UserProfile.objects.create(user=doctor, phone="+4790000101")
    patient = PatientFactory(section=section, responsible_doctor=doctor)
    mother = ContactFactory(patient=patient, relation="mother")
    now = timezone.now()
    made = {
        "new unknown caller": InquiryFactory(section=section, caller_phone="+4791111111"),
        "identified and claimed": InquiryFactory(
            section=section,
            patient=patient,
            contact=mother,
            claimed_by=coordinator,
            claimed_at=now,
            status="in_progress",
        ),
        "alarm with terms": InquiryFactory(
            section=section,
            alarm=True,
            alarm_terms=["feber"],
            grade="red",
            deadline_at=now + dt.timedelta(minutes=15),
        ),
        "closed": InquiryFactory(section=section, status="closed", closed_at=now, grade="green"),
    }
    for state in ("open", "acknowledged", "answered"):
        inquiry = InquiryFactory(
            section=section,
            patient=patient,
            claimed_by=coordinator,
            status="in_progress",
            grade="amber",
        )
        escalation = escalations.escalate_inquiry(
            inquiry_id=inquiry.pk,
            by=coordinator,
            target="responsible_doctor",
            question="Inn nå?",
        )
        if state != "open":
            escalations.acknowledge_escalation(escalation_id=escalation.pk, by=doctor)
        if state == "answered":
            escalations.answer_escalation(escalation_id=escalation.pk, by=doctor, answer="Ja.")
        made[f"escalation {state}"] = inquiry
    with_message = InquiryFactory(section=section, patient=patient, contact=mother)
    queue_message(
        section=section,
        kind="reply",
        to_phone=mother.phone,
        composed=Composed("Hei", "Hei", False, None, None),
        language="nb",
        now=now,
        idempotency_key="row-test",
        contact=mother,
        inquiry=with_message,
    )
    made["with a message"] = with_message
    return made


def test_the_hand_built_row_is_drfs_row_for_an_event(rows):
    for name, inquiry in rows.items():
        fresh = Inquiry.objects.get(pk=inquiry.pk)  # as an event sees it: no annotations
        assert InquiryRowSerializer(fresh).data == generic(fresh), name


def test_the_hand_built_row_is_drfs_row_in_the_queue_list(rows, section):
    listed = selectors.attach_escalations(
        selectors.with_escalations(Inquiry.objects.filter(section=section)).select_related(
            "patient", "contact", "claimed_by"
        )
    )
    assert len(listed) == len(rows)
    for inquiry in listed:
        assert InquiryRowSerializer(inquiry).data == generic(inquiry), inquiry.summary
    many = InquiryRowSerializer(listed, many=True).data
    assert [row["id"] for row in many] == [i.pk for i in listed]


def test_the_inquiry_page_has_the_row_and_its_own_fields(rows, coordinator):
    from henvendelser.serializers import InquiryDetailSerializer

    for name, inquiry in rows.items():
        fresh = Inquiry.objects.get(pk=inquiry.pk)
        page = InquiryDetailSerializer(fresh, context={"user": coordinator}).data
        assert {"entries", "actions", "clinical_hidden", "doctor_answer"} <= set(page), name
        assert {k: page[k] for k in generic(fresh)} == generic(fresh), name


def statements_for(client, path):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries.captured_queries), response.json()


def test_the_queue_costs_the_same_few_statements_however_many_rows_of_every_kind(
    rows, section, coordinator, api_as
):
    """No statement per row: the token with its user, roles and sections; the rows with their
    latest text and message status; their escalations (only when a row has one); the audit
    record. Each row's escalation is the one an event of the same inquiry shows."""
    count, body = statements_for(api_as(coordinator), "/api/inquiries/?open=true")
    assert count == 4
    assert body["count"] == len(rows) - 1  # all but the closed one
    for row in body["results"]:
        fresh = InquiryRowSerializer(Inquiry.objects.get(pk=row["id"])).data
        assert row["escalation"] == fresh["escalation"], row["summary"]
    states = sorted(row["escalation"]["state"] for row in body["results"] if row["escalation"])
    assert states == ["acknowledged", "answered", "open"]

    elsewhere = SectionFactory()
    InquiryFactory(section=elsewhere)
    reader = UserFactory(role="coordinator", sections=[elsewhere])
    count, body = statements_for(api_as(reader), "/api/inquiries/?open=true")
    assert (count, body["count"]) == (3, 1)  # no escalation: none asked for


def test_the_inquiry_page_shows_its_latest_escalation(rows, api_as, coordinator):
    for state in ("open", "acknowledged", "answered"):
        inquiry = rows[f"escalation {state}"]
        page = api_as(coordinator).get(f"/api/inquiries/{inquiry.pk}/").json()
        assert page["escalation"]["state"] == state
        assert ("escalate" in page["actions"]) == (state == "answered")
