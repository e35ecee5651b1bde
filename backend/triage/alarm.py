"""The alarm-word screen: flags an inbound text as a possible emergency before anyone reads it.

The words and patterns are data (`rules/alarm_words.json`); the flag never replaces an
assessment. It errs on the side of flagging: a false alarm costs a look, a missed one a child.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import cache
from pathlib import Path
from typing import Any

RULES_DIR = Path(__file__).resolve().parent / "rules"


@cache
def _compiled() -> tuple[list[tuple[str, re.Pattern[str]]], dict[str, Any]]:
    data = json.loads((RULES_DIR / "alarm_words.json").read_text(encoding="utf-8"))
    terms = [
        (term["key"], re.compile("|".join(f"(?:{p})" for p in term["patterns"])))
        for term in data["terms"]
        if term["patterns"]
    ]
    temperature = dict(data["temperature"])
    temperature["decimal"] = re.compile(temperature["decimal_pattern"])
    temperature["degrees"] = re.compile(temperature["degrees_pattern"])
    return terms, temperature


def _alarming_temperature(text: str, rules: dict[str, Any]) -> bool:
    values = [float(f"{m.group(1)}.{m.group(2)}") for m in rules["decimal"].finditer(text)]
    values += [float(m.group(1)) for m in rules["degrees"].finditer(text)]
    return any(
        rules["plausible_min"] <= v <= rules["plausible_max"]
        and (v >= rules["alarm_at_or_above"] or v < rules["alarm_below"])
        for v in values
    )


def screen(text: str) -> list[str]:
    """The alarm terms found in `text`, in the order the rules list them."""
    normalised = unicodedata.normalize("NFC", text or "").lower()
    terms, temperature = _compiled()
    found = [key for key, pattern in terms if pattern.search(normalised)]
    if _alarming_temperature(normalised, temperature):
        found.append("temperature_value")
    return found
