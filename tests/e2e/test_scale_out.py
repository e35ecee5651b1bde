"""Scale-out on one machine: two Daphne processes on different ports and a Celery worker in a
third, sharing one Redis (channel layer and broker) and the tests' database, as deploy/ runs
them. A text into one server reaches a queue screen on the other; the coordinator's reply,
written through the other server, is sent by the worker, once."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request

import pytest
from meldinger.models import Message
from rest_framework.authtoken.models import Token
from websockets.sync.client import connect

from henvendelser.models import Inquiry
from tests.conftest import twilio_signature
from tests.factories import ALWAYS_OPEN, ContactFactory, SectionFactory, UserFactory
from tests.processes import DaphneServer, wait_for, worker_env

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def post(server: DaphneServer, path: str, data: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(server.base_url + path, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=15) as response:
        return response.status, response.read().decode()


def next_event(socket, wanted: str) -> dict:
    """The next frame of type `wanted`, skipping presence frames and other updates."""
    while True:
        frame = json.loads(socket.recv(timeout=15))
        if frame["type"] == wanted:
            return frame


@pytest.fixture
def cluster(broker, fake_twilio_server, workers):
    # Everything on the test's own Redis: the servers' channel layer and the Celery broker.
    env = worker_env(broker, fake_twilio_server.url)
    servers = [DaphneServer(), DaphneServer()]
    for server in servers:
        server.extra_env = {**env, "PUBLIC_BASE_URL": server.base_url}  # what Twilio signs
        server.start()
    worker = workers(env, "scale")
    yield servers, worker
    for server in servers:
        server.stop()


def test_a_text_into_one_server_reaches_a_screen_on_the_other_and_the_worker_sends_the_reply(
    cluster, fake_twilio_server
):
    (web_a, web_b), _worker = cluster
    assert web_a.port != web_b.port
    section = SectionFactory(opening_hours=ALWAYS_OPEN)
    coordinator = UserFactory(role="coordinator", sections=[section])
    mother = ContactFactory(patient__section=section, sms_consent=True, language="nb")
    token = Token.objects.create(user=coordinator).key

    with connect(
        web_b.base_url.replace("http", "ws") + "/ws/queue/",
        additional_headers={"Authorization": f"Token {token}"},
    ) as screen_on_b:
        snapshot = json.loads(screen_on_b.recv(timeout=15))
        assert snapshot["type"] == "snapshot"

        params = {
            "MessageSid": "SM" + "5" * 32,
            "From": mother.phone,
            "To": section.phone_number,
            "Body": "Når er neste time?",
        }
        status, _ = post(
            web_a,
            "/webhooks/twilio/sms/",
            urllib.parse.urlencode(params).encode(),
            {
                "X-Twilio-Signature": twilio_signature(
                    "/webhooks/twilio/sms/", params, base=web_a.base_url
                )
            },
        )
        assert status == 200
        created = next_event(screen_on_b, "inquiry.created")
        assert created["seq"] == snapshot["seq"] + 1
        assert created["inquiry"]["summary"] == "Når er neste time?"
        inquiry_id = created["inquiry"]["id"]

        # The reply goes in through server B; the worker process sends it through Twilio.
        status, body = post(
            web_b,
            f"/api/inquiries/{inquiry_id}/replies/",
            json.dumps({"text": "Neste time er torsdag kl. 09:30."}).encode(),
            {
                "Authorization": f"Token {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": "scale-reply-1",
            },
        )
        assert status in (200, 201), body
        message_id = json.loads(body)["id"]

        def sent() -> Message | None:
            message = Message.objects.get(pk=message_id)
            return message if message.status == "sent" else None

        message = wait_for(sent, 30, "the worker to send the reply")
        [sms] = fake_twilio_server.sent_to(mother.phone)
        assert message.twilio_sid == sms["sid"]
        assert sms["body"] == "Neste time er torsdag kl. 09:30."
        # Server A's screen would say the same; B's screen hears the reply on the inquiry.
        updated = next_event(screen_on_b, "inquiry.updated")
        assert updated["inquiry"]["id"] == inquiry_id

    assert Inquiry.objects.filter(section=section).count() == 1
    assert Message.objects.filter(inquiry_id=inquiry_id).count() == 1
