from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient
from twilio.request_validator import RequestValidator

from tests.factories import ALWAYS_OPEN, SectionFactory, UserFactory

TWILIO_TEST_TOKEN = "test-twilio-auth-token"


def pytest_collection_modifyitems(items: list[Any]) -> None:
    """End-to-end tests last: they are the slowest, and start browsers and servers."""
    items.sort(key=lambda item: "/e2e/" in str(item.fspath))


def pytest_report_header(config: Any) -> list[str]:
    return [
        f"database: {settings.DATABASES['default']['ENGINE']}",
        f"channel layer: {settings.CHANNEL_LAYERS['default']['BACKEND']}",
        f"REDIS_URL set: {bool(os.environ.get('REDIS_URL'))}",
    ]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any) -> Any:
    """pytest-django's, with the test database's last sessions ended before it is dropped:
    threads the tests ran requests and sockets in keep a pooled connection each, which would
    keep PostgreSQL from dropping it ("being accessed by other users")."""
    from django.db import connection

    yield
    connection.close()
    if connection.vendor == "postgresql":
        import psycopg

        with psycopg.connect(**connection.get_connection_params(), autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


@pytest.fixture(autouse=True, scope="session")
def _celery_in_process() -> Any:
    """Tasks run in the test process, also when REDIS_URL makes Redis the broker; the tests
    that exist to exercise a real worker start one and say so."""
    from config.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER


@pytest.fixture(autouse=True)
def _fresh_channel_layer() -> Any:
    """Each test gets its own channel layer object. A Redis layer binds its receive lock to the
    event loop that first receives; a socket a failed test left open would otherwise hold it,
    and the next test's loop would find it bound to a dead loop."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def _no_remembered_socket_state() -> Any:
    """Sockets share their recent access answers (core.ws.access_checks) and their unwritten
    audit notes (core.audit.pushed_reads); ids are reused from test to test, and each test has
    an event loop of its own, so neither may outlive the test that made it."""
    from core import audit, ws

    ws.access_checks = ws.SharedAccessChecks()
    audit.pushed_reads = audit.PushedReads()
    yield


@pytest.fixture(autouse=True)
def _no_login_rate_limit(settings: Any) -> None:
    """Tests log in far more often than a person; the limit itself is tested with its own
    setting and addresses (tests/core/test_brute_force.py)."""
    settings.LOGIN_RATE_PER_MINUTE = 100_000


@pytest.fixture(autouse=True)
def _twilio_settings(settings: Any) -> None:
    settings.TWILIO_AUTH_TOKEN = TWILIO_TEST_TOKEN
    settings.PUBLIC_BASE_URL = "https://kontaktpunkt.example.test"
    settings.COORDINATOR_PHONE = "+4755000000"


@pytest.fixture
def section(db: Any) -> Any:
    return SectionFactory(opening_hours=ALWAYS_OPEN)


@pytest.fixture
def other_section(db: Any) -> Any:
    return SectionFactory(opening_hours=ALWAYS_OPEN)


@pytest.fixture
def make_user(db: Any, section: Any) -> Callable[..., Any]:
    def make(role: str, sections: list[Any] | None = None, **kwargs: Any) -> Any:
        return UserFactory(
            role=role, sections=sections if sections is not None else [section], **kwargs
        )

    return make


@pytest.fixture
def coordinator(make_user: Callable[..., Any]) -> Any:
    return make_user("coordinator", first_name="Kari", last_name="Nordmann")


@pytest.fixture
def coordinator2(make_user: Callable[..., Any]) -> Any:
    return make_user("coordinator", first_name="Ola", last_name="Hansen")


@pytest.fixture
def secretary(make_user: Callable[..., Any]) -> Any:
    return make_user("secretary")


@pytest.fixture
def doctor(make_user: Callable[..., Any]) -> Any:
    return make_user("doctor")


@pytest.fixture
def lead(make_user: Callable[..., Any]) -> Any:
    return make_user("lead")


@pytest.fixture
def api_as() -> Callable[[Any], APIClient]:
    """An API client logged in as `user` with a real token, as an integration would be."""

    def make(user: Any) -> APIClient:
        from rest_framework.authtoken.models import Token

        client = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


def twilio_signature(
    path: str, params: dict[str, str], token: str = TWILIO_TEST_TOKEN, base: str | None = None
) -> str:
    url = (base or settings.PUBLIC_BASE_URL) + path
    return str(RequestValidator(token).compute_signature(url, params))


@pytest.fixture
def twilio_post(client: Any, django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """POST form parameters to a webhook, signed with Twilio's real scheme. What the webhook
    leaves for after its commit runs before this returns, as it would in production: the inbox
    hands a text to the (in-process) worker, which puts it on its inquiry."""

    def post(path: str, params: dict[str, str], *, signature: str | None = None) -> Any:
        sig = twilio_signature(path, params) if signature is None else signature
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=sig)

    return post


def error_code(response: Any) -> str:
    return str(json.loads(response.content)["error"]["code"])


TWILIO_TEST_ACCOUNT = "AC" + "1" * 32
TWILIO_TEST_FROM = "+4759440000"


@pytest.fixture
def fake_twilio_server() -> Any:
    """A local fake Twilio server (tests/fakes/twilio_server.py), for processes a test starts."""
    from tests.fakes.twilio_server import FakeTwilio

    fake = FakeTwilio(TWILIO_TEST_ACCOUNT, TWILIO_TEST_TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_twilio(settings: Any, fake_twilio_server: Any) -> Any:
    """The Twilio backend of this process, pointed at the fake through the real client."""
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID = TWILIO_TEST_ACCOUNT
    settings.TWILIO_FROM_NUMBER = TWILIO_TEST_FROM
    settings.TWILIO_API_BASE_URL = fake_twilio_server.url
    return fake_twilio_server


@pytest.fixture(autouse=True)
def _empty_console_outbox() -> Any:
    from core import sms

    sms.OUTBOX.clear()
    yield
    sms.OUTBOX.clear()


@pytest.fixture
def broker() -> Any:
    """A `redis-server` of the test's own, to kill and restart (tests/processes.py)."""
    from tests.processes import RedisServer

    if not RedisServer.available():
        pytest.skip("needs redis-server (.ci/run has it)")
    redis = RedisServer().start()
    yield redis
    redis.stop()


@pytest.fixture
def workers() -> Any:
    """Start real `celery worker` processes: `workers(env, name)`; all stopped afterwards."""
    from tests.processes import CeleryWorker

    started: list[CeleryWorker] = []

    def start(env: dict[str, str], name: str) -> CeleryWorker:
        worker = CeleryWorker(env, name).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
