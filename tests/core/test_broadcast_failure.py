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
