from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from backend.core.crypto import EncryptedTextField

CHUNK = 500


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted field with the newest key in FIELD_ENCRYPTION_KEYS. "
        "Rotate by prepending a new key, running this, then removing the old key."
    )

    def handle(self, *args, **options):
        for model in apps.get_models():
            fields = [
                f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)
            ]
            if not fields:
                continue
            done = 0
            last_pk = None
            while True:
                with transaction.atomic():
                    rows = model._base_manager.order_by("pk").only("pk", *fields)
                    if last_pk is not None:
                        rows = rows.filter(pk__gt=last_pk)
                    chunk = list(rows.select_for_update()[:CHUNK])
                    if not chunk:
                        break
                    # Loading decrypts with any listed key; saving encrypts with the newest.
                    model._base_manager.bulk_update(chunk, fields)
                done += len(chunk)
                last_pk = chunk[-1].pk
            self.stdout.write(f"{model._meta.label}: re-encrypted {done} rows")
