"""The disclosure log, made by consent (consent 0001, 0002, 0006): its table and triggers stay. State only."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('consent', '0006_disclosure_without_grant'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='DisclosureLog',
                    fields=[
                        ('id', models.BigAutoField(primary_key=True, serialize=False)),
                        ('viewer_role', models.CharField(max_length=16)),
                        ('kind', models.CharField(help_text='What kind of record was seen.', max_length=24)),
                        ('record_ids', models.JSONField(blank=True, default=list)),
                        ('record_count', models.PositiveIntegerField()),
                        ('purpose', models.CharField(choices=[('treatment', 'Treatment'), ('care_coordination', 'Care coordination'), ('family_support', 'Family support')], max_length=24)),
                        ('at', models.DateTimeField()),
                        ('endpoint', models.CharField(help_text='Method and path, without query string.', max_length=200)),
                        ('ip', models.GenericIPAddressField(blank=True, null=True)),
                        ('grant', models.ForeignKey(blank=True, help_text='Null when seen without a consent, as the therapist who assigned it.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='consent.consentgrant')),
                        ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('viewer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'consent_disclosurelog',
                        'indexes': [models.Index(fields=['patient', '-at'], name='disclosure_patient_at')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
