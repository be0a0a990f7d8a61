"""Writes of reviews of what patients shared."""

from django.db import transaction
from django.utils import timezone

from backend.accounts.models import User
from backend.journal.models import FeedItem
from backend.sharing.models import FeedReview


@transaction.atomic
def feed_item_review(*, item: FeedItem, reviewer: User, comment: str = "") -> FeedReview:
    """Mark a feed item reviewed, with an optional comment for the patient (re-reviewing edits it)."""
    review, _ = FeedReview.objects.update_or_create(
        item=item,
        reviewer=reviewer,
        defaults={"comment": comment, "reviewed_at": timezone.now()},
    )
    return review
