from django.core.management.base import BaseCommand
from django.utils import timezone

from backend.core.idempotency import idempotency_keys_purge


class Command(BaseCommand):
    help = "Delete Idempotency-Key records older than IDEMPOTENCY_KEY_TTL (24 hours by default)."

    def handle(self, *args, **options):
        deleted = idempotency_keys_purge(now=timezone.now())
        if options["verbosity"] >= 1:
            self.stdout.write(f"Purged {deleted} expired idempotency keys.")
