from django.urls import path
from meldinger import webhooks as message_webhooks

from . import webhooks

urlpatterns = [
    path("sms/", webhooks.sms, name="twilio-sms"),
    path("voice/", webhooks.voice, name="twilio-voice"),
    path("voice/status/", webhooks.voice_status, name="twilio-voice-status"),
    path("status/", message_webhooks.status, name="twilio-message-status"),
]
