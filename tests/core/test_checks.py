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


def test_json_logs_are_one_object_per_line_with_secure_links_masked():
    import json
    import logging
    import sys

    from core.logfilters import JsonFormatter

    try:
        raise ValueError("GET /m/abcdefghijklmnop failed")
    except ValueError:
        record = logging.LogRecord(
            "django.request",
            logging.ERROR,
            __file__,
            1,
            "open %s",
            ("/m/secretToken123",),
            sys.exc_info(),
        )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert (entry["level"], entry["logger"]) == ("ERROR", "django.request")
    assert entry["message"] == "open /m/[token]"
    assert "abcdefghijklmnop" not in entry["exception"] and "/m/[token]" in entry["exception"]


def test_the_deploy_environment_asks_for_json_logs():
    from pathlib import Path

    env = (Path(__file__).resolve().parents[2] / "deploy" / "env.example").read_text()
    assert "LOG_FORMAT=json" in env.splitlines()
