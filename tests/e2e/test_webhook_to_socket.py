"""Through a running Daphne: a signed Twilio webhook in, a websocket event out."""

import json
import urllib.parse
import urllib.request

import pytest
from rest_framework.authtoken.models import Token
from websockets.sync.client import connect

from henvendelser.models import Inquiry
from tests.conftest import twilio_signature
from tests.factories import ALWAYS_OPEN, SectionFactory, UserFactory

pytestmark = [pytest.mark.e2e]


def post_signed(server, path, params):
    signature = twilio_signature(path, params, base=server.base_url)
    request = urllib.request.Request(
        server.base_url + path,
        data=urllib.parse.urlencode(params).encode(),
        headers={"X-Twilio-Signature": signature},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode()


def test_a_text_message_reaches_an_open_queue_socket_once(daphne):
    section = SectionFactory(opening_hours=ALWAYS_OPEN)
    coordinator = UserFactory(role="coordinator", sections=[section])
    token = Token.objects.create(user=coordinator)
    ws_url = daphne.base_url.replace("http", "ws") + "/ws/queue/"
    with connect(ws_url, additional_headers={"Authorization": f"Token {token.key}"}) as socket:
        snapshot = json.loads(socket.recv(timeout=10))
        assert snapshot["type"] == "snapshot"
        params = {
            "MessageSid": "SMe2e0001",
            "From": "+4791234567",
            "To": section.phone_number,
            "Body": "Feber 38,6 etter kur",
        }
        status, _body = post_signed(daphne, "/webhooks/twilio/sms/", params)
        assert status == 200
        event = json.loads(socket.recv(timeout=10))
        assert event["type"] == "inquiry.created"
        assert event["seq"] == snapshot["seq"] + 1
        assert event["inquiry"]["summary"] == "Feber 38,6 etter kur"

        # Twilio retries: the same MessageSid again adds nothing and broadcasts nothing.
        post_signed(daphne, "/webhooks/twilio/sms/", params)
        with pytest.raises(TimeoutError):
            socket.recv(timeout=1)
    assert Inquiry.objects.count() == 1


def test_the_sequence_survives_a_restart(daphne):
    section = SectionFactory(opening_hours=ALWAYS_OPEN)
    coordinator = UserFactory(role="coordinator", sections=[section])
    token = Token.objects.create(user=coordinator)
    params = {
        "MessageSid": "SMe2e0002",
        "From": "+4791234567",
        "To": section.phone_number,
        "Body": "Hei",
    }
    post_signed(daphne, "/webhooks/twilio/sms/", params)
    daphne.stop()
    daphne.start()
    ws_url = daphne.base_url.replace("http", "ws") + "/ws/queue/"
    with connect(ws_url, additional_headers={"Authorization": f"Token {token.key}"}) as socket:
        snapshot = json.loads(socket.recv(timeout=10))
    assert snapshot["seq"] == 1
    assert [row["summary"] for row in snapshot["inquiries"]] == ["Hei"]
