"""ASGI entry point for Daphne: Django views over HTTP (Twilio's texts, on PostgreSQL, served on
the event loop in front of them: henvendelser/ingress.py), Channels consumers over websockets."""

import os

from config.handler import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from config.routing import websocket_urlpatterns  # noqa: E402
from core import beat  # noqa: E402
from core.ws import authenticated_websockets  # noqa: E402
from henvendelser.ingress import SmsWebhookOnLoop  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": SmsWebhookOnLoop(django_asgi_app),
        "websocket": authenticated_websockets(URLRouter(websocket_urlpatterns)),
    }
)

beat.start_if_configured()
