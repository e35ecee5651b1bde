"""Brute force (issue 11): limits keyed on the real peer address, accounts locked after
repeated wrong passwords with an audited unlock by a lead, and an idle session timeout."""

import datetime as dt
import secrets

import pytest
import time_machine
from django.utils import timezone

from core.audit import client_ip
from core.models import AccountLock, AuditEvent
from tests.conftest import error_code
from tests.factories import SectionFactory, UserFactory

pytestmark = pytest.mark.django_db


def address():
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


@pytest.fixture
def limit(settings):
    settings.LOGIN_RATE_PER_MINUTE = 5
    return 5


def test_the_token_endpoint_limit_ignores_a_forged_forwarded_for(client, coordinator, limit):
    ip = address()
    answers = [
        client.post(
            "/api/auth/token/",
            {"username": coordinator.username, "password": "wrong"},
            content_type="application/json",
            REMOTE_ADDR=ip,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",  # a new "address" every time: not believed
        )
        for n in range(limit + 1)
    ]
    assert [a.status_code for a in answers] == [400] * limit + [429]
    assert error_code(answers[-1]) == "too_many_attempts"
    # Another address is not held back by this one.
    other = client.post(
        "/api/auth/token/",
        {"username": coordinator.username, "password": "pw"},
        content_type="application/json",
        REMOTE_ADDR=address(),
    )
    assert other.status_code == 200


def test_the_login_page_is_limited_per_address_too(client, coordinator, limit):
    ip = address()
    codes = [
        client.post("/login/", {"username": "x", "password": "y"}, REMOTE_ADDR=ip).status_code
        for _ in range(limit + 1)
    ]
    assert codes == [200] * limit + [429]
    page = client.post("/login/", {"username": "x", "password": "y"}, REMOTE_ADDR=ip)
    assert "For mange forsøk" in page.content.decode()


def test_behind_a_configured_proxy_the_proxys_view_of_the_client_counts(rf, settings):
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.1")
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "10.0.0.1"
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(request) == "203.0.113.9"


@pytest.fixture
def strict(settings):
    settings.LOGIN_MAX_FAILURES = 3


def token(client, user, password):
    return client.post(
        "/api/auth/token/",
        {"username": user.username, "password": password},
        content_type="application/json",
        REMOTE_ADDR=address(),
    )


def test_repeated_wrong_passwords_lock_the_account_until_a_lead_unlocks_it(
    client, coordinator, lead, api_as, strict
):
    for _ in range(3):
        assert token(client, coordinator, "wrong").status_code == 400
    assert AccountLock.objects.get(user=coordinator).locked_at is not None
    assert AuditEvent.objects.filter(action="account.locked").count() == 1
    # The right password no longer works, on the API or the page.
    assert token(client, coordinator, "pw").status_code == 400
    assert not client.login(username=coordinator.username, password="pw")

    assert api_as(coordinator).post(f"/api/users/{coordinator.pk}/unlock/").status_code == 403
    stranger = UserFactory(role="lead", sections=[SectionFactory()])
    assert api_as(stranger).post(f"/api/users/{coordinator.pk}/unlock/").status_code == 404
    opened = api_as(lead).post(f"/api/users/{coordinator.pk}/unlock/")
    assert opened.status_code == 200
    unlocked = AuditEvent.objects.get(action="account.unlocked")
    assert unlocked.user == lead and unlocked.object_id == str(coordinator.pk)
    assert token(client, coordinator, "pw").status_code == 200
    # Both are in the section's log, where its lead reads it.
    shown = api_as(lead).get(f"/api/audit/?user={lead.username}&action=account.unlocked").json()
    assert [row["object_id"] for row in shown["results"]] == [str(coordinator.pk)]
    locked = api_as(lead).get("/api/audit/?action=account.locked").json()["results"]
    assert [row["object_id"] for row in locked] == [str(coordinator.pk)]


def test_a_right_password_clears_the_count(client, coordinator, strict):
    token(client, coordinator, "wrong")
    token(client, coordinator, "wrong")
    assert token(client, coordinator, "pw").status_code == 200
    token(client, coordinator, "wrong")
    token(client, coordinator, "wrong")
    assert token(client, coordinator, "pw").status_code == 200  # 2 + 2 is not 3 in a row


def test_a_session_ends_after_the_idle_time_and_lives_while_used(client, coordinator, settings):
    assert settings.SESSION_SAVE_EVERY_REQUEST
    idle = dt.timedelta(minutes=settings.SESSION_IDLE_MINUTES)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.force_login(coordinator)
    with time_machine.travel(start + idle - dt.timedelta(minutes=1), tick=False):
        assert client.get("/api/me/").status_code == 200  # in use: the clock starts again
    with time_machine.travel(start + 2 * idle - dt.timedelta(minutes=2), tick=False):
        assert client.get("/api/me/").status_code == 200
    with time_machine.travel(start + 3 * idle, tick=False):
        assert client.get("/api/me/").status_code in (401, 403)
        assert client.get("/").status_code == 302  # to the login page


def locked_out(client, user) -> None:
    for _ in range(3):
        token(client, user, "wrong")
    assert AccountLock.objects.get(user=user).locked_at is not None


def test_a_lead_sees_the_locked_colleagues_of_their_sections_and_unlocks_one_on_the_page(
    client, coordinator, lead, strict
):
    elsewhere = UserFactory(role="coordinator", sections=[SectionFactory()], first_name="Ola")
    locked_out(client, coordinator)
    locked_out(client, elsewhere)
    client.force_login(lead)
    page = client.get("/kontoer/").content.decode()
    assert coordinator.username in page
    assert elsewhere.username not in page  # another section's: not the lead's to open
    assert 'href="/kontoer/"' in page  # in the lead's menu

    # Pressed twice (a double click): one unlock, one "can log in again".
    for _ in range(2):
        response = client.post("/kontoer/", {"user": coordinator.pk})
        assert (response.status_code, response["Location"]) == (302, "/kontoer/")
    after = client.get("/kontoer/").content.decode()
    assert after.count("kan logge inn igjen") == 1
    assert coordinator.username not in after.split("kan logge inn igjen")[1]
    assert AuditEvent.objects.filter(action="account.unlocked").count() == 1
    assert token(client, coordinator, "pw").status_code == 200

    # Another section's account is not found; the lock holds.
    assert client.post("/kontoer/", {"user": elsewhere.pk}).status_code == 404
    assert client.post("/kontoer/", {"user": "x"}).status_code == 404
    assert AccountLock.objects.get(user=elsewhere).locked_at is not None


def test_only_a_lead_has_the_locked_accounts_page(client, coordinator, lead, strict):
    locked_out(client, lead)  # a coordinator may not open even a lead's account
    client.force_login(coordinator)
    assert client.get("/kontoer/").status_code == 403
    assert client.post("/kontoer/", {"user": lead.pk}).status_code == 403
    assert 'href="/kontoer/"' not in client.get("/").content.decode()
    assert AccountLock.objects.get(user=lead).locked_at is not None
