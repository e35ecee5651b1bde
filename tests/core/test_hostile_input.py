"""No 500 on any input (issue 11): deep JSON, huge numbers, NUL bytes, overlong ids, bad
websocket frames; and the headers every answer carries."""

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from rest_framework.authtoken.models import Token

from config.asgi import application
from henvendelser.models import Inquiry, TimelineEntry
from tests.conftest import error_code

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000 + "]" * 100_000
SMS = "/webhooks/twilio/sms/"


def sms(section, sid="SM" + "4" * 32, body="hei"):
    return {
        "MessageSid": sid,
        "From": "+4791234567",
        "To": section.phone_number,
        "Body": body,
        "AccountSid": "AC" + "1" * 32,
        "NumMedia": "0",
    }


@pytest.mark.parametrize("depth", [100_000, 500, 33])
def test_deeply_nested_json_is_a_400_also_unauthenticated_on_the_token_endpoint(
    client, api_as, coordinator, depth
):
    body = "[" * depth + "]" * depth
    anonymous = client.post("/api/auth/token/", body, content_type="application/json")
    assert anonymous.status_code == 400
    assert error_code(anonymous) == "malformed_request"
    logged_in = api_as(coordinator).post("/api/inquiries/", body, content_type="application/json")
    assert logged_in.status_code == 400


def test_json_nested_as_deep_as_a_real_body_goes_through(api_as, coordinator):
    nested = {"a": json.loads("[" * 30 + "]" * 30)}
    response = api_as(coordinator).post("/api/inquiries/", nested, format="json")
    assert response.status_code == 400  # refused for its fields, not its depth
    assert error_code(response) == "unknown_field"


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("coordinator", "/api/inquiries/?patient=" + "9" * 40),
        ("coordinator", "/api/inquiries/?section=" + "9" * 40),
        ("coordinator", "/api/escalations/?inquiry=" + "9" * 40),
        ("lead", "/api/audit/?patient=" + "9" * 40),
        ("lead", "/api/audit/?patient=-1"),
    ],
)
def test_huge_or_negative_ids_in_filters_are_a_clear_400(api_as, coordinator, lead, who, path):
    user = {"coordinator": coordinator, "lead": lead}[who]
    response = api_as(user).get(path)
    assert response.status_code == 400, (path, response.status_code)
    assert error_code(response) == "validation_error"


def test_huge_ids_in_a_body_are_a_clear_400(api_as, coordinator):
    response = api_as(coordinator).post(
        "/api/inquiries/", {"channel": "phone", "patient": 10**30}, format="json"
    )
    assert response.status_code == 400
    assert "patient" in response.json()["error"]["fields"]


def test_a_nul_in_a_text_from_a_family_is_dropped_and_the_rest_kept(twilio_post, section):
    response = twilio_post(SMS, sms(section, body="Hun har\x00 feber"))
    assert response.status_code == 200
    entry = TimelineEntry.objects.get(kind="sms_in")
    assert entry.text == "Hun har feber"
    assert Inquiry.objects.get().alarm_terms == ["fever"]


@pytest.mark.parametrize("sid", ["SM" + "1" * 98, "SM<script>", "S", "SM 1"])
def test_a_malformed_twilio_id_is_a_400_and_stores_nothing(twilio_post, section, sid):
    response = twilio_post(SMS, sms(section, sid=sid))
    assert response.status_code == 400
    assert "MessageSid" in response.content.decode()
    assert not Inquiry.objects.exists()


def test_a_nul_in_the_familys_answer_on_the_secure_page_is_dropped(section):
    from meldinger.services import family_reply

    from tests.factories import ContactFactory, InquiryFactory, PatientFactory

    patient = PatientFactory(section=section)
    contact = ContactFactory(patient=patient)
    inquiry = InquiryFactory(section=section, patient=patient, contact=contact)
    from meldinger.models import Message

    message = Message.objects.create(
        section=section,
        kind="reply",
        inquiry=inquiry,
        patient_id=patient.pk,
        contact=contact,
        to_phone=contact.phone,
        language="nb",
        body="x",
        content="x",
        encoding="GSM-7",
        segments=1,
        idempotency_key="nul-1",
        status="sent",
        status_at=inquiry.created_at,
        created_at=inquiry.created_at,
    )
    family_reply(message=message, text="Takk\x00 for svar", reply_key="k1")
    assert TimelineEntry.objects.get(kind="web_in").text == "Takk for svar"


# --- Headers ---------------------------------------------------------------------------------


def test_every_answer_has_a_csp_without_inline_script(client, api_as, coordinator):
    for response in (client.get("/login/"), api_as(coordinator).get("/api/inquiries/")):
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy


def test_the_api_and_the_secure_page_are_never_stored(client, api_as, coordinator):
    assert api_as(coordinator).get("/api/inquiries/")["Cache-Control"] == "no-store"
    assert client.get("/m/not-a-real-token")["Cache-Control"] == "no-store"


def test_hsts_only_when_the_service_is_served_over_https(settings, client):
    from core.middleware import SecurityHeadersMiddleware

    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    plain = SecurityHeadersMiddleware(lambda request: client.get("/login/"))
    assert "Strict-Transport-Security" not in plain(client.get("/login/").wsgi_request)
    settings.PUBLIC_BASE_URL = "https://kontaktpunkt.example.test"
    secure = SecurityHeadersMiddleware(lambda request: client.get("/login/"))
    response = secure(client.get("/login/").wsgi_request)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


def test_an_unknown_api_path_is_the_json_404_even_without_a_csrf_token(coordinator):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(coordinator)
    response = browser.post("/api/no-such-thing/", "{}", content_type="application/json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert error_code(response) == "not_found"


# --- Websocket frames -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/ws/queue/", "/ws/doctor/"])
async def test_garbage_binary_and_deep_frames_get_an_error_frame_and_the_socket_stays(path):
    from tests.factories import SectionFactory, UserFactory

    section = await database_sync_to_async(SectionFactory)()
    role = "doctor" if "doctor" in path else "coordinator"
    user = await database_sync_to_async(UserFactory)(role=role, sections=[section])
    token, _ = await database_sync_to_async(Token.objects.get_or_create)(user=user)
    socket = WebsocketCommunicator(
        application, path, headers=[(b"authorization", f"Token {token.key}".encode())]
    )
    connected, _ = await socket.connect()
    assert connected
    await socket.receive_json_from()  # the snapshot
    for frame in ("not json {", "[" * 5000 + "]" * 5000, "x" * 10_000):
        await socket.send_to(text_data=frame)
        assert await socket.receive_json_from(timeout=3) == {
            "type": "error",
            "code": "malformed_frame",
        }
    await socket.send_to(bytes_data=b"\x00\xff binary")
    assert (await socket.receive_json_from(timeout=3))["code"] == "malformed_frame"
    await socket.send_json_to({"type": "ping"})
    assert (await socket.receive_json_from(timeout=3))["type"] == "pong"  # still open
    await socket.disconnect()
