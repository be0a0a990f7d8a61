"""What recipients do with what patients shared with them: reviews and comments."""

import uuid

from django.conf import settings
from django.db import models

from backend.core.crypto import EncryptedTextField


class FeedReview(models.Model):
    """A recipient's acknowledgement of a feed item, with an optional comment the patient sees."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    item = models.ForeignKey("journal.FeedItem", on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    comment = EncryptedTextField(blank=True)
    reviewed_at = models.DateTimeField()

    class Meta:
        db_table = "consent_feedreview"  # made by the consent app; the table keeps its name
        constraints = [
            models.UniqueConstraint(fields=["item", "reviewer"], name="feed_review_once"),
        ]

    def __str__(self) -> str:
        return f"Review of {self.item_id} by {self.reviewer_id}"
