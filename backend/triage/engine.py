"""The triage engine: a pure function from symptom inputs and a rule set to a graded result.

The rules are data (`rules/2026.1.json`, published into `RuleSet`); nothing clinical is decided
in this file. Every amber or red symptom yields a reason naming its rule, so a person can check it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

GRADES = ("green", "amber", "red")
SEVERITY = {grade: rank for rank, grade in enumerate(GRADES)}
CONTEXT_BOOL_KEYS = {"true": True, "false": False}


class TriageInputError(ValueError):
    """Inputs the rules cannot grade. `fields` maps each bad field to a Norwegian message."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


@dataclass(frozen=True)
class Reason:
    kind: str  # "symptom", "combination" or "competence"
    code: str
    text: str
    grade: str | None = None
    field: str | None = None
    value: Any = None


@dataclass(frozen=True)
class Result:
    grade: str
    action: str
    reasons: list[Reason]
    not_assessed: list[str]
    rules_version: str
    symptom_grades: dict[str, str] = field(default_factory=dict)
    doctor_required: bool = False
    # The questions the rules want answered before a grade is shown (a red shows at once).
    missing_required: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing_required

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["reasons"] = [asdict(r) for r in self.reasons]
        return data


def input_fields(rules: Mapping[str, Any]) -> set[str]:
    return {s["field"] for s in rules["symptoms"]} | set(rules["context"]) | {"question_type"}


def _check_number(name: str, value: Any, spec: Mapping[str, Any], integer: bool) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "Må være et tall."
    if isinstance(value, float) and not math.isfinite(value):
        return "Må være et tall."
    if integer and not (isinstance(value, int) or float(value).is_integer()):
        return "Må være et helt tall."
    low, high = spec.get("min"), spec.get("max")
    if (low is not None and value < low) or (high is not None and value > high):
        return f"Må være mellom {low} og {high}."
    return None


def _check(name: str, value: Any, spec: Mapping[str, Any]) -> str | None:
    kind = spec["type"]
    if kind == "bool":
        return None if isinstance(value, bool) else "Må være true eller false."
    if kind in ("number", "int"):
        return _check_number(name, value, spec, integer=kind == "int")
    if kind == "choice":
        allowed = list(spec["values"])
        return None if value in allowed else "Må være en av: " + ", ".join(allowed) + "."
    raise ValueError(f"unknown input type {kind!r} in the rules")


