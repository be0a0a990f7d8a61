"""The feed items, made by consent (consent 0001, 0003): their table stays. State only."""

import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('consent', '0006_disclosure_without_grant'),
        ('journal', '0003_client_ids_per_patient'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='FeedItem',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('kind', models.CharField(choices=[('entry', 'Journal entry'), ('checkin', 'Check-in'), ('alert', 'Crisis alert')], max_length=8)),
                        ('at', models.DateTimeField(help_text="When it happened: the entry's time, the check-in's day.")),
                        ('alert', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='journal.careteamalert')),
                        ('checkin', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='journal.checkin')),
                        ('entry', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='journal.journalentry')),
                        ('patient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'consent_feeditem',
                        'indexes': [models.Index(fields=['patient', '-at'], name='feed_patient_at'), models.Index(fields=['-at', '-id'], name='feed_at')],
                        'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('alert__isnull', True), ('checkin__isnull', True), ('entry__isnull', False), ('kind', 'entry')), models.Q(('alert__isnull', True), ('checkin__isnull', False), ('entry__isnull', True), ('kind', 'checkin')), models.Q(('alert__isnull', False), ('checkin__isnull', True), ('entry__isnull', True), ('kind', 'alert')), _connector='OR'), name='feed_item_one_record'), models.UniqueConstraint(fields=('entry',), name='feed_item_entry_once'), models.UniqueConstraint(fields=('checkin',), name='feed_item_checkin_once'), models.UniqueConstraint(fields=('alert',), name='feed_item_alert_once')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
