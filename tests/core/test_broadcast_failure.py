"""Redis down: the write still commits, nothing is lost, and clients catch up by resync."""

import pytest
from channels.layers import channel_layers

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
    assert "clients will resync" in caplog.text


def test_events_sent_by_a_worker_arrive_in_order_over_one_loop_kept_for_the_process(settings):
    """A worker has no event loop to borrow: its broadcasts go through one loop of its own
    (core.realtime._SendingLoop), not a new loop and Redis connection per event."""
    import os
    import uuid

    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from core import realtime

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
