"""A disclosure may be logged without a consent (the therapist who assigned homework).

On SQLite, altering a column rebuilds the table, and the append-only triggers go
with the old one: they are created again here. PostgreSQL alters in place.
"""

import django.db.models.deletion
from django.db import migrations, models

TABLE = "consent_disclosurelog"
MESSAGE = "consent_disclosurelog is append-only (42 CFR 2.25 accounting of disclosures)"
SQLITE_TRIGGERS = [
    "DROP TRIGGER IF EXISTS consent_disclosurelog_no_update;",
    "DROP TRIGGER IF EXISTS consent_disclosurelog_no_delete;",
    f"""CREATE TRIGGER consent_disclosurelog_no_update BEFORE UPDATE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",
    f"""CREATE TRIGGER consent_disclosurelog_no_delete BEFORE DELETE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",
]


def restore_sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_TRIGGERS:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("consent", "0005_checkins_label_names_notes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="disclosurelog",
            name="grant",
            field=models.ForeignKey(
                blank=True,
                help_text="Null when seen without a consent, as the therapist who assigned it.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="consent.consentgrant",
            ),
        ),
        migrations.RunPython(restore_sqlite_triggers, restore_sqlite_triggers),
    ]
