"""Rendering a template version: plain substitution of declared `{name}` placeholders, nothing
else. There is no logic, no filters and no attribute access, so a template edited by a lead can
never reach into the program. The text is scanned once, so a value that itself contains
`{something}` is written as it is and never substituted again."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from core.exceptions import InvalidInput

NAME = r"[a-z][a-z0-9_]{0,39}"
PLACEHOLDER = re.compile(r"\{(" + NAME + r")\}")
VARIABLE_NAME = re.compile(NAME + r"\Z")
MAX_VALUE_CHARS = 500


class TemplateSyntaxError(InvalidInput):
    code = "template_invalid"


class MissingVariables(InvalidInput):
    code = "template_variables_invalid"


def placeholders(body: str) -> list[str]:
    """The names a body uses, in order of first use. Raises on a brace that is not part of a
    well-formed placeholder, so a typo like `{Navn}` or `{navn` cannot go out to a family."""
    stray = PLACEHOLDER.sub("", body)
    if "{" in stray or "}" in stray:
        raise TemplateSyntaxError(
            _("Teksten har en klammeparentes som ikke er en gyldig {variabel}."),
            fields={"body": ["invalid_placeholder"]},
        )
    seen: dict[str, None] = {}
    for match in PLACEHOLDER.finditer(body):
        seen.setdefault(match.group(1), None)
    return list(seen)


def check_declaration(body: str, variables: Iterable[str]) -> list[str]:
    """The declared variables, checked against the body: every placeholder declared, every
    declared name used, names well-formed."""
    declared = list(dict.fromkeys(variables))
    bad = [name for name in declared if not VARIABLE_NAME.match(name)]
    if bad:
        raise TemplateSyntaxError(
            _("Ugyldig variabelnavn: %(names)s.") % {"names": ", ".join(bad)},
            fields={"variables": bad},
        )
    used = placeholders(body)
    undeclared = [name for name in used if name not in declared]
    unused = [name for name in declared if name not in used]
    if undeclared or unused:
        raise TemplateSyntaxError(
            _("Variablene i teksten og de oppgitte variablene stemmer ikke overens."),
            fields={"undeclared": undeclared, "unused": unused},
        )
    return declared


@dataclass(frozen=True)
class Rendered:
    text: str
    missing: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing and not self.unknown


def render(body: str, declared: Iterable[str], values: Mapping[str, object]) -> Rendered:
    """Substitute `values` into `body`. A declared variable with no (or a blank) value is
    `missing` and stays as `{name}` in the text; a value for a name not declared is `unknown`."""
    declared = list(declared)
    clean = {str(key): _clean(value) for key, value in values.items()}
    missing = [name for name in declared if not clean.get(name)]
    unknown = sorted(name for name in clean if name not in declared)

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        return clean.get(name) or match.group(0)

    return Rendered(text=PLACEHOLDER.sub(substitute, body), missing=missing, unknown=unknown)


def render_or_raise(body: str, declared: Iterable[str], values: Mapping[str, object]) -> str:
    rendered = render(body, declared, values)
    if not rendered.complete:
        raise MissingVariables(
            _("Fyll inn alle variablene i malen, og bare dem."),
            fields={"missing": rendered.missing, "unknown": rendered.unknown},
        )
    return rendered.text


def _clean(value: object) -> str:
    if value is None:
        return ""
    text = " ".join(str(value).split())  # one line: no newlines smuggled into an SMS
    if len(text) > MAX_VALUE_CHARS:
        raise InvalidInput(_("En variabel er for lang."), fields={"variables": ["value_too_long"]})
    return text
