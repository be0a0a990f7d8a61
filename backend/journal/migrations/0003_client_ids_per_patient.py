"""The phone's id becomes ``client_id``, unique per patient; ``id`` is the server's key.

Existing rows keep their id as the server key and get it as their client id
too, so every foreign key (triggers, alerts, counter decisions, feed items),
every id a phone holds and every id in the disclosure log stays valid.
"""

import uuid

from django.db import migrations, models
from django.db.models import F


def copy_ids(apps, schema_editor):
    for name in ("JournalEntry", "CheckIn"):
        apps.get_model("journal", name).objects.update(client_id=F("id"))


class Migration(migrations.Migration):
    dependencies = [
        ("journal", "0002_journalentry_shared"),
    ]

    operations = [
        *(
            migrations.AddField(
                model_name=model,
                name="client_id",
                field=models.UUIDField(null=True),
            )
            for model in ("journalentry", "checkin")
        ),
        migrations.RunPython(copy_ids, migrations.RunPython.noop, elidable=False),
        *(
            operation
            for model in ("journalentry", "checkin")
            for operation in (
                migrations.AlterField(
                    model_name=model,
                    name="client_id",
                    field=models.UUIDField(
                        help_text=(
                            "Chosen by the phone; unique per patient; the API's id for the record."
                        )
                    ),
                ),
                migrations.AlterField(
                    model_name=model,
                    name="id",
                    field=models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
            )
        ),
        migrations.AddConstraint(
            model_name="journalentry",
            constraint=models.UniqueConstraint(
                fields=("patient", "client_id"), name="entry_client_id_per_patient"
            ),
        ),
        migrations.AddConstraint(
            model_name="checkin",
            constraint=models.UniqueConstraint(
                fields=("patient", "client_id"), name="checkin_client_id_per_patient"
            ),
        ),
    ]
