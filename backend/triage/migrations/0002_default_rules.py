"""Publish the default rule set (REFERENCE.md, version 2026.1) from the file in the repo."""

import json
from pathlib import Path

from django.db import migrations
from django.utils import timezone

RULES_FILE = Path(__file__).resolve().parents[1] / "rules" / "2026.1.json"


def publish_default(apps, schema_editor):
    RuleSet = apps.get_model("triage", "RuleSet")
    data = json.loads(RULES_FILE.read_text(encoding="utf-8"))
    if RuleSet.objects.filter(version=data["version"]).exists():
        return
    active = not RuleSet.objects.filter(active=True).exists()
    RuleSet.objects.create(
        version=data["version"], data=data, active=active, published_at=timezone.now()
    )


def append_only(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE TRIGGER triage_assessment_append_only BEFORE UPDATE OR DELETE ON "
        "triage_assessment FOR EACH ROW EXECUTE FUNCTION kontaktpunkt_append_only()"
    )


def drop_append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "DROP TRIGGER IF EXISTS triage_assessment_append_only ON triage_assessment"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("triage", "0001_initial"),
        ("core", "0003_append_only_triggers"),
    ]

    operations = [
        migrations.RunPython(publish_default, migrations.RunPython.noop),
        migrations.RunPython(append_only, drop_append_only),
    ]
