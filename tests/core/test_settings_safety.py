import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import DEMO_SECRET_KEY, unsafe_settings_reasons

BACKEND = Path(__file__).resolve().parents[2] / "backend"


def test_local_demo_settings_are_allowed():
    assert (
        unsafe_settings_reasons(
            debug=True, demo_mode=True, secret_key=DEMO_SECRET_KEY, allowed_hosts=["127.0.0.1"]
        )
        == []
    )


@pytest.mark.parametrize(
    ("debug", "demo", "key", "fragment"),
    [
        (True, False, "x" * 50, "DEBUG"),
        (False, False, DEMO_SECRET_KEY, "SECRET_KEY"),
        (False, False, "short", "SECRET_KEY"),
        (False, True, "x" * 50, "DEMO_MODE"),
    ],
)
def test_unsafe_settings_for_a_public_host_are_named(debug, demo, key, fragment):
    reasons = unsafe_settings_reasons(
        debug=debug, demo_mode=demo, secret_key=key, allowed_hosts=["kontaktpunkt.sykehus.no"]
    )
    assert any(fragment in reason for reason in reasons)


def _start(env_overrides):
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DEMO_MODE"}}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BACKEND,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_service_refuses_to_start_with_debug_on_a_public_host():
    result = _start(
        {"ALLOWED_HOSTS": "kontaktpunkt.sykehus.no", "DEBUG": "true", "SECRET_KEY": "k" * 50}
    )
    assert result.returncode != 0
    assert "Refusing to start" in result.stderr


def test_the_service_refuses_to_start_with_the_demo_secret_on_a_public_host():
    result = _start({"ALLOWED_HOSTS": "kontaktpunkt.sykehus.no"})
    assert result.returncode != 0
    assert "Refusing to start" in result.stderr


RANDOM_KEY = "q8Vn2-Lx0Rt7_Ws4Yb1Hc6Jf3Md9Pg5Ke8Zu0Ai2Oy7Ne4Tr1"


def test_production_settings_start():
    result = _start({"ALLOWED_HOSTS": "kontaktpunkt.sykehus.no", "SECRET_KEY": RANDOM_KEY})
    assert result.returncode == 0, result.stderr


def test_the_placeholder_secret_from_env_example_is_refused():
    env_example = (BACKEND.parent / "deploy" / "env.example").read_text()
    placeholder = next(
        line.split("=", 1)[1] for line in env_example.splitlines() if line.startswith("SECRET_KEY=")
    )
    result = _start({"ALLOWED_HOSTS": "kontaktpunkt.sykehus.no", "SECRET_KEY": placeholder})
    assert result.returncode != 0
    assert "placeholder" in result.stderr
    assert unsafe_settings_reasons(
        debug=False, demo_mode=False, secret_key="k" * 50, allowed_hosts=["kp.sykehus.no"]
    ) == ["SECRET_KEY is a placeholder; generate a random one"]
