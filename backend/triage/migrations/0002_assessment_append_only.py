"""Assessments are append-only in PostgreSQL too. (The default rules are published from
`rules/` by triage.rulesets on first use, not here, so there is one way they get in.)"""

from django.db import migrations


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
        migrations.RunPython(append_only, drop_append_only),
    ]
