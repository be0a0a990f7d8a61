"""The disclosure log refuses UPDATE and DELETE in the database itself, and
every existing entry, check-in and alert gets its feed item."""

from django.db import migrations

TABLE = "consent_disclosurelog"
MESSAGE = "consent_disclosurelog is append-only (42 CFR 2.25 accounting of disclosures)"

POSTGRES_FORWARD = f"""
CREATE FUNCTION consent_disclosurelog_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER consent_disclosurelog_no_update BEFORE UPDATE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION consent_disclosurelog_refuse();
CREATE TRIGGER consent_disclosurelog_no_delete BEFORE DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION consent_disclosurelog_refuse();
"""
POSTGRES_BACKWARD = f"""
DROP TRIGGER consent_disclosurelog_no_update ON {TABLE};
DROP TRIGGER consent_disclosurelog_no_delete ON {TABLE};
DROP FUNCTION consent_disclosurelog_refuse();
"""
SQLITE_FORWARD = [
    f"""CREATE TRIGGER consent_disclosurelog_no_update BEFORE UPDATE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",
    f"""CREATE TRIGGER consent_disclosurelog_no_delete BEFORE DELETE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER consent_disclosurelog_no_update;",
    "DROP TRIGGER consent_disclosurelog_no_delete;",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_FORWARD)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)
    else:
        raise NotImplementedError("The disclosure log needs its triggers on this database.")


def backward(apps, schema_editor):
    statements = (
        [POSTGRES_BACKWARD] if schema_editor.connection.vendor == "postgresql" else SQLITE_BACKWARD
    )
    for statement in statements:
        schema_editor.execute(statement)


def backfill_feed(apps, schema_editor):
    FeedItem = apps.get_model("consent", "FeedItem")
    JournalEntry = apps.get_model("journal", "JournalEntry")
    CheckIn = apps.get_model("journal", "CheckIn")
    CareTeamAlert = apps.get_model("journal", "CareTeamAlert")
    sources = [
        (JournalEntry.objects.values_list("pk", "patient_id", "occurred_at"), "entry"),
        (CheckIn.objects.values_list("pk", "patient_id", "created_at"), "checkin"),
        (CareTeamAlert.objects.values_list("pk", "patient_id", "created_at"), "alert"),
    ]
    for rows, kind in sources:
        batch = []
        for pk, patient_id, at in rows.iterator(chunk_size=2000):
            batch.append(FeedItem(patient_id=patient_id, kind=kind, at=at, **{f"{kind}_id": pk}))
            if len(batch) >= 2000:
                FeedItem.objects.bulk_create(batch)
                batch = []
        FeedItem.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [("consent", "0001_initial")]

    operations = [
        migrations.RunPython(forward, backward),
        migrations.RunPython(backfill_feed, migrations.RunPython.noop),
    ]
