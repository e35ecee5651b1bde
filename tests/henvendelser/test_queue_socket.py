"""ws/queue/ through the whole ASGI stack (origin check, session and token auth, routing).
With REDIS_URL set (as in CI) the channel layer here is the real Redis one."""

import datetime as dt

import pytest
from channels.db import database_sync_to_async as sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import OperationalError, transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from config.asgi import application
from core import realtime
from core.models import Event
from henvendelser import services
from tests.factories import InquiryFactory, SectionFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def token_headers(user):
    token, _ = Token.objects.get_or_create(user=user)
    return [(b"authorization", f"Token {token.key}".encode())]


async def connect(headers, path="/ws/queue/"):
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


@pytest.fixture
def world(db):
    section = SectionFactory()
    coordinator = UserFactory(
        role="coordinator", sections=[section], first_name="Kari", last_name="Nordmann"
    )
    coordinator2 = UserFactory(
        role="coordinator", sections=[section], first_name="Ola", last_name="Hansen"
    )
    return section, coordinator, coordinator2


async def test_an_unauthenticated_socket_is_refused():
    communicator, connected, _ = await connect([])
    assert not connected
    await communicator.disconnect()


async def test_a_bad_token_is_refused(world):
    _, connected, _ = await connect([(b"authorization", b"Token nonsense")])
    assert not connected


async def test_a_user_without_a_queue_role_is_refused(world):
    section, _, _ = world
    nobody = await sync_to_async(UserFactory)(sections=[section])
    headers = await sync_to_async(token_headers)(nobody)
    _, connected, _ = await connect(headers)
    assert not connected


async def test_another_sections_queue_is_refused(world):
    _, coordinator, _ = world
    other = await sync_to_async(SectionFactory)()
    headers = await sync_to_async(token_headers)(coordinator)
    _, connected, _ = await connect(headers, f"/ws/queue/?section={other.pk}")
    assert not connected


async def test_a_browser_socket_from_another_site_is_refused(world, client):
    _, coordinator, _ = world
    await sync_to_async(client.force_login)(coordinator)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    host = (b"host", b"testserver")
    _, connected, _ = await connect(
        [(b"cookie", cookie), host, (b"origin", b"https://evil.example")]
    )
    assert not connected
    # The same host on another scheme or port is another origin (another site or service).
    for origin in (b"https://testserver", b"http://testserver:8080", b"null", b"garbage://"):
        _, connected, _ = await connect([(b"cookie", cookie), host, (b"origin", origin)])
        assert not connected, origin
    communicator, connected, _ = await connect(
        [(b"cookie", cookie), host, (b"origin", b"http://testserver")]
    )
    assert connected
    snapshot = await communicator.receive_json_from()
    assert snapshot["type"] == "snapshot"
    await communicator.disconnect()


async def test_on_connect_a_snapshot_of_open_inquiries_in_queue_order_with_the_seq(world):
    section, coordinator, _ = world
    await sync_to_async(InquiryFactory)(section=section, status="closed")
    later = await sync_to_async(InquiryFactory)(section=section)
    red = await sync_to_async(InquiryFactory)(section=section, grade="red")
    await sync_to_async(type(section).objects.filter(pk=section.pk).update)(last_seq=41)
    headers = await sync_to_async(token_headers)(coordinator)
    communicator, connected, _ = await connect(headers)
    assert connected
    snapshot = await communicator.receive_json_from()
    assert snapshot["type"] == "snapshot"
    assert snapshot["seq"] == 41
    assert [row["id"] for row in snapshot["inquiries"]] == [red.pk, later.pk]
    await communicator.disconnect()


