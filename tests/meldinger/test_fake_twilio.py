"""The fake Twilio server is only worth something if it answers as Twilio does."""

import json
from pathlib import Path

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.conftest import TWILIO_TEST_ACCOUNT, TWILIO_TEST_FROM
from tests.fakes.twilio_server import SCHEMA

SHARED = Path(__file__).resolve().parents[3] / "shared" / "twilio" / "twilio_api_v2010.json"


def client(fake, token=None):
    c = Client(TWILIO_TEST_ACCOUNT, token or fake.auth_token)
    c.api.base_url = fake.url
    return c


@pytest.mark.skipif(not SHARED.exists(), reason="shared/twilio is not beside this checkout")
def test_the_schema_copy_matches_twilios_openapi_description():
    spec = json.loads(SHARED.read_text())
    path = spec["paths"]["/2010-04-01/Accounts/{AccountSid}/Messages.json"]
    form = path["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert SCHEMA["message_properties"] == sorted(
        spec["components"]["schemas"]["api.v2010.account.message"]["properties"]
    )
    assert (
        SCHEMA["message_statuses"] == spec["components"]["schemas"]["message_enum_status"]["enum"]
    )
    assert SCHEMA["create_parameters"] == sorted(form["properties"])
    assert SCHEMA["list_parameters"] == sorted(
        p["name"] for p in path["get"]["parameters"] if p.get("in") == "query"
    )


def test_the_real_client_creates_lists_and_fetches(fake_twilio):
    c = client(fake_twilio)
    created = c.messages.create(to="+4791000001", from_=TWILIO_TEST_FROM, body="Hei")
    assert created.sid.startswith("SM") and created.status == "queued"
    assert created.date_created is not None
    [listed] = c.messages.list(to="+4791000001", limit=5)
    assert listed.sid == created.sid
    assert c.messages(created.sid).fetch().body == "Hei"
    assert set(SCHEMA["message_statuses"]) >= {"queued", "sent", "delivered", "failed"}


def test_wrong_credentials_are_refused_as_twilio_does(fake_twilio):
    with pytest.raises(TwilioRestException) as refused:
        client(fake_twilio, token="wrong").messages.create(
            to="+4791000001", from_=TWILIO_TEST_FROM, body="Hei"
        )
    assert (refused.value.status, refused.value.code) == (401, 20003)
    assert fake_twilio.messages == []


def test_an_invalid_number_and_a_missing_body_get_twilios_codes(fake_twilio):
    c = client(fake_twilio)
    with pytest.raises(TwilioRestException) as invalid:
        c.messages.create(to="12", from_=TWILIO_TEST_FROM, body="Hei")
    assert invalid.value.code == 21211
    with pytest.raises(TwilioRestException) as empty:
        c.messages.create(to="+4791000001", from_=TWILIO_TEST_FROM)
    assert empty.value.code == 21602
