"""Triage of an inquiry: assess, store, and let the grade drive the queue and the deadline."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from core import access
from core.access import Action
from core.exceptions import InvalidInput, InvalidTransition
from henvendelser.events import INQUIRY_UPDATED
from henvendelser.models import EntryKind, Status
from henvendelser.services._common import (
    add_entry,
    audit_inquiry,
    lock_inquiry,
    now_or,
    touch_and_publish,
)

from . import engine
from .deadlines import deadline_for
from .models import Assessment
from .rulesets import active_ruleset


def run_rules(inputs: Any) -> tuple[engine.Result, dict[str, Any]]:
    """The active rules applied to `inputs`; bad inputs become a 400 naming each field."""
    ruleset = active_ruleset()
    try:
        return engine.assess(inputs, ruleset.data), ruleset.data
    except engine.TriageInputError as exc:
        raise InvalidInput(_("Noen triagefelt er ugyldige."), fields=exc.fields) from None


@transaction.atomic
def assess_inquiry(
    *,
    inquiry_id: int,
    by: Any,
    inputs: dict[str, Any],
    override_grade: str | None = None,
    override_reason: str = "",
    now: dt.datetime | None = None,
) -> Assessment:
    """Triage an inquiry by the active rules. The assessor may raise the grade freely; lowering
    it needs a written reason. The grade that stands sets the queue order and the deadline, and
    clears the alarm flag (someone has now looked)."""
    now = now_or(now)
    inquiry = lock_inquiry(inquiry_id)
    access.require(by, Action.ASSESS, inquiry.section_id)
    if inquiry.status == Status.CLOSED:
        raise InvalidTransition(_("Henvendelsen er lukket."), fields={"status": inquiry.status})
    result, rules = run_rules(inputs)
    grade, action = result.grade, result.action
    override_reason = override_reason.strip()
    if override_grade and override_grade != result.grade:
        lowering = engine.SEVERITY[override_grade] < engine.SEVERITY[result.grade]
        if lowering and not override_reason:
            raise InvalidInput(
                _("Skriv hvorfor du setter lavere grad enn reglene gir."),
                fields={"override_reason": [_("Påkrevd når graden senkes.")]},
            )
        grade = override_grade
        action, _required, _why = engine.action_for(
            grade, engine.validate_inputs(inputs, rules), rules
        )
    reasons = result.as_dict()["reasons"]
    assessment = Assessment.objects.create(
        inquiry=inquiry,
        rules_version=result.rules_version,
        inputs=inputs,
        computed_grade=result.grade,
        grade=grade,
        action=action,
        reasons=reasons,
        not_assessed=result.not_assessed,
        override_reason=override_reason,
        assessed_by=by,
        assessed_at=now,
    )
    inquiry.grade = grade
    inquiry.alarm = False
    inquiry.deadline_at = deadline_for(grade=grade, at=now, section=inquiry.section)
    add_entry(
        inquiry=inquiry,
        kind=EntryKind.ASSESSMENT,
        at=now,
        author=by,
        text=override_reason,
        data={
            "assessment": assessment.pk,
            "grade": grade,
            "computed_grade": result.grade,
            "action": action,
            "rules_version": result.rules_version,
            "reasons": reasons,
        },
    )
    audit_inquiry(
        user=by,
        action="inquiry.assess",
        inquiry=inquiry,
        grade=grade,
        computed_grade=result.grade,
        overridden=grade != result.grade,
    )
    touch_and_publish(inquiry=inquiry, event_type=INQUIRY_UPDATED, now=now)
    return assessment
