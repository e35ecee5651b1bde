"""Properties that must hold for any inputs, not only the worked cases (hypothesis)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.triage.conftest import load_rules
from triage.engine import SEVERITY, assess

RULES = load_rules()
SPECS = {s["field"]: s for s in RULES["symptoms"]}


def values_for(spec):
    if spec["type"] == "bool":
        return st.booleans()
    if spec["type"] == "choice":
        return st.sampled_from(list(spec["values"]))
    if spec["type"] == "int":
        return st.integers(min_value=spec["min"], max_value=spec["max"])
    return st.floats(min_value=spec["min"], max_value=spec["max"], allow_nan=False)


inputs_strategy = st.fixed_dictionaries(
    {},
    optional={
        **{name: values_for(spec) for name, spec in SPECS.items()},
        "on_active_treatment": st.booleans(),
        "question_type": st.sampled_from(list(RULES["question_types"])),
    },
)


def more_severe_options(spec, value, context):
    """Values of the same input whose own grade is at least as severe as `value`'s."""
    from triage.engine import grade_symptom

    here = SEVERITY[grade_symptom(spec, value, context)["grade"]]
    if spec["type"] in ("bool", "choice"):
        keys = [True, False] if spec["type"] == "bool" else list(spec["values"])
        return [k for k in keys if SEVERITY[grade_symptom(spec, k, context)["grade"]] >= here]
    return []


@settings(max_examples=300, deadline=None)
@given(inputs=inputs_strategy, data=st.data())
def test_making_one_symptom_worse_never_lowers_the_grade(inputs, data):
    from triage.engine import on_active_treatment

    before = assess(inputs, RULES)
    context = {"on_active_treatment": on_active_treatment(inputs, RULES)}
    name = data.draw(st.sampled_from(sorted(SPECS)))
    spec = SPECS[name]
    if name in inputs and spec["type"] in ("bool", "choice"):
        worse = data.draw(st.sampled_from(more_severe_options(spec, inputs[name], context)))
    elif spec["type"] in ("bool", "choice"):
        worse = data.draw(values_for(spec))  # asking about a symptom never makes it better
    else:
        # Counts and scores grow worse upwards; temperature is worse away from the green band.
        current = inputs.get(name, spec["min"] if spec["type"] == "int" else 37.0)
        if spec["type"] == "int":
            worse = data.draw(st.integers(min_value=current, max_value=spec["max"]))
        elif current >= 37.0:
            worse = data.draw(st.floats(min_value=current, max_value=spec["max"]))
        else:
            worse = data.draw(st.floats(min_value=spec["min"], max_value=current))
    after = assess({**inputs, name: worse}, RULES)
    assert SEVERITY[after.grade] >= SEVERITY[before.grade], (name, inputs.get(name), worse)


@settings(max_examples=300, deadline=None)
@given(inputs=inputs_strategy)
def test_two_ambers_never_give_less_than_red(inputs):
    result = assess(inputs, RULES)
    ambers = sum(1 for g in result.symptom_grades.values() if g == "amber")
    if ambers >= 2:
        assert result.grade == "red"
    if "red" in result.symptom_grades.values():
        assert result.grade == "red"
        assert result.action == "escalate_now"


@settings(max_examples=200, deadline=None)
@given(inputs=inputs_strategy, seed=st.randoms())
def test_the_order_of_inputs_does_not_matter(inputs, seed):
    items = list(inputs.items())
    seed.shuffle(items)
    assert assess(dict(items), RULES).as_dict() == assess(inputs, RULES).as_dict()


@settings(max_examples=200, deadline=None)
@given(inputs=inputs_strategy)
def test_every_amber_or_red_symptom_has_exactly_one_reason(inputs):
    result = assess(inputs, RULES)
    flagged = {f for f, g in result.symptom_grades.items() if g != "green"}
    assert [r.field for r in result.reasons if r.kind == "symptom"] == [
        s["field"] for s in RULES["symptoms"] if s["field"] in flagged
    ]
