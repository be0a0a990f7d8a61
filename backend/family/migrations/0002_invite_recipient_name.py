from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("family", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="familyinvite",
            name="recipient_name",
            field=models.CharField(
                default="",
                help_text="Who the patient means to share with, in their words.",
                max_length=150,
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="familyinvite",
            name="allow_journal_text",
            field=models.BooleanField(
                default=False,
                help_text="The patient agreed that journal scopes show their own words.",
            ),
        ),
    ]
