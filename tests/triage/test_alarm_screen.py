"""The alarm-word screen against a set of short messages, and against the shared red cases."""

import json
from pathlib import Path

import pytest

from tests.triage.conftest import load_cases
from triage.alarm import load_words, screen, temperature_alarm
from triage.rulesets import DEFAULT_RULES_FILE

# The thresholds of the rule set this section starts with (REFERENCE.md: 37.5 and 36.0).
ALARM = temperature_alarm(json.loads(DEFAULT_RULES_FILE.read_text(encoding="utf-8")))
MESSAGES = json.loads((Path(__file__).parent / "alarm_messages.json").read_text())
RED_CASES = [c for c in load_cases() if c["expected_grade"] == "red"]


def test_the_message_set_is_large_enough():
    assert len(MESSAGES) >= 60
    assert sum(m["flag"] for m in MESSAGES) >= 50


@pytest.mark.parametrize(
    "item", [m for m in MESSAGES if m["flag"]], ids=lambda m: m["message"][:40]
)
def test_no_alarming_message_goes_unflagged(item):
    found = screen(item["message"], ALARM)
    assert found, item["message"]
    assert set(item["terms"]) <= set(found), (item["message"], found)


@pytest.mark.parametrize(
    "item", [m for m in MESSAGES if not m["flag"]], ids=lambda m: m["message"][:40]
)
def test_everyday_messages_are_not_flagged(item):
    assert screen(item["message"], ALARM) == [], item["message"]


@pytest.mark.parametrize("case", RED_CASES, ids=[c["id"] for c in RED_CASES])
def test_every_red_reference_case_is_flagged_before_anyone_reads_it(case):
    assert screen(case["message"], ALARM), case["message"]


def test_case_and_unicode_form_do_not_matter():
    import unicodedata

    assert screen("FEBER", ALARM) == screen("feber", ALARM) == ["fever"]
    # A phone may send "å" as "a" plus a combining ring; it is the same word.
    decomposed = unicodedata.normalize("NFD", "Mange nye blåmerker")
    assert decomposed != "Mange nye blåmerker"
    assert screen(decomposed, ALARM) == ["petechiae"]


FAMILIES = json.loads((Path(__file__).parent / "alarm_families.json").read_text())
VARIETIES = ("nb", "nn", "en", "misspelt", "window")
FAMILY_TEXTS = [
    (key, variety, text)
    for key, examples in FAMILIES["families"].items()
    for variety in VARIETIES
    for text in examples.get(variety, [])
]


def test_every_family_of_alarm_words_has_a_text_in_every_variety():
    """A family added to the data without texts to prove it fails here."""
    keys = [t["key"] for t in load_words()["terms"] if t["patterns"]]
    assert sorted(FAMILIES["families"]) == sorted(keys)
    for key, examples in FAMILIES["families"].items():
        missing = [v for v in VARIETIES if not examples.get(v)]
        assert not missing, (key, missing)


@pytest.mark.parametrize(
    ("family", "variety", "text"),
    FAMILY_TEXTS,
    ids=[f"{k}-{v}-{t[:24]}" for k, v, t in FAMILY_TEXTS],
)
def test_each_family_is_caught_in_bokmal_nynorsk_english_misspelt_and_with_fillers(
    family, variety, text
):
    assert family in screen(text, ALARM), (variety, text, screen(text, ALARM))


EVERYDAY = [(v, t) for v, texts in FAMILIES["everyday"].items() for t in texts]


@pytest.mark.parametrize(("variety", "text"), EVERYDAY, ids=[t[:30] for _, t in EVERYDAY])
def test_everyday_texts_in_each_language_stay_unflagged(variety, text):
    assert screen(text, ALARM) == [], (variety, text)


def test_fillers_are_a_small_window_not_any_distance():
    assert "breathing" in screen("Han puster så veldig tungt", ALARM)
    assert "breathing" not in screen("Han puster så veldig litt tungt", ALARM)
    # Only the listed fillers: an arbitrary word between the words is not a match.
    assert "breathing" not in screen("Han puster rolig, tungt var det ikke", ALARM)


def test_the_temperature_flag_follows_the_rule_set():
    stricter = temperature_alarm(
        {
            "symptoms": [
                {
                    "field": "temperature_c",
                    "bands": [
                        {"below": 35.5, "grade": "red"},
                        {"from": 35.5, "below": 38.5, "grade": "green"},
                        {"from": 38.5, "grade": "red"},
                    ],
                }
            ]
        }
    )
    assert (stricter.at_or_above, stricter.below) == (38.5, 35.5)
    assert "temperature_value" in screen("Hun har 37,8", ALARM)
    assert "temperature_value" not in screen("Hun har 37,8", stricter)
    assert "temperature_value" in screen("Hun har 38,6", stricter)
    assert "temperature_value" in screen("Hun har 35,7", ALARM)
    assert "temperature_value" not in screen("Hun har 35,7", stricter)
