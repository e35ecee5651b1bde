"""`make run` loads the demo with `seed_demo --if-demo`: it must work on an empty database and
again on its own data (every `make run` runs it)."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from meldinger.models import FollowUpPlan

from henvendelser.models import Inquiry


def test_the_demo_loads_once_and_again_without_doubling(db, settings):
    settings.DEMO_MODE = True
    call_command("seed_demo")
    users = set(get_user_model().objects.values_list("username", flat=True))
    assert {"koordinator1", "lege1", "leder1", "sekretaer1"} <= users
    inquiries = Inquiry.objects.count()
    assert inquiries >= 5
    [plan] = FollowUpPlan.objects.all()
    assert plan.patient.first_name == "Emma"
    assert [m.status for m in plan.messages.all()] == ["scheduled"] * 4

    call_command("seed_demo")
    assert Inquiry.objects.count() == inquiries
    assert FollowUpPlan.objects.count() == 1


def test_outside_demo_mode_it_refuses_or_with_if_demo_does_nothing(db, settings):
    settings.DEMO_MODE = False
    with pytest.raises(CommandError):
        call_command("seed_demo")
    call_command("seed_demo", "--if-demo")
    assert not Inquiry.objects.exists()
