import pytest

from core.exceptions import InvalidInput
from maler.rendering import check_declaration, placeholders, render, render_or_raise


def test_declared_variables_are_substituted():
    rendered = render(
        "Time {dato} kl. {klokkeslett}.",
        ["dato", "klokkeslett"],
        {"dato": "3. mars", "klokkeslett": "10:30"},
    )
    assert rendered.text == "Time 3. mars kl. 10:30."
    assert rendered.complete


def test_missing_and_unknown_variables_are_reported_not_guessed():
    rendered = render(
        "Time {dato} kl. {klokkeslett}.", ["dato", "klokkeslett"], {"dato": "3. mars", "rom": "12"}
    )
    assert rendered.missing == ["klokkeslett"]
    assert rendered.unknown == ["rom"]
    assert rendered.text == "Time 3. mars kl. {klokkeslett}."
    with pytest.raises(InvalidInput) as refused:
        render_or_raise("Time {dato} kl. {klokkeslett}.", ["dato", "klokkeslett"], {"dato": "x"})
    assert refused.value.fields["missing"] == ["klokkeslett"]


def test_a_blank_value_counts_as_missing():
    assert render("Hei {navn}", ["navn"], {"navn": "   "}).missing == ["navn"]


def test_a_value_is_written_as_it_is_never_substituted_again():
    rendered = render("A {a} B {b}", ["a", "b"], {"a": "{b}", "b": "x"})
    assert rendered.text == "A {b} B x"


def test_a_value_cannot_add_lines_to_the_sms():
    assert render("Hei {navn}!", ["navn"], {"navn": "Ola\n\nNordmann"}).text == "Hei Ola Nordmann!"


@pytest.mark.parametrize(
    "body",
    [
        "Hei {navn.__class__}",
        "Hei {{navn}}",
        "Hei {navn",
        "Hei navn}",
        "Hei {Navn}",
        "Hei {navn|upper}",
        "{% if x %}ja{% endif %}",
        "Hei {0}",
    ],
)
def test_anything_but_a_plain_placeholder_is_refused_when_published(body):
    with pytest.raises(InvalidInput):
        placeholders(body)


def test_declaration_must_match_the_body():
    assert check_declaration("Hei {a} og {b}", ["b", "a"]) == ["b", "a"]
    with pytest.raises(InvalidInput) as refused:
        check_declaration("Hei {a} og {c}", ["a", "b"])
    assert refused.value.fields == {"undeclared": ["c"], "unused": ["b"]}
