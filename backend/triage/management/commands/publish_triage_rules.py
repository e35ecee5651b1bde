"""Publish a triage rule set from a JSON file (default: the repo's 2026.1).

    python manage.py publish_triage_rules [path/to/rules.json]

A version already in the database is left as it is, so running it again changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.exceptions import InvalidInput
from triage.models import RuleSet
from triage.rulesets import DEFAULT_RULES_FILE, publish_ruleset


class Command(BaseCommand):
    help = "Publiser triageregler fra en JSON-fil."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path", nargs="?", default=str(DEFAULT_RULES_FILE))

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            data = json.loads(Path(options["path"]).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"Kan ikke lese {options['path']}: {exc}") from None
        version = str(data.get("version", "")) if isinstance(data, dict) else ""
        if version and RuleSet.objects.filter(version=version).exists():
            self.stdout.write(f"Versjon {version} finnes allerede; ingenting endret.")
            return
        try:
            ruleset = publish_ruleset(data=data, by=None)
        except InvalidInput as exc:
            raise CommandError(f"{exc.message} {exc.fields}") from None
        self.stdout.write(f"Publiserte triageregler {ruleset.version}.")
