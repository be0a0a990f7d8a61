"""The disclosure log, the feed and its reviews now belong to the disclosure, journal and
sharing apps. Their tables keep their names and rows: this changes Django's state only."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("consent", "0006_disclosure_without_grant"),
        ("disclosure", "0001_initial"),
        ("journal", "0004_feeditem"),
        ("sharing", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="FeedReview"),
                migrations.DeleteModel(name="FeedItem"),
                migrations.DeleteModel(name="DisclosureLog"),
            ],
            database_operations=[],
        ),
    ]
