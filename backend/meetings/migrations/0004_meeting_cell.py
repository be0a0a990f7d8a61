"""A grid cell column and the indexes of the nearest-meetings search.

Written for a directory of a million meetings: the column is added without a
default (no table rewrite), filled in batches, and on PostgreSQL both indexes are
built CONCURRENTLY, so that searches and imports go on while they build (hence a
non-atomic migration). The GiST index on the point is PostgreSQL's own (the
built-in ``point`` type: no extension), invisible to Django's model state.
"""

from django.db import migrations, models

from backend.meetings.cells import cell_of

BATCH = 5000
PARTIAL = "retired_at IS NULL AND NOT approximate AND latitude IS NOT NULL"


def fill_cells(apps, schema_editor):
    meeting = apps.get_model("meetings", "Meeting")
    located = meeting.objects.filter(latitude__isnull=False, longitude__isnull=False)
    last = None
    while True:
        batch = located.order_by("pk")
        if last is not None:
            batch = batch.filter(pk__gt=last)
        rows = list(batch.only("pk", "latitude", "longitude")[:BATCH])
        if not rows:
            return
        for row in rows:
            row.cell = cell_of(row.latitude, row.longitude)
        meeting.objects.bulk_update(rows, ["cell"], batch_size=BATCH)
        last = rows[-1].pk


def create_indexes(apps, schema_editor):
    table = "meetings_meeting"
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS meeting_cell ON {table} (cell)"
        )
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS meeting_point_knn ON {table} "
            f"USING gist (point(longitude, latitude)) WHERE {PARTIAL}"
        )
    else:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS meeting_cell ON {table} (cell)")


def drop_indexes(apps, schema_editor):
    schema_editor.execute("DROP INDEX IF EXISTS meeting_cell")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS meeting_point_knn")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("meetings", "0003_attendance_client_id"),
    ]

    operations = [
        migrations.AddField(
            model_name="meeting",
            name="cell",
            field=models.BigIntegerField(editable=False, null=True),
        ),
        migrations.RunPython(fill_cells, migrations.RunPython.noop, elidable=False),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name="meeting",
                    index=models.Index(fields=["cell"], name="meeting_cell"),
                ),
            ],
            database_operations=[
                migrations.RunPython(create_indexes, drop_indexes, elidable=False),
            ],
        ),
    ]
