"""Which rules are in force, and publishing a new version."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import audit
from core.exceptions import InvalidInput

from .engine import validate_rules
from .models import RuleSet


def active_ruleset() -> RuleSet:
    ruleset = RuleSet.objects.filter(active=True).first()
    if ruleset is None:
        raise RuntimeError("No active triage rule set; run the migrations")
    return ruleset


@transaction.atomic
def publish_ruleset(*, data: Any, by: Any) -> RuleSet:
    """A lead publishes a new version; it replaces the active one. Old versions stay."""
    problems = validate_rules(data)
    if problems:
        raise InvalidInput(_("Reglene kan ikke brukes."), fields={"data": problems})
    version = str(data["version"])
    RuleSet.objects.select_for_update().filter(active=True).update(active=False)
    try:
        with transaction.atomic():
            ruleset = RuleSet.objects.create(
                version=version,
                data=data,
                active=True,
                published_at=timezone.now(),
                published_by=by,
            )
    except IntegrityError:
        raise InvalidInput(
            _("Versjonen %(version)s finnes allerede.") % {"version": version},
            fields={"data": [_("Ny versjon må ha et nytt versjonsnummer.")]},
        ) from None
    audit.record(user=by, action="triage.rules_publish", obj=ruleset, detail={"version": version})
    return ruleset
