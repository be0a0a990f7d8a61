"""Reads of the feed of what patients shared and of the reviews of it, through the policy."""

from datetime import datetime
from uuid import UUID

from django.db.models import Prefetch, QuerySet, UUIDField
from django.db.models.functions import Coalesce
from rest_framework.exceptions import NotFound

from backend.accounts.models import User
from backend.consent import policy
from backend.journal.access import FEED_ITEM
from backend.journal.models import EntryTrigger, FeedItem
from backend.sharing.models import FeedReview


def _record_id(item: str = "") -> Coalesce:
    """The record a feed item shows, named as its patient knows it.

    An entry's or a check-in's phone id (unique per patient only, so always read
    with the item's patient), an alert's own id.
    """
    return Coalesce(
        f"{item}entry__client_id",
        f"{item}checkin__client_id",
        f"{item}alert_id",
        output_field=UUIDField(),
    )


def feed_log_as(item: FeedItem) -> tuple[str, str]:
    """How the disclosure log names a feed item: its kind, and the id its patient knows it by
    (``record_id``, see feed_for)."""
    return item.kind, str(item.record_id)  # type: ignore[attr-defined]


def feed_for(
    viewer: User, *, now: datetime | None = None, held: policy.Held | None = None
) -> QuerySet[FeedItem]:
    """The viewer's feed: what patients' grants in force let them see, with their review state.

    ``held``: policy.scopes_held for the viewer at ``now``, when the caller has it. A
    check-in's note is read as ``shown_checkin_note``, null where no journal scope in
    force reveals it (the note itself is never read for such a viewer).
    """
    if viewer.role == User.Role.PATIENT:
        return FeedItem.objects.none()  # a patient's own records are on their own endpoints
    return (
        policy.readable(viewer, FEED_ITEM, now=now, held=held)
        .select_related("patient", "entry", "checkin", "alert")
        .annotate(record_id=_record_id())
        .prefetch_related(
            Prefetch(
                "entry__entry_triggers",
                queryset=EntryTrigger.objects.select_related("trigger").order_by("position"),
                to_attr="prefetched_triggers",
            ),
            Prefetch(
                "reviews", queryset=FeedReview.objects.filter(reviewer=viewer), to_attr="my_reviews"
            ),
        )
    )


def feed_item_get(*, viewer: User, item_id: UUID) -> FeedItem:
    if viewer.role == User.Role.PATIENT:
        raise NotFound()
    return policy.get_or_404(viewer, FEED_ITEM, pk=item_id)


def feedback_for(patient: User) -> QuerySet[FeedReview]:
    """Acknowledgements and comments left on what the patient shared."""
    return (
        FeedReview.objects.filter(item__patient=patient)
        .select_related("reviewer", "item")
        .annotate(record_id=_record_id("item__"))
    )
