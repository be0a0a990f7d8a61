from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from backend.core.crypto import EncryptedTextField


class IdempotencyKey(models.Model):
    """One user's Idempotency-Key and the answer its first request got.

    ``response_status`` is null while that first request still runs. The body is
    encrypted: it may hold invite codes or journal text. Rows expire after
    IDEMPOTENCY_KEY_TTL (see backend.core.idempotency) and are purged by
    ``manage.py purge_idempotency_keys``. Deliberately not in the admin.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.TextField(help_text="Path and query string of the first request.")
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the canonical body.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_content_type = models.CharField(max_length=100, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_body = EncryptedTextField(blank=True, help_text="The response data as JSON.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user"),
            # A 5xx is never kept: the client must be able to retry it.
            models.CheckConstraint(
                condition=Q(response_status__isnull=True) | Q(response_status__lt=500),
                name="idempotency_key_keeps_no_5xx",
            ),
        ]

    def __str__(self) -> str:
        state = "in progress" if self.in_progress else self.response_status
        return f"{self.method} {self.path} ({state})"

    @property
    def in_progress(self) -> bool:
        return self.response_status is None
