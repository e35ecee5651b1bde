"""ws/doctor/: a doctor sees their own open escalations live, and nobody else's."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from eskalering import services
from rest_framework.authtoken.models import Token

from config.asgi import application
from tests.eskalering.conftest import on_shift
from tests.factories import InquiryFactory, PatientFactory, SectionFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def headers_for(user):
    token, _ = Token.objects.get_or_create(user=user)
    return [(b"authorization", f"Token {token.key}".encode())]


async def connect(user):
    headers = await database_sync_to_async(headers_for)(user)
    communicator = WebsocketCommunicator(application, "/ws/doctor/", headers=headers)
    connected, _ = await communicator.connect()
    return communicator, connected


@pytest.fixture
def world(db):
    section = SectionFactory()
    coordinator = UserFactory(role="coordinator", sections=[section])
    ward = UserFactory(role="doctor", sections=[section], first_name="Lars", last_name="Lege")
    other = UserFactory(role="doctor", sections=[section])
    on_shift(section, ward, "ward_doctor")
    inquiry = InquiryFactory(
        section=section,
        grade="red",
        status="in_progress",
        patient=PatientFactory(section=section, first_name="Emma"),
    )
    return section, coordinator, ward, other, inquiry


async def test_a_coordinator_cannot_open_the_doctor_socket(world):
    _, coordinator, _, _, _ = world
    _, connected = await connect(coordinator)
    assert not connected


async def test_the_doctor_gets_the_escalation_live_and_another_doctor_does_not(world):
    _, coordinator, ward, other, inquiry = world
    lars, connected = await connect(ward)
    assert connected
    assert (await lars.receive_json_from())["escalations"] == []
    colleague, _ = await connect(other)
    await colleague.receive_json_from()

    escalation = await database_sync_to_async(services.escalate_inquiry)(
        inquiry_id=inquiry.pk, by=coordinator, target="ward_doctor", question="Inn nå?"
    )
    event = await lars.receive_json_from(timeout=5)
    assert event["type"] == "escalation.created"
    assert event["escalation"]["id"] == escalation.pk
    assert event["escalation"]["context"]["patient"]["name"].startswith("Emma")
    assert await colleague.receive_nothing(timeout=0.3)

    await database_sync_to_async(services.acknowledge_escalation)(
        escalation_id=escalation.pk, by=ward
    )
    updated = await lars.receive_json_from(timeout=5)
    assert (updated["type"], updated["escalation"]["state"]) == (
        "escalation.updated",
        "acknowledged",
    )

    again, _ = await connect(ward)
    snapshot = await again.receive_json_from()
    assert [e["id"] for e in snapshot["escalations"]] == [escalation.pk]
    for communicator in (lars, colleague, again):
        await communicator.disconnect()


async def test_the_queue_sees_every_seq_while_doctors_get_their_own_events(world):
    _, coordinator, _, _, inquiry = world
    headers = await database_sync_to_async(headers_for)(coordinator)
    queue = WebsocketCommunicator(application, "/ws/queue/", headers=headers)
    await queue.connect()
    seq = (await queue.receive_json_from())["seq"]
    await database_sync_to_async(services.escalate_inquiry)(
        inquiry_id=inquiry.pk, by=coordinator, target="ward_doctor", question="Inn nå?"
    )
    events = [await queue.receive_json_from(timeout=5) for _ in range(2)]
    assert [e["seq"] for e in events] == [seq + 1, seq + 2]
    assert [e["type"] for e in events] == ["inquiry.updated", "escalation.created"]
    assert events[0]["inquiry"]["status"] == "awaiting_doctor"
    await queue.disconnect()