async def test_a_committed_change_arrives_as_an_event_with_the_next_seq(world):
    section, coordinator, coordinator2 = world
    headers = await sync_to_async(token_headers)(coordinator)
    communicator, _, _ = await connect(headers)
    snapshot = await communicator.receive_json_from()

    inquiry = await sync_to_async(services.log_inquiry)(
        by=coordinator2,
        channel="phone",
        section_id=section.pk,
        caller_phone="+4791234567",
        summary="Spør om parkering",
    )
    event = await communicator.receive_json_from(timeout=5)
    assert event["type"] == "inquiry.created"
    assert event["seq"] == snapshot["seq"] + 1
    assert event["inquiry"]["id"] == inquiry.pk
    assert event["inquiry"]["summary"] == "Spør om parkering"

    await sync_to_async(services.claim_inquiry)(inquiry_id=inquiry.pk, by=coordinator2)
    claimed = await communicator.receive_json_from(timeout=5)
    assert claimed["type"] == "inquiry.claimed"
    assert claimed["seq"] == snapshot["seq"] + 2
    assert claimed["inquiry"]["claimed_by"]["name"] == "Ola Hansen"
    await communicator.disconnect()


async def test_a_rolled_back_change_is_never_broadcast(world):
    section, coordinator, _ = world
    headers = await sync_to_async(token_headers)(coordinator)
    communicator, _, _ = await connect(headers)
    await communicator.receive_json_from()

    def change_then_fail():
        with pytest.raises(RuntimeError), transaction.atomic():
            services.log_inquiry(
                by=coordinator, channel="phone", section_id=section.pk, caller_phone="+4791234567"
            )
            raise RuntimeError("rolled back")

    await sync_to_async(change_then_fail)()
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_resync_sends_exactly_what_was_missed_in_order(world):
    section, coordinator, _ = world
    headers = await sync_to_async(token_headers)(coordinator)
    first, _, _ = await connect(headers)
    seen = (await first.receive_json_from())["seq"]
    await first.disconnect()

    made = []
    for phone in ("+4791234567", "+4791234568"):
        made.append(
            await sync_to_async(services.log_inquiry)(
                by=coordinator, channel="phone", section_id=section.pk, caller_phone=phone
            )
        )

    again, _, _ = await connect(headers)
    await again.receive_json_from()  # fresh snapshot
    await again.send_json_to({"type": "resync", "since": seen})
    missed = [await again.receive_json_from(), await again.receive_json_from()]
    assert [e["seq"] for e in missed] == [seen + 1, seen + 2]
    assert [e["inquiry"]["id"] for e in missed] == [m.pk for m in made]
    await again.disconnect()


async def test_a_pong_names_the_last_seq_so_a_screen_that_missed_a_broadcast_catches_up(
    world, monkeypatch
):
    """A broadcast lost after its commit (a worker killed before it sent it): no frame comes,
    and no later one shows a gap. The answer to the page's next ping names the section's last
    seq; the page asks for what it missed."""
    section, coordinator, _ = world
    headers = await sync_to_async(token_headers)(coordinator)
    communicator, _, _ = await connect(headers)
    seen = (await communicator.receive_json_from())["seq"]
    monkeypatch.setattr(realtime, "broadcast", lambda *args: None)
    inquiry = await sync_to_async(services.log_inquiry)(
        by=coordinator, channel="phone", section_id=section.pk, caller_phone="+4791234567"
    )
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from() == {"type": "pong", "seq": seen + 1}
    await communicator.send_json_to({"type": "resync", "since": seen})
    missed = await communicator.receive_json_from()
    assert (missed["seq"], missed["inquiry"]["id"]) == (seen + 1, inquiry.pk)
    await communicator.disconnect()


async def test_a_ping_while_the_database_is_away_is_answered_and_the_socket_stays(
    world, monkeypatch
):
    section, coordinator, _ = world
    headers = await sync_to_async(token_headers)(coordinator)
    communicator, _, _ = await connect(headers)
    seen = (await communicator.receive_json_from())["seq"]

    def away(section_id):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(realtime, "current_seq", away)
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from() == {"type": "pong"}
    monkeypatch.undo()
    await sync_to_async(services.log_inquiry)(
        by=coordinator, channel="phone", section_id=section.pk, caller_phone="+4791234567"
    )
    assert (await communicator.receive_json_from(timeout=5))["seq"] == seen + 1
    await communicator.disconnect()


