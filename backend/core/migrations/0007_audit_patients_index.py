"""The lead's "who has seen this patient" (`audit.naming_patient`: `patient_id = X` or
`patients LIKE '%,X,%'`) without reading the whole log: on PostgreSQL a trigram index on
`patients` (pg_trgm, a trusted extension since PostgreSQL 13, so the database's owner may
create it), built CONCURRENTLY so that a large log keeps taking records while it is built.
SQLite (the demo) has no such index and needs none."""

from django.db import migrations

INDEX = "core_auditevent_patients_trgm"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} "
        "ON core_auditevent USING gin (patients gin_trgm_ops)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("core", "0006_audit_patients_list"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
