"""Bad input anywhere gets a clear 4xx in the error shape of DESIGN.md §9, and stores nothing."""

import json

import pytest

from henvendelser.models import Inquiry
from tests.conftest import error_code

pytestmark = pytest.mark.django_db


def shape(response):
    body = json.loads(response.content)
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["message"]
    return body["error"]


def test_a_form_body_instead_of_json_is_415(api_as, coordinator):
    response = api_as(coordinator).post(
        "/api/inquiries/",
        "channel=phone&caller_phone=91234567",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 415
    assert shape(response)["code"] == "unsupported_media_type"
    assert not Inquiry.objects.exists()


def test_malformed_json_is_400(api_as, coordinator):
    response = api_as(coordinator).post(
        "/api/inquiries/", '{"channel": "phone",', content_type="application/json"
    )
    assert response.status_code == 400
    assert shape(response)["code"] == "malformed_request"


def test_json_that_is_not_an_object_is_400(api_as, coordinator):
    response = api_as(coordinator).post(
        "/api/inquiries/", "[1, 2]", content_type="application/json"
    )
    assert response.status_code == 400
    shape(response)
    assert not Inquiry.objects.exists()


def test_an_oversized_body_is_413(api_as, coordinator):
    huge = json.dumps({"channel": "phone", "caller_phone": "91234567", "summary": "x" * 400_000})
    response = api_as(coordinator).post("/api/inquiries/", huge, content_type="application/json")
    assert response.status_code == 413
    assert shape(response)["code"] == "request_too_large"
    assert not Inquiry.objects.exists()


def test_without_credentials_the_api_answers_401_in_shape(client):
    response = client.get("/api/inquiries/")
    assert response.status_code == 401
    assert shape(response)["code"] == "not_authenticated"


def test_an_unknown_api_path_is_404_in_shape(api_as, coordinator):
    response = api_as(coordinator).get("/api/nothing-here/")
    assert response.status_code == 404
    assert shape(response)["code"] == "not_found"


def test_a_wrong_method_is_405_in_shape(api_as, coordinator):
    response = api_as(coordinator).delete("/api/inquiries/")
    assert response.status_code in (403, 405)
    shape(response)


def test_token_login_gives_a_token_and_bad_passwords_a_clear_error(client, coordinator):
    ok = client.post(
        "/api/auth/token/",
        {"username": coordinator.username, "password": "pw"},
        content_type="application/json",
    )
    assert ok.status_code == 200
    token = ok.json()["token"]
    listed = client.get("/api/inquiries/", HTTP_AUTHORIZATION=f"Token {token}")
    assert listed.status_code == 200
    bad = client.post(
        "/api/auth/token/",
        {"username": coordinator.username, "password": "no"},
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert error_code(bad) == "invalid_credentials"


def test_the_openapi_schema_is_served(api_as, coordinator):
    response = api_as(coordinator).get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/inquiries/{id}/claim/" in response.content
