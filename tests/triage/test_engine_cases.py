"""Every worked case of shared/triage/cases.json, and every threshold of REFERENCE.md."""

import json

import pytest

from tests.triage.conftest import load_cases, load_rules
from triage.engine import TriageInputError, assess, validate_rules

CASES = load_cases()
RULES = load_rules()


def test_the_shared_cases_are_all_here():
    assert len(CASES) >= 38


def test_the_copy_of_the_cases_is_current():
    from tests.triage.conftest import CASES_FILE, SHARED_CASES_FILE

    if not SHARED_CASES_FILE.exists():
        pytest.skip("shared/ is not beside this checkout")
    assert json.loads(SHARED_CASES_FILE.read_text()) == json.loads(CASES_FILE.read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_reference_case(case):
    result = assess(case["inputs"], RULES)
    assert (result.grade, result.action) == (case["expected_grade"], case["expected_action"]), case[
        "message"
    ]


def test_the_default_rules_are_valid_and_versioned():
    assert validate_rules(RULES) == []
    assert RULES["version"] == "2026.1"


def test_the_childrens_adaptation_is_marked_in_the_rule_data():
    fluid = next(s for s in RULES["symptoms"] if s["field"] == "fluid_intake")
    assert "12 timer" in fluid["adaptation"]


def grade_of(**inputs):
    return assess(inputs, RULES).grade


@pytest.mark.parametrize(
    ("temperature", "grade"),
    [
        (35.99, "red"),
        (36.0, "green"),
        (37.4, "green"),
        (37.49, "green"),
        (37.5, "amber"),
        (37.95, "amber"),
        (37.99, "amber"),
        (38.0, "red"),
        (38.01, "red"),
        (41.0, "red"),
    ],
)
def test_temperature_thresholds_on_treatment(temperature, grade):
    assert grade_of(temperature_c=temperature) == grade


@pytest.mark.parametrize(
    ("temperature", "grade"),
    [(35.99, "red"), (36.0, "green"), (37.99, "green"), (38.0, "amber"), (39.5, "amber")],
)
def test_temperature_thresholds_off_treatment(temperature, grade):
    assert grade_of(temperature_c=temperature, on_active_treatment=False) == grade


@pytest.mark.parametrize(
    ("days", "grade"), [(0, "red"), (42, "red"), (43, "amber"), (400, "amber")]
)
def test_days_since_last_dose_decide_active_treatment_when_not_said(days, grade):
    assert grade_of(temperature_c=38.2, days_since_last_dose=days) == grade


@pytest.mark.parametrize(
    ("field", "cases"),
    [
        (
            "vomiting_episodes_24h",
            [(0, "green"), (2, "green"), (3, "amber"), (5, "amber"), (6, "red"), (20, "red")],
        ),
        (
            "diarrhoea_stools_above_normal_24h",
            [(3, "green"), (4, "amber"), (6, "amber"), (7, "red")],
        ),
        (
            "pain_score",
            [(0, "green"), (3, "green"), (4, "amber"), (6, "amber"), (7, "red"), (10, "red")],
        ),
    ],
)
def test_count_and_score_thresholds_are_inclusive_as_written(field, cases):
    for value, grade in cases:
        assert grade_of(**{field: value}) == grade, (field, value)


def test_two_ambers_make_red_with_the_reason_given():
    result = assess({"pain_score": 4, "rash": "new"}, RULES)
    assert result.grade == "red"
    assert [r.code for r in result.reasons] == [
        "pain.amber",
        "rash.amber.new",
        "combination.red.two_or_more_amber",
    ]


def test_every_amber_or_red_symptom_gives_a_reason_with_rule_and_value():
    result = assess({"temperature_c": 38.5, "bleeding": "stopped", "pain_score": 2}, RULES)
    symptom_reasons = [r for r in result.reasons if r.kind == "symptom"]
    assert [(r.field, r.value, r.grade, r.code) for r in symptom_reasons] == [
        ("temperature_c", 38.5, "red", "temperature.red.fever_on_treatment"),
        ("bleeding", "stopped", "amber", "bleeding.amber.stopped"),
    ]
    assert all(r.text for r in symptom_reasons)


def test_what_was_not_asked_is_reported():
    result = assess({"temperature_c": 37.0}, RULES)
    assert "temperature_c" not in result.not_assessed
    assert {"breathing", "bleeding", "pain_score"} <= set(result.not_assessed)
    empty = assess({}, RULES)
    assert empty.grade == "green"
    assert len(empty.not_assessed) == len(RULES["symptoms"])


def test_a_doctor_question_on_a_red_child_stays_escalate_now():
    result = assess({"temperature_c": 38.1, "question_type": "new_prescription"}, RULES)
    assert (result.grade, result.action, result.doctor_required) == ("red", "escalate_now", True)


@pytest.mark.parametrize(
    "question_type", ["medication_dose", "new_prescription", "abnormal_result", "treatment_change"]
)
def test_questions_beyond_a_nurses_competence_go_to_a_doctor(question_type):
    result = assess({"question_type": question_type, "pain_score": 1}, RULES)
    assert result.action == "doctor_non_urgent"
    assert result.reasons[-1].code == "competence.doctor_required"


@pytest.mark.parametrize(
    "inputs",
    [
        {"temperature_c": "38,5"},
        {"temperature_c": True},
        {"temperature_c": 60},
        {"vomiting_episodes_24h": -1},
        {"vomiting_episodes_24h": 2.5},
        {"breathing": "awful"},
        {"question_type": "gossip"},
        {"heart_rate": 120},
        {"appears_unwell": "yes"},
    ],
)
def test_inputs_the_rules_cannot_grade_are_refused_by_name(inputs):
    with pytest.raises(TriageInputError) as refused:
        assess(inputs, RULES)
    assert set(refused.value.fields) == set(inputs)