async def test_a_resync_too_far_back_gets_a_fresh_snapshot(world, monkeypatch):
    section, coordinator, _ = world
    monkeypatch.setattr(realtime, "RESYNC_LIMIT", 1)
    for phone in ("+4791234567", "+4791234568", "+4791234569"):
        await sync_to_async(services.log_inquiry)(
            by=coordinator, channel="phone", section_id=section.pk, caller_phone=phone
        )
    headers = await sync_to_async(token_headers)(coordinator)
    communicator, _, _ = await connect(headers)
    await communicator.receive_json_from()
    await communicator.send_json_to({"type": "resync", "since": 0})
    answer = await communicator.receive_json_from()
    assert answer["type"] == "snapshot"
    assert len(answer["inquiries"]) == 3
    await communicator.disconnect()


async def test_events_older_than_the_retention_are_pruned_and_a_resync_across_them_gets_a_snapshot(
    world, settings
):
    section, coordinator, _ = world
    settings.EVENT_RETENTION_HOURS = 48
    for phone in ("+4791234567", "+4791234568", "+4791234569"):
        await sync_to_async(services.log_inquiry)(
            by=coordinator, channel="phone", section_id=section.pk, caller_phone=phone
        )
    first = await sync_to_async(Event.objects.filter(section=section).order_by("seq").first)()
    three_days_ago = timezone.now() - dt.timedelta(days=3)
    await sync_to_async(Event.objects.filter(pk=first.pk).update)(at=three_days_ago)
    assert await sync_to_async(realtime.prune_events)() == 1

    headers = await sync_to_async(token_headers)(coordinator)
    communicator, _, _ = await connect(headers)
    await communicator.receive_json_from()
    # Since 1: events 2 and 3 are still stored.
    await communicator.send_json_to({"type": "resync", "since": first.seq})
    assert [(await communicator.receive_json_from())["seq"] for _ in range(2)] == [
        first.seq + 1,
        first.seq + 2,
    ]
    # Since 0: event 1 is gone, so the client cannot catch up event by event.
    await communicator.send_json_to({"type": "resync", "since": first.seq - 1})
    answer = await communicator.receive_json_from()
    assert answer["type"] == "snapshot"
    assert len(answer["inquiries"]) == 3
    await communicator.disconnect()


async def test_bad_frames_get_an_error_not_a_disconnect(world):
    _, coordinator, _ = world
    headers = await sync_to_async(token_headers)(coordinator)
    communicator, _, _ = await connect(headers)
    await communicator.receive_json_from()
    await communicator.send_json_to({"type": "resync", "since": "yesterday"})
    assert (await communicator.receive_json_from())["code"] == "invalid_since"
    await communicator.send_json_to({"type": "shout"})
    assert (await communicator.receive_json_from())["code"] == "unknown_type"
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from())["type"] == "pong"
    await communicator.disconnect()


async def test_presence_shows_who_has_an_inquiry_open_and_who_is_typing(world):
    section, coordinator, coordinator2 = world
    inquiry = await sync_to_async(InquiryFactory)(section=section)
    kari, _, _ = await connect(await sync_to_async(token_headers)(coordinator))
    await kari.receive_json_from()
    ola, _, _ = await connect(await sync_to_async(token_headers)(coordinator2))
    await ola.receive_json_from()

    await kari.send_json_to({"type": "presence", "inquiry": inquiry.pk, "state": "typing"})
    seen = await ola.receive_json_from(timeout=5)
    assert (seen["type"], seen["inquiry"], seen["state"]) == ("presence", inquiry.pk, "typing")
    assert seen["user"]["name"] == "Kari Nordmann"
    assert await kari.receive_nothing(timeout=0.2)  # not echoed to herself

    # Someone who connects later learns it at once.
    late, _, _ = await connect(await sync_to_async(token_headers)(coordinator2))
    await late.receive_json_from()
    told = await late.receive_json_from(timeout=5)
    assert (told["type"], told["state"], told["user"]["id"]) == (
        "presence",
        "typing",
        coordinator.pk,
    )

    await kari.disconnect()
    # Presence is state, not a log: a repeat of "typing" (answering Ola's own hello) may come
    # first; what matters is that Kari's leaving is the last word.
    states = []
    while not states or states[-1] != "gone":
        states.append((await ola.receive_json_from(timeout=5))["state"])
        assert len(states) <= 3, states
    await ola.disconnect()
    await late.disconnect()


