"""Care links made by an enrolment for its primary therapist, before links said so.

``enrol`` made such a link (as "admin") in the enrolment's own transaction, just after
the enrolment; a link of that pair made within seconds of it is that one, and is now a
"program" link (handed over with the enrolment). Any other link is left as it is: kept
on a handover, which revokes nothing it should not.
"""

from datetime import timedelta

from django.db import migrations

SAME_TRANSACTION = timedelta(seconds=5)


def mark_program_links(apps, schema_editor):
    CareLink = apps.get_model("care", "CareLink")
    Enrolment = apps.get_model("program", "Enrolment")
    for patient_id, therapist_id, created_at in Enrolment.objects.values_list(
        "patient_id", "primary_therapist_id", "created_at"
    ).iterator():
        CareLink.objects.filter(
            patient_id=patient_id,
            therapist_id=therapist_id,
            source="admin",
            created_at__gte=created_at,
            created_at__lt=created_at + SAME_TRANSACTION,
        ).update(source="program")


class Migration(migrations.Migration):
    dependencies = [
        ("care", "0002_alter_carelink_source"),
        ("program", "0002_alter_enrolmentchange_from_value_and_more"),
    ]

    operations = [migrations.RunPython(mark_program_links, migrations.RunPython.noop)]
