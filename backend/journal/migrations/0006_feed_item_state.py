from django.db import migrations, models


def copy_record_state(apps, schema_editor):
    """Each existing item takes its entry's sharing and its record's deletion."""
    FeedItem = apps.get_model("journal", "FeedItem")
    FeedItem.objects.filter(entry__shared=True).update(shared=True)
    FeedItem.objects.filter(entry__deleted_at__isnull=False).update(withdrawn=True)
    FeedItem.objects.filter(checkin__deleted_at__isnull=False).update(withdrawn=True)


class Migration(migrations.Migration):
    dependencies = [
        ("journal", "0005_alerts_from_measures"),
    ]

    operations = [
        migrations.AddField(
            model_name="feeditem",
            name="shared",
            field=models.BooleanField(
                default=False,
                help_text="Its entry is marked shared by the patient (entries only).",
            ),
        ),
        migrations.AddField(
            model_name="feeditem",
            name="withdrawn",
            field=models.BooleanField(
                default=False, help_text="Its entry or check-in was deleted by the patient."
            ),
        ),
        migrations.RunPython(copy_record_state, migrations.RunPython.noop, elidable=True),
    ]