async def test_what_a_socket_is_shown_is_audited(world):
    from core.models import AuditEvent

    section, coordinator, _ = world
    await sync_to_async(InquiryFactory)(section=section)
    communicator, _, _ = await connect(await sync_to_async(token_headers)(coordinator))
    await communicator.receive_json_from()
    await communicator.disconnect()
    count = await sync_to_async(
        AuditEvent.objects.filter(action="queue.snapshot", user=coordinator, channel="ws").count
    )()
    assert count == 1


async def test_an_event_from_a_process_of_the_previous_release_still_reaches_the_screen(world):
    """During a rolling update an older web process broadcasts the event without its encoded
    text; the screen gets it all the same."""
    from channels.layers import get_channel_layer

    section, coordinator, _ = world
    communicator, _, _ = await connect(await sync_to_async(token_headers)(coordinator))
    snapshot = await communicator.receive_json_from()
    event = {"type": "inquiry.updated", "seq": snapshot["seq"] + 1, "inquiry": {"id": 7}}
    await get_channel_layer().group_send(
        realtime.queue_group(section.pk), {"type": "queue.event", "event": event}
    )
    assert await communicator.receive_json_from(timeout=5) == event
    await communicator.disconnect()


async def test_the_queue_hears_when_a_text_is_set_aside_and_when_it_is_taken_in(
    world, settings, monkeypatch
):
    """The notice carries no text (the page fetches it through the API, which checks and
    audits); it comes the moment a worker gives up on a text, and again when it is taken in."""
    from henvendelser.models import InboundText
    from henvendelser.services import inbox

    section, coordinator, _ = world
    settings.INBOX_MAX_ATTEMPTS = 1

    def a_bug(**kwargs):
        raise ValueError("a bug in intake")

    monkeypatch.setattr(inbox, "record_sms", a_bug)
    headers = await sync_to_async(token_headers)(coordinator)
    communicator, connected, _ = await connect(headers)
    assert connected
    await communicator.receive_json_from()  # the snapshot
    text = await sync_to_async(InboundText.objects.create)(
        message_sid="SMstuck",
        section=section,
        from_phone="+4791234567",
        body="Emma har 38,5 i feber",
        received_at=timezone.now(),
    )

    await sync_to_async(inbox.drain)(section.pk)
    assert await communicator.receive_json_from(timeout=5) == {"type": "inbox.set_aside"}

    await sync_to_async(inbox.take_in)(text.pk, by=coordinator)
    created = await communicator.receive_json_from(timeout=5)
    assert (created["type"], created["inquiry"]["summary"]) == (
        "inquiry.created",
        "Emma har 38,5 i feber",
    )
    assert await communicator.receive_json_from(timeout=5) == {"type": "inbox.set_aside"}
    await communicator.disconnect()


# --- one place in the group per process (core.fanout) ---


async def group_size(layer, group):
    """How many members the channel layer holds for `group`."""
    if hasattr(layer, "groups"):  # the in-memory layer
        return len(layer.groups.get(group, {}))
    connection = layer.connection(layer.consistent_hash(group))
    return await connection.zcard(layer._group_key(group))


async def test_screens_in_one_process_take_one_place_in_the_group_and_each_gets_every_event(
    world,
):
    from channels.layers import get_channel_layer

    section, coordinator, coordinator2 = world
    group = realtime.queue_group(section.pk)
    layer = get_channel_layer()
    screens = []
    for user in (coordinator, coordinator2, coordinator):
        screen, connected, _ = await connect(await sync_to_async(token_headers)(user))
        assert connected
        await screen.receive_json_from()  # snapshot
        screens.append(screen)
    # One copy of each event per process, not one per screen.
    assert await group_size(layer, group) == 1

    inquiry = await sync_to_async(services.log_inquiry)(
        by=coordinator, channel="phone", section_id=section.pk, caller_phone="+4791234567"
    )
    for screen in screens:
        event = await screen.receive_json_from(timeout=5)
        assert (event["type"], event["inquiry"]["id"]) == ("inquiry.created", inquiry.pk)

    await screens[0].disconnect()
    assert await group_size(layer, group) == 1  # the others still listen
    await sync_to_async(services.claim_inquiry)(inquiry_id=inquiry.pk, by=coordinator2)
    for screen in screens[1:]:
        assert (await screen.receive_json_from(timeout=5))["type"] == "inquiry.claimed"
    for screen in screens[1:]:
        await screen.disconnect()
    assert await group_size(layer, group) == 0  # the last one out leaves the group


