"""An open socket stops streaming the moment access ends (issue 11): logout, deactivation, a
membership taken away, a session that timed out; a resync then gets a close, not a snapshot."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token

from config.asgi import application
from core.models import Membership
from henvendelser import services
from tests.factories import InquiryFactory, SectionFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(db):
    section = SectionFactory()
    kari = UserFactory(role="coordinator", sections=[section], username="kari")
    return section, kari


async def token_socket(user, path="/ws/queue/"):
    token, _ = await database_sync_to_async(Token.objects.get_or_create)(user=user)
    socket = WebsocketCommunicator(
        application, path, headers=[(b"authorization", f"Token {token.key}".encode())]
    )
    connected, _ = await socket.connect()
    assert connected
    await socket.receive_json_from()  # snapshot
    return socket


async def browser_socket(client, user):
    """A logged-in browser's queue socket (session cookie, same origin)."""
    await database_sync_to_async(client.force_login)(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    socket = WebsocketCommunicator(
        application,
        "/ws/queue/",
        headers=[(b"cookie", cookie), (b"host", b"testserver"), (b"origin", b"http://testserver")],
    )
    connected, _ = await socket.connect()
    assert connected
    await socket.receive_json_from()  # snapshot
    return socket


async def closed_with(socket):
    output = await socket.receive_output(timeout=5)
    assert output["type"] == "websocket.close", output
    return output["code"]


async def test_deactivating_a_user_closes_their_socket_at_once(world):
    _, kari = world
    socket = await token_socket(kari)
    kari.is_active = False
    await database_sync_to_async(kari.save)()
    assert await closed_with(socket) == 4401


async def test_removing_the_membership_closes_the_queue_socket_with_4403(world):
    section, kari = world
    socket = await token_socket(kari)
    await database_sync_to_async(Membership.objects.filter(user=kari, section=section).delete)()
    assert await closed_with(socket) == 4403


async def test_the_doctor_socket_closes_when_the_doctor_role_is_taken_away(world):
    section, _ = world
    lege = await database_sync_to_async(UserFactory)(role="doctor", sections=[section])
    socket = await token_socket(lege, "/ws/doctor/")
    await database_sync_to_async(lege.groups.clear)()
    assert await closed_with(socket) == 4403


async def test_logging_out_closes_the_browser_socket(world, client):
    _, kari = world
    socket = await browser_socket(client, kari)
    await database_sync_to_async(client.post)("/logout/")
    assert await closed_with(socket) == 4401


async def test_without_a_signal_the_next_event_finds_out_and_nothing_is_sent(world, monkeypatch):
    """Deactivated behind the service's back (no signal): the event that would have carried a
    name is not sent; the socket closes instead."""
    from core import ws

    monkeypatch.setattr(ws, "ACCESS_TTL_SECONDS", 0.0)
    section, kari = world
    socket = await token_socket(kari)
    await database_sync_to_async(get_user_model().objects.filter(pk=kari.pk).update)(
        is_active=False
    )
    await database_sync_to_async(_log_call)(section)
    assert await closed_with(socket) == 4401


async def test_a_resync_after_access_ended_is_a_close_not_a_snapshot(world, monkeypatch):
    from core import ws

    monkeypatch.setattr(ws, "ACCESS_TTL_SECONDS", 0.0)
    section, kari = world
    await database_sync_to_async(InquiryFactory)(section=section)
    socket = await token_socket(kari)
    await database_sync_to_async(_move_elsewhere)(kari)
    await socket.send_json_to({"type": "resync", "since": 0})
    assert await closed_with(socket) == 4403


def _log_call(section):
    coordinator = UserFactory(role="coordinator", sections=[section])
    with transaction.atomic():
        services.log_inquiry(
            by=coordinator, section_id=section.pk, channel="phone", caller_phone="+4791234567"
        )


def _move_elsewhere(user):
    """A membership moved to another section without a signal (a bulk update)."""
    Membership.objects.filter(user=user).update(section=SectionFactory())


async def test_a_browser_socket_closes_when_its_session_has_timed_out(world, client, monkeypatch):
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from core import ws

    monkeypatch.setattr(ws, "ACCESS_TTL_SECONDS", 0.0)
    _, kari = world
    socket = await browser_socket(client, kari)
    await database_sync_to_async(Session.objects.update)(expire_date=timezone.now())
    await socket.send_json_to({"type": "ping"})
    assert await closed_with(socket) == 4401


async def test_many_screens_of_one_user_share_one_look_at_the_database(world, monkeypatch):
    """Three screens of one coordinator, the access answer stale: the next event makes one
    access check in the database, not three, and every screen gets the event."""
    from core import ws

    section, kari = world
    screens = [await token_socket(kari) for _ in range(3)]
    looks = []
    real = ws._access_code

    async def counted(*args, **kwargs):
        looks.append(args[1:])
        return await real(*args, **kwargs)

    monkeypatch.setattr(ws, "_access_code", counted)
    monkeypatch.setattr(ws, "ACCESS_TTL_SECONDS", 0.3)
    await asyncio.sleep(0.4)  # every socket's last look is older than the TTL now
    await database_sync_to_async(_log_call)(section)
    for screen in screens:
        assert (await screen.receive_json_from(timeout=5))["type"] == "inquiry.created"
    assert len(looks) == 1

    # A membership taken away is still found at once by every screen (a forced look each).
    await database_sync_to_async(Membership.objects.filter(user=kari).delete)()
    for screen in screens:
        assert await closed_with(screen) == 4403
