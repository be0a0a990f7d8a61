"""Grid cells and UTC start minutes, and the indexes of the nearest and "soon" searches.

Written for a directory of a million meetings: the columns are added without a
default (no table rewrite), filled in batches, and on PostgreSQL the indexes are
built CONCURRENTLY, so that searches and imports go on while they build (hence a
non-atomic migration). The GiST index on the point is PostgreSQL's own (the
built-in ``point`` type: no extension), invisible to Django's model state.
"""

from django.db import migrations, models
from django.db.models import F
from django.utils import timezone

import backend.meetings.cells
from backend.meetings.cells import cell_of
from backend.meetings.weekminutes import utc_minute

BATCH = 5000
PARTIAL = "retired_at IS NULL AND NOT approximate AND latitude IS NOT NULL"


def fill(apps, schema_editor):
    meeting = apps.get_model("meetings", "Meeting")
    now = timezone.now()
    last = None
    while True:
        batch = meeting.objects.order_by("pk")
        if last is not None:
            batch = batch.filter(pk__gt=last)
        fields = ("pk", "latitude", "longitude", "start_minute", "time_zone")
        rows = list(batch.only(*fields)[:BATCH])
        if not rows:
            return
        for row in rows:
            row.cell = cell_of(row.latitude, row.longitude)
            row.utc_minute = utc_minute(row.start_minute, row.time_zone, now)
        meeting.objects.bulk_update(rows, ["cell", "utc_minute"], batch_size=BATCH)
        last = rows[-1].pk


INDEXES = {
    "meeting_cell": "(cell)",
    "meeting_area_utc_minute": "((cell / 65536), utc_minute)",
}


def create_indexes(apps, schema_editor):
    table = "meetings_meeting"
    postgresql = schema_editor.connection.vendor == "postgresql"
    concurrently = "CONCURRENTLY " if postgresql else ""
    for name, columns in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX {concurrently}IF NOT EXISTS {name} ON {table} {columns}"
        )
    if postgresql:
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS meeting_point_knn ON {table} "
            f"USING gist (point(longitude, latitude)) WHERE {PARTIAL}"
        )


def drop_indexes(apps, schema_editor):
    for name in (*INDEXES, "meeting_point_knn"):
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


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
        migrations.AddField(
            model_name="meeting",
            name="utc_minute",
            field=models.PositiveSmallIntegerField(editable=False, null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=False),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name="meeting",
                    index=models.Index(fields=["cell"], name="meeting_cell"),
                ),
                migrations.AddIndex(
                    model_name="meeting",
                    index=models.Index(
                        backend.meetings.cells.Area("cell"),
                        F("utc_minute"),
                        name="meeting_area_utc_minute",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(create_indexes, drop_indexes, elidable=False),
            ],
        ),
    ]