async def test_a_live_event_waits_until_a_resync_has_sent_what_was_missed(world, monkeypatch):
    """The client applies events in seq order and asks again at a gap: a live event sent in
    the middle of a resync's events would set it asking again and again."""
    import asyncio

    from channels.layers import get_channel_layer

    from henvendelser import consumers

    section, coordinator, _ = world
    screen, _, _ = await connect(await sync_to_async(token_headers)(coordinator))
    seen = (await screen.receive_json_from())["seq"]
    missed = [{"type": "inquiry.updated", "seq": seen + k, "inquiry": {"id": k}} for k in (1, 2)]
    live = {"type": "inquiry.updated", "seq": seen + 3, "inquiry": {"id": 3}}
    reading, go_on = asyncio.Event(), asyncio.Event()

    async def slow_events_since(*args):
        reading.set()
        await go_on.wait()  # the database is slow today
        return missed

    monkeypatch.setattr(consumers, "_events_since", slow_events_since)
    await screen.send_json_to({"type": "resync", "since": seen})
    await asyncio.wait_for(reading.wait(), 5)
    await get_channel_layer().group_send(
        realtime.queue_group(section.pk), {"type": "queue.event", "event": live}
    )
    assert await screen.receive_nothing(timeout=0.3)
    go_on.set()

    frames = [await screen.receive_json_from(timeout=5) for _ in range(3)]
    assert [frame["seq"] for frame in frames] == [seen + 1, seen + 2, seen + 3]
    await screen.disconnect()


async def test_a_screen_whose_group_cannot_be_read_closes_so_the_page_reconnects(
    world, monkeypatch
):
    from channels.layers import get_channel_layer

    section, coordinator, _ = world
    layer = get_channel_layer()
    screen, _, _ = await connect(await sync_to_async(token_headers)(coordinator))
    seen = (await screen.receive_json_from())["seq"]

    group = realtime.queue_group(section.pk)
    before, after = (
        {"type": "inquiry.updated", "seq": seen + k, "inquiry": {"id": k}} for k in (1, 2)
    )
    await layer.group_send(group, {"type": "queue.event", "event": before})
    assert await screen.receive_json_from(timeout=5) == before  # the relay reads again

    async def layer_gone(*args, **kwargs):
        raise ConnectionError("Redis is away")

    monkeypatch.setattr(layer, "receive", layer_gone)
    # The read under way gets this one; the next read fails.
    await layer.group_send(group, {"type": "queue.event", "event": after})

    assert await screen.receive_json_from(timeout=5) == after  # what it had is sent first
    closed = await screen.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 1011}
    monkeypatch.undo()
    await screen.disconnect()
    # The page's next connection finds the group again, from a snapshot.
    again, connected, _ = await connect(await sync_to_async(token_headers)(coordinator))
    assert connected
    assert (await again.receive_json_from())["type"] == "snapshot"
    await again.disconnect()


async def test_a_screen_that_fails_leaves_the_relay_so_nothing_piles_up_for_it(world, monkeypatch):
    from channels.layers import get_channel_layer

    from core.fanout import fanout
    from henvendelser.consumers import QueueConsumer

    section, coordinator, _ = world
    group = realtime.queue_group(section.pk)
    layer = get_channel_layer()
    screen, _, _ = await connect(await sync_to_async(token_headers)(coordinator))
    await screen.receive_json_from()
    assert fanout.members(layer, group) == 1

    async def a_bug(self, content):
        raise RuntimeError("a bug in a handler")

    monkeypatch.setattr(QueueConsumer, "_presence", a_bug)
    await screen.send_json_to({"type": "presence", "inquiry": None, "state": "viewing"})
    with pytest.raises(RuntimeError):
        await screen.wait(timeout=5)  # the socket's application ended with the error

    # Without a disconnect handler run, the socket still left: no outbox fills for it.
    assert fanout.members(layer, group) == 0
    assert await group_size(layer, group) == 0
