from zoneinfo import ZoneInfo

from django.db import migrations, models

BATCH = 2000


def date_entries(apps, schema_editor):
    """Each stored entry's day on its patient's clock, as the journal now keeps it."""
    Entry = apps.get_model("journal", "JournalEntry")
    User = apps.get_model("accounts", "User")
    zones = {
        pk: ZoneInfo(name)
        for pk, name in User.objects.filter(
            pk__in=Entry.objects.values("patient_id")
        ).values_list("pk", "time_zone")
    }
    batch = []
    for entry in Entry.objects.only("pk", "patient_id", "occurred_at").iterator(BATCH):
        entry.local_date = entry.occurred_at.astimezone(zones[entry.patient_id]).date()
        batch.append(entry)
        if len(batch) == BATCH:
            Entry.objects.bulk_update(batch, ["local_date"])
            batch = []
    Entry.objects.bulk_update(batch, ["local_date"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("journal", "0006_feed_item_state"),
    ]

    operations = [
        migrations.AddField(
            model_name="journalentry",
            name="local_date",
            field=models.DateField(editable=False, null=True),
        ),
        migrations.RunPython(date_entries, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="journalentry",
            name="local_date",
            field=models.DateField(
                editable=False,
                help_text="occurred_at's date on the patient's clock (their time zone); the "
                "journal sets it on every write and again for every entry when the patient's "
                "zone changes.",
            ),
        ),
        migrations.AddIndex(
            model_name="journalentry",
            index=models.Index(fields=["local_date"], name="entry_local_date"),
        ),
        migrations.AddIndex(
            model_name="journalentry",
            index=models.Index(fields=["patient", "local_date"], name="entry_patient_local_date"),
        ),
    ]
