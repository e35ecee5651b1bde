"""Redis down: the write still commits, nothing is lost, and clients catch up by resync."""

import asyncio
import os
import subprocess
import sys
import threading
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers, get_channel_layer
from channels_redis.core import RedisChannelLayer

from core import realtime
from core.models import Event
from henvendelser.models import Inquiry

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead_redis_layer(settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},  # nothing listens on port 1
        }
    }
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def test_a_write_commits_and_its_event_is_kept_when_the_channel_layer_is_down(
    api_as, coordinator, dead_redis_layer, django_capture_on_commit_callbacks, caplog
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(coordinator).post(
            "/api/inquiries/", {"channel": "phone", "caller_phone": "91234567"}, format="json"
        )
    assert response.status_code == 201
    assert Inquiry.objects.count() == 1
    event = Event.objects.get()
    assert event.payload["inquiry"]["id"] == response.json()["id"]
    assert realtime.flush_broadcasts()  # sent (and failed) without the request waiting for it
    assert "clients will resync" in caplog.text


def test_events_sent_by_a_worker_arrive_in_order_over_one_loop_kept_for_the_process(settings):
    """A worker has no event loop to borrow: its broadcasts go through one loop of its own
    (core.realtime._SendingLoop), not a new loop and Redis connection per event."""
    if not os.environ.get("REDIS_URL"):
        pytest.skip("the Redis channel layer is the thing under test (CI runs with it)")
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [os.environ["REDIS_URL"]], "prefix": f"t-{uuid.uuid4().hex}"},
        }
    }
    channel_layers.backends.clear()
    layer = get_channel_layer()
    screen = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("queue.section.1", screen)
    for seq in (1, 2, 3):
        realtime.broadcast("queue.section.1", {"seq": seq}, f'{{"seq": {seq}}}')
    loop = realtime._own_loop()
    realtime.broadcast("queue.section.1", {"seq": 4}, '{"seq": 4}')
    assert realtime._own_loop() is loop

    async def screen_sees():
        return [(await layer.receive(screen))["text"] for _ in range(4)]

    assert async_to_sync(screen_sees)() == [f'{{"seq": {seq}}}' for seq in (1, 2, 3, 4)]


class HeldLayer:
    """A channel layer whose sends wait until the test lets them through, as a Redis that hangs
    would; a send of a seq in `never` waits for good."""

    def __init__(self):
        self.through = threading.Event()
        self.never = set()
        self.sent = []

    async def group_send(self, group, message):
        seq = message["event"]["seq"]
        while not self.through.is_set() or seq in self.never:
            await asyncio.sleep(0.01)
        self.sent.append(seq)


@pytest.fixture
def held(monkeypatch):
    """The process's broadcasts go to a HeldLayer, once what earlier tests sent has gone."""
    assert realtime.flush_broadcasts(timeout=30)
    layer = HeldLayer()
    monkeypatch.setattr(realtime, "get_channel_layer", lambda: layer)
    monkeypatch.setattr(realtime, "SEND_TIMEOUT_SECONDS", 60)
    return layer


def broadcast_seqs(*seqs):
    for seq in seqs:
        realtime.broadcast("queue.section.1", {"seq": seq}, f'{{"seq": {seq}}}')


def test_a_worker_goes_on_while_its_broadcasts_wait_and_they_go_out_in_order(held):
    """A drain's worker does not wait for the channel layer: the next texts are put on their
    inquiries while the events of the last are still on their way, and the screens get them
    in the order they were committed."""
    broadcast_seqs(1, 2, 3)
    assert held.sent == []  # back with the caller while the layer still holds the first
    held.through.set()
    assert realtime.flush_broadcasts(timeout=30)
    assert held.sent == [1, 2, 3]


def test_a_send_that_hangs_is_given_up_and_the_ones_after_it_still_go(held, monkeypatch, caplog):
    held.never.add(1)
    held.through.set()
    monkeypatch.setattr(realtime, "SEND_TIMEOUT_SECONDS", 0.2)
    broadcast_seqs(1, 2, 3)
    assert realtime.flush_broadcasts(timeout=30)
    assert held.sent == [2, 3]
    assert "failed for seq 1; clients will resync" in caplog.text


def test_a_channel_layer_that_hangs_never_holds_up_the_writes(held, monkeypatch, caplog):
    """However long the layer hangs, at most MAX_WAITING_SENDS sends wait for it: the ones
    beyond are given up at once (the clients resync), not queued without end."""
    monkeypatch.setattr(realtime, "MAX_WAITING_SENDS", 2)
    broadcast_seqs(1, 2, 3)
    assert "failed for seq 3; clients will resync (2 sends waiting)" in caplog.text
    held.through.set()
    assert realtime.flush_broadcasts(timeout=30)
    assert held.sent == [1, 2]


def test_what_a_process_broadcast_just_before_it_exits_still_arrives():
    """A management command or a worker that ends right after its last write: what its loop
    still had to send goes before the process is gone."""
    if not os.environ.get("REDIS_URL"):
        pytest.skip("the Redis channel layer is the thing under test (CI runs with it)")
    prefix = f"t-{uuid.uuid4().hex}"
    layer = RedisChannelLayer(hosts=[os.environ["REDIS_URL"]], prefix=prefix)
    screen = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("queue.section.1", screen)
    script = (
        "import django; django.setup(); from core import realtime; "
        "[realtime.broadcast('queue.section.1', {'seq': s}, str(s)) for s in (1, 2, 3)]"
    )
    subprocess.run(
        [sys.executable, "-c", script],
        cwd=os.path.join(os.path.dirname(realtime.__file__), ".."),
        env={**os.environ, "CHANNEL_PREFIX": prefix, "DJANGO_SETTINGS_MODULE": "config.settings"},
        check=True,
        timeout=60,
    )

    async def screen_sees():
        return [(await layer.receive(screen))["text"] for _ in range(3)]

    assert async_to_sync(asyncio.wait_for)(screen_sees(), 10) == ["1", "2", "3"]
