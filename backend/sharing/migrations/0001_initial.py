"""The feed reviews, made by consent (consent 0001): their table stays. State only."""

import backend.core.crypto
import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('consent', '0006_disclosure_without_grant'),
        ('journal', '0004_feeditem'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='FeedReview',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('comment', backend.core.crypto.EncryptedTextField(blank=True)),
                        ('reviewed_at', models.DateTimeField()),
                        ('item', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='reviews', to='journal.feeditem')),
                        ('reviewer', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'consent_feedreview',
                        'constraints': [models.UniqueConstraint(fields=('item', 'reviewer'), name='feed_review_once')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
