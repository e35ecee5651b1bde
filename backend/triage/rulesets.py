"""Which rules are in force, and publishing a new version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core import audit, sql
from core.exceptions import InvalidInput

from .engine import validate_rules
from .models import RuleSet

DEFAULT_RULES_FILE = Path(__file__).resolve().parent / "rules" / "2026.1.json"


def active_ruleset() -> RuleSet:
    """The rules in force. A database with none gets the default set (REFERENCE.md, 2026.1)."""
    ruleset = RuleSet.objects.filter(active=True).first()
    return ruleset if ruleset is not None else _publish_default()


def active_version() -> tuple[int, str] | None:
    """The rule set in force as (id, version), without reading its rules: enough for what is
    worked out from them once per version (the alarm screen, on every text). A prepared read
    (core.sql). None if there is none yet."""
    rows = sql.prepared("triage.active_version", _active_version_query)
    return (rows[0].pk, rows[0].version) if rows else None


def _active_version_query() -> QuerySet[RuleSet]:
    return RuleSet.objects.filter(active=True).only("pk", "version").order_by("pk")[:1]


def _publish_default() -> RuleSet:
    data = json.loads(DEFAULT_RULES_FILE.read_text(encoding="utf-8"))
    try:
        with transaction.atomic():
            return RuleSet.objects.create(
                version=data["version"], data=data, active=True, published_at=timezone.now()
            )
    except IntegrityError:  # another process published it first
        return RuleSet.objects.get(active=True)


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
