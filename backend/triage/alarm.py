"""The alarm-word screen: flags an inbound text as a possible emergency before anyone reads it.

The words and patterns are data (`rules/alarm_words.json`): bokmål, nynorsk, English and common
misspellings side by side. A space in a pattern stands for a small word window: up to `window`
filler words ("så", "veldig", "litt", "helt" ...) may stand between the words, so "puster så
tungt" is caught by "puster tungt". The temperature that raises the flag comes from the active
triage rule set, so the screen and the triage cannot disagree about what a fever is.

The flag never replaces an assessment. It errs on the side of flagging: a false alarm costs a
look, a missed one a child. Negation ("ikke feber") is not handled, on purpose.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

RULES_DIR = Path(__file__).resolve().parent / "rules"
TEMPERATURE_FIELD = "temperature_c"


@dataclass(frozen=True)
class TemperatureAlarm:
    """A measured temperature is alarming at or above `at_or_above`, or below `below`."""

    at_or_above: float
    below: float


def load_words() -> dict[str, Any]:
    return dict(json.loads((RULES_DIR / "alarm_words.json").read_text(encoding="utf-8")))


def word_gap(fillers: list[str], window: int) -> str:
    """The regex a space in a pattern becomes: whitespace, with up to `window` fillers."""
    words = "|".join(re.escape(f) for f in sorted(fillers, key=len, reverse=True))
    return rf"(?:\s+(?:(?:{words})\s+){{0,{window}}})"


def prepare() -> None:
    """Compile the patterns now (about 60 ms), not when the first text comes (core.startup)."""
    _compiled()


@cache
def _compiled() -> tuple[list[tuple[str, re.Pattern[str]]], dict[str, Any]]:
    data = load_words()
    gap = word_gap(data.get("fillers", []), int(data.get("window", 0)))
    terms = [
        (
            term["key"],
            re.compile("|".join(f"(?:{p.replace(' ', gap)})" for p in term["patterns"])),
        )
        for term in data["terms"]
        if term["patterns"]
    ]
    temperature = dict(data["temperature"])
    temperature["decimal"] = re.compile(temperature["decimal_pattern"])
    temperature["degrees"] = re.compile(temperature["degrees_pattern"])
    return terms, temperature


def temperature_alarm(rules: Mapping[str, Any]) -> TemperatureAlarm:
    """From a triage rule set: the lowest temperature that grades anything but green, and the
    highest one below which it does (the low, possibly septic, side)."""
    at_or_above, below = math.inf, -math.inf
    for symptom in rules.get("symptoms", []):
        if symptom.get("field") != TEMPERATURE_FIELD:
            continue
        if "bands" in symptom:
            band_lists = [symptom["bands"]]
        else:
            band_lists = list(symptom.get("by_context", {}).get("cases", {}).values())
        for bands in band_lists:
            for band in bands:
                if band.get("grade") == "green":
                    continue
                if "from" in band:
                    at_or_above = min(at_or_above, float(band["from"]))
                elif "below" in band:
                    below = max(below, float(band["below"]))
    return TemperatureAlarm(at_or_above=at_or_above, below=below)


def _alarming_temperature(text: str, rules: dict[str, Any], alarm: TemperatureAlarm) -> bool:
    values = [float(f"{m.group(1)}.{m.group(2)}") for m in rules["decimal"].finditer(text)]
    values += [float(m.group(1)) for m in rules["degrees"].finditer(text)]
    return any(
        rules["plausible_min"] <= v <= rules["plausible_max"]
        and (v >= alarm.at_or_above or v < alarm.below)
        for v in values
    )


def screen(text: str, temperature: TemperatureAlarm) -> list[str]:
    """The alarm terms found in `text`, in the order the rules list them."""
    normalised = unicodedata.normalize("NFC", text or "").lower()
    terms, temperature_rules = _compiled()
    found = [key for key, pattern in terms if pattern.search(normalised)]
    if _alarming_temperature(normalised, temperature_rules, temperature):
        found.append("temperature_value")
    return found


def screen_with_active_rules(text: str) -> list[str]:
    """`screen` with the temperature thresholds of the rule set in force."""
    return screen_all_with_active_rules([text])[0]


def screen_all_with_active_rules(texts: list[str]) -> list[list[str]]:
    """`screen_with_active_rules` for many texts, asking once which rule set is in force (its
    rules are read only when a new version comes into force)."""
    from .rulesets import active_ruleset, active_version

    version = active_version()
    alarm = _ALARM_CACHE.get(version) if version is not None else None
    if alarm is None:
        ruleset = active_ruleset()
        alarm = _alarm_for(ruleset.pk, ruleset.version, ruleset.data)
    return [screen(text, alarm) for text in texts]


_ALARM_CACHE: dict[tuple[int, str], TemperatureAlarm] = {}


def _alarm_for(pk: int, version: str, data: Mapping[str, Any]) -> TemperatureAlarm:
    key = (pk, version)
    if key not in _ALARM_CACHE:
        _ALARM_CACHE[key] = temperature_alarm(data)
    return _ALARM_CACHE[key]
