"""`GET /metrics`: Prometheus' text format for the operators, behind a token, counts only."""

import pytest

from tests.factories import InquiryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = "m" * 40
    return settings.METRICS_TOKEN


def scrape(client, token):
    return client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")


def sample(body, name):
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in body.splitlines()
        if line.startswith(name)
    }


def test_without_the_token_there_is_nothing_to_see(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    settings.METRICS_TOKEN = "m" * 40
    assert client.get("/metrics").status_code == 404
    assert scrape(client, "wrong").status_code == 404


def test_queue_depth_by_urgency_requests_and_messages(client, token, section):
    InquiryFactory(section=section, grade="red")
    InquiryFactory(section=section, alarm=True)
    InquiryFactory(section=section, grade="green")
    InquiryFactory(section=section, grade="red", status="closed")
    client.get("/healthz")
    response = scrape(client, token)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    body = response.content.decode()
    queue = sample(body, "kontaktpunkt_queue_open")
    assert queue['kontaktpunkt_queue_open{urgency="red"}'] == 1
    assert queue['kontaktpunkt_queue_open{urgency="alarm"}'] == 1
    assert queue['kontaktpunkt_queue_open{urgency="green"}'] == 1
    assert queue['kontaktpunkt_queue_open{urgency="none"}'] == 0
    requests = sample(body, "kontaktpunkt_request_seconds")
    assert requests["kontaktpunkt_request_seconds_count"] >= 1
    assert (
        requests['kontaktpunkt_request_seconds_bucket{le="+Inf"}']
        == (requests["kontaktpunkt_request_seconds_count"])
    )
    assert "kontaktpunkt_escalations_overdue 0" in body
    assert "kontaktpunkt_websockets_open" in body
    assert section.name not in body


@pytest.mark.django_db(transaction=True)
async def test_open_websockets_are_counted_while_open():
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator
    from rest_framework.authtoken.models import Token

    from config.asgi import application
    from core import metrics
    from tests.factories import SectionFactory, UserFactory

    section = await database_sync_to_async(SectionFactory)()
    user = await database_sync_to_async(UserFactory)(role="coordinator", sections=[section])
    token, _ = await database_sync_to_async(Token.objects.get_or_create)(user=user)
    before = metrics._sockets
    socket = WebsocketCommunicator(
        application, "/ws/queue/", headers=[(b"authorization", f"Token {token.key}".encode())]
    )
    connected, _ = await socket.connect()
    assert connected
    await socket.receive_json_from()
    assert metrics._sockets == before + 1
    await socket.disconnect()
    assert metrics._sockets == before
