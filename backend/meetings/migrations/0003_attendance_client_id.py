"""An attendance's phone id becomes ``client_id``, unique per patient; ``id`` is the server's key.

Existing rows keep their id as the server key and get it as their client id too.
"""

import uuid

from django.db import migrations, models
from django.db.models import F


def copy_ids(apps, schema_editor):
    apps.get_model("meetings", "Attendance").objects.update(client_id=F("id"))


class Migration(migrations.Migration):
    dependencies = [
        ("meetings", "0002_keys_as_text"),
    ]

    operations = [
        migrations.AddField(
            model_name="attendance",
            name="client_id",
            field=models.UUIDField(null=True),
        ),
        migrations.RunPython(copy_ids, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="attendance",
            name="client_id",
            field=models.UUIDField(
                default=uuid.uuid4,
                help_text=(
                    "Chosen by the phone, or by the server when it sends none; unique per patient."
                ),
            ),
        ),
        migrations.AddConstraint(
            model_name="attendance",
            constraint=models.UniqueConstraint(
                fields=("patient", "client_id"), name="attendance_client_id_per_patient"
            ),
        ),
    ]