def validate_inputs(inputs: Mapping[str, Any], rules: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs with nulls dropped, or TriageInputError naming every bad field."""
    if not isinstance(inputs, Mapping):
        raise TriageInputError({"non_field_errors": "Forventet et JSON-objekt."})
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    specs = {s["field"]: s for s in rules["symptoms"]} | dict(rules["context"])
    for name, value in inputs.items():
        if value is None:
            continue
        if name == "question_type":
            if value not in rules["question_types"]:
                errors[name] = "Ukjent spørsmålstype."
            else:
                clean[name] = value
            continue
        spec = specs.get(name)
        if spec is None:
            errors[name] = "Ukjent felt."
            continue
        problem = _check(name, value, spec)
        if problem:
            errors[name] = problem
        else:
            clean[name] = int(value) if spec["type"] == "int" else value
    if errors:
        raise TriageInputError(errors)
    return clean


def on_active_treatment(inputs: Mapping[str, Any], rules: Mapping[str, Any]) -> bool:
    """Said outright, or derived from the days since the last dose; else the safe default."""
    if "on_active_treatment" in inputs:
        return bool(inputs["on_active_treatment"])
    days = inputs.get("days_since_last_dose")
    spec = rules["context"].get("days_since_last_dose", {})
    if days is not None and "active_if_at_most" in spec:
        return bool(days <= spec["active_if_at_most"])
    return bool(rules["context"]["on_active_treatment"].get("default", True))


def _band(value: float, bands: list[Mapping[str, Any]]) -> Mapping[str, Any]:
    for band in bands:
        low = band.get("from", -math.inf)
        high = band.get("below", math.inf)
        if low <= value < high:
            return band
    raise ValueError(f"no band covers {value}")


def grade_symptom(
    spec: Mapping[str, Any], value: Any, context: Mapping[str, Any]
) -> Mapping[str, Any]:
    """The rule (grade, code, reason) that `value` falls under."""
    if "values" in spec:
        key = str(value).lower() if isinstance(value, bool) else value
        return spec["values"][key]
    bands = spec.get("bands")
    if bands is None:
        by = spec["by_context"]
        context_value = context[by["field"]]
        key = str(context_value).lower() if isinstance(context_value, bool) else context_value
        bands = by["cases"][key]
    return _band(value, bands)


def assess(inputs: Mapping[str, Any], rules: Mapping[str, Any]) -> Result:
    """Grade the inputs by the rules (REFERENCE.md: combination and action rules 1-4)."""
    clean = validate_inputs(inputs, rules)
    context = {"on_active_treatment": on_active_treatment(clean, rules)}
    reasons: list[Reason] = []
    grades: dict[str, str] = {}
    not_assessed: list[str] = []
    for spec in rules["symptoms"]:
        name = spec["field"]
        if name not in clean:
            not_assessed.append(name)
            continue
        rule = grade_symptom(spec, clean[name], context)
        grades[name] = rule["grade"]
        if rule["grade"] != "green":
            reasons.append(
                Reason(
                    kind="symptom",
                    code=rule["code"],
                    text=rule["reason"],
                    grade=rule["grade"],
                    field=name,
                    value=clean[name],
                )
            )

    ambers = sum(1 for g in grades.values() if g == "amber")
    combination = rules["combination"]
    if "red" in grades.values():
        grade = "red"
    elif ambers >= combination["red_when_ambers_at_least"]:
        grade = "red"
        two = combination["two_amber_reason"]
        reasons.append(
            Reason(kind="combination", code=two["code"], text=two["reason"], grade="red")
        )
    elif ambers:
        grade = "amber"
    else:
        grade = "green"

    action, doctor_required, competence = action_for(grade, clean, rules)
    if competence is not None:
        reasons.append(competence)
    return Result(
        grade=grade,
        action=action,
        reasons=reasons,
        not_assessed=not_assessed,
        rules_version=str(rules["version"]),
        symptom_grades=grades,
        doctor_required=doctor_required,
        missing_required=[f for f in rules.get("required_before_grade", []) if f not in clean],
    )


def action_for(
    grade: str, clean: Mapping[str, Any], rules: Mapping[str, Any]
) -> tuple[str, bool, Reason | None]:
    """The action for a grade, raised to a doctor's when the question is beyond a nurse's
    competence (rule 3). Returns the action, whether a doctor must answer, and why."""
    action = rules["actions"][grade]
    needed = rules["doctor_needed"]
    doctor_required = clean.get("question_type") in needed["question_types"] or any(
        clean.get(name) in values for name, values in needed["values"].items()
    )
    if not doctor_required:
        return action, False, None
    reason = Reason(
        kind="competence", code=needed["reason"]["code"], text=needed["reason"]["reason"]
    )
    if action in needed["unless"]:
        return action, True, reason
    return needed["action"], True, reason


def validate_rules(rules: Any) -> list[str]:
    """Problems with a rule set a lead wants to publish; empty when it can be used."""
    problems: list[str] = []
    if not isinstance(rules, Mapping):
        return ["Reglene må være et JSON-objekt."]
    for key in (
        "version",
        "symptoms",
        "context",
        "combination",
        "actions",
        "doctor_needed",
        "question_types",
    ):
        if key not in rules:
            problems.append(f"Mangler «{key}».")
    if problems:
        return problems
    if set(rules["actions"]) != set(GRADES):
        problems.append("«actions» må ha red, amber og green.")
    if "on_active_treatment" not in rules["context"]:
        problems.append("«context» må ha on_active_treatment.")
    for spec in rules["symptoms"]:
        name = spec.get("field", "?")
        rule_sets = []
        if "values" in spec:
            rule_sets.append(list(spec["values"].values()))
        elif "bands" in spec:
            rule_sets.append(spec["bands"])
        elif "by_context" in spec:
            rule_sets.extend(spec["by_context"]["cases"].values())
        else:
            problems.append(f"{name}: mangler values, bands eller by_context.")
        for rules_list in rule_sets:
            for rule in rules_list:
                if rule.get("grade") not in GRADES:
                    problems.append(f"{name}: ukjent grad {rule.get('grade')!r}.")
                elif rule["grade"] != "green" and not (rule.get("code") and rule.get("reason")):
                    problems.append(f"{name}: gul og rød trenger code og reason.")
    return problems
