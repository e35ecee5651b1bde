from django.urls import path
from eskalering.consumers import DoctorConsumer

from henvendelser.consumers import QueueConsumer

websocket_urlpatterns = [
    path("ws/queue/", QueueConsumer.as_asgi()),
    path("ws/doctor/", DoctorConsumer.as_asgi()),
]
