"""The alarm-word screen against a set of short messages, and against the shared red cases."""

import json
from pathlib import Path

import pytest

from tests.triage.conftest import load_cases
from triage.alarm import screen

MESSAGES = json.loads((Path(__file__).parent / "alarm_messages.json").read_text())
RED_CASES = [c for c in load_cases() if c["expected_grade"] == "red"]


def test_the_message_set_is_large_enough():
    assert len(MESSAGES) >= 60
    assert sum(m["flag"] for m in MESSAGES) >= 50


@pytest.mark.parametrize(
    "item", [m for m in MESSAGES if m["flag"]], ids=lambda m: m["message"][:40]
)
def test_no_alarming_message_goes_unflagged(item):
    found = screen(item["message"])
    assert found, item["message"]
    assert set(item["terms"]) <= set(found), (item["message"], found)


@pytest.mark.parametrize(
    "item", [m for m in MESSAGES if not m["flag"]], ids=lambda m: m["message"][:40]
)
def test_everyday_messages_are_not_flagged(item):
    assert screen(item["message"]) == [], item["message"]


@pytest.mark.parametrize("case", RED_CASES, ids=[c["id"] for c in RED_CASES])
def test_every_red_reference_case_is_flagged_before_anyone_reads_it(case):
    assert screen(case["message"]), case["message"]


def test_case_and_unicode_form_do_not_matter():
    import unicodedata

    assert screen("FEBER") == screen("feber") == ["fever"]
    # A phone may send "å" as "a" plus a combining ring; it is the same word.
    decomposed = unicodedata.normalize("NFD", "Mange nye blåmerker")
    assert decomposed != "Mange nye blåmerker"
    assert screen(decomposed) == ["petechiae"]
