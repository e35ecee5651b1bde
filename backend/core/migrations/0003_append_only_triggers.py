"""On PostgreSQL the database itself refuses UPDATE and DELETE on the audit log and on inquiry
timelines, so not even a raw query or a future bug can rewrite history. (The models refuse too,
on every database.) TRUNCATE, which test set-up uses to reset, is not affected."""

from django.db import migrations

TABLES = ("core_auditevent", "henvendelser_timelineentry")

CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION kontaktpunkt_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = TG_TABLE_NAME || ' is append-only',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE_FUNCTION)
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION kontaktpunkt_append_only()"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS kontaktpunkt_append_only()")


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_role_groups"),
        ("henvendelser", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
