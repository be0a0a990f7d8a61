"""The log's index on patient alone goes: disclosure_patient_at (patient, -at) leads with
the same column, for the patient's list and for the checks of the foreign key. Dropped
by name (found by introspection) rather than by AlterField, which on SQLite would remake
the table and lose its append-only triggers (consent 0002)."""

from django.conf import settings
from django.db import migrations, models

TABLE = "consent_disclosurelog"
COLUMN = "patient_id"
NAME = "consent_disclosurelog_patient_id_66899b6c"


def _single_column_indexes(schema_editor) -> list[str]:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    return [
        name
        for name, info in constraints.items()
        if info["index"]
        and info["columns"] == [COLUMN]
        and not info["unique"]
        and not info["primary_key"]
    ]


def drop(apps, schema_editor):
    for name in _single_column_indexes(schema_editor):
        schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")


def restore(apps, schema_editor):
    if not _single_column_indexes(schema_editor):
        schema_editor.execute(
            f"CREATE INDEX {schema_editor.quote_name(NAME)} ON {schema_editor.quote_name(TABLE)} "
            f"({schema_editor.quote_name(COLUMN)})"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("disclosure", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="disclosurelog",
                    name="patient",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(drop, restore)],
        ),
    ]
