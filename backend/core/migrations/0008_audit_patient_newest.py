"""A patient's audit records newest first without sorting them all: the index on `patient_id`
becomes one on (`patient_id`, `at`, `id`), which also serves every lookup the old one did
(`core.audit.PatientRecords`, docs/benchmarks.md). On PostgreSQL built CONCURRENTLY before the
old one is dropped, so that a large log keeps taking records meanwhile (every service writes
one)."""

from django.db import migrations, models

NEW = "core_audit_patient_newest"
OLD = "core_auditevent_patient_id_8ca2b662"  # Django's name for the field's db_index


def create(apps, schema_editor):
    concurrently = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(
        f"CREATE INDEX{concurrently} IF NOT EXISTS {NEW} "
        "ON core_auditevent (patient_id, at, id)"
    )
    schema_editor.execute(f"DROP INDEX{concurrently} IF EXISTS {OLD}")


def drop(apps, schema_editor):
    concurrently = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(
        f"CREATE INDEX{concurrently} IF NOT EXISTS {OLD} ON core_auditevent (patient_id)"
    )
    schema_editor.execute(f"DROP INDEX{concurrently} IF EXISTS {NEW}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("core", "0007_audit_patients_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="auditevent",
                    name="patient_id",
                    field=models.BigIntegerField(null=True),
                ),
                migrations.AddIndex(
                    model_name="auditevent",
                    index=models.Index(fields=["patient_id", "at", "id"], name=NEW),
                ),
            ],
            database_operations=[migrations.RunPython(create, drop, elidable=False)],
        ),
    ]
