import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError


def test_a_send_lease_shorter_than_the_twilio_timeout_stops_start_up(settings):
    settings.TWILIO_TIMEOUT_SECONDS = 20
    settings.MESSAGE_SEND_LEASE_SECONDS = 20
    with pytest.raises(SystemCheckError, match="MESSAGE_SEND_LEASE_SECONDS"):
        call_command("check")
    settings.MESSAGE_SEND_LEASE_SECONDS = 21
    call_command("check")
