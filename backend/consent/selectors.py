"""Reads of grants, the feed and the disclosure log; record access goes through policy."""

from django.db.models import Prefetch, Q, QuerySet, UUIDField
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from backend.accounts.models import User
from backend.consent import policy
from backend.consent.models import ConsentGrant, DisclosureLog, FeedItem, FeedReview
from backend.journal.models import EntryTrigger


def grants_of(viewer: User) -> QuerySet[ConsentGrant]:
    """Grants the viewer gave (a patient) or received (anyone else), history included."""
    side = Q(patient=viewer) if viewer.role == User.Role.PATIENT else Q(recipient=viewer)
    return (
        ConsentGrant.objects.filter(side)
        .select_related("patient", "recipient")
        .prefetch_related("scope_rows")
    )


def grant_get(*, viewer: User, grant_id) -> ConsentGrant:
    return get_object_or_404(grants_of(viewer), pk=grant_id)


def grant_get_for_patient(*, patient: User, grant_id) -> ConsentGrant:
    return get_object_or_404(ConsentGrant.objects.filter(patient=patient), pk=grant_id)


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


def feed_for(viewer: User, *, now=None, held=None) -> QuerySet[FeedItem]:
    """The viewer's feed: what patients' open grants let them see, with their review state.

    ``held``: policy.scopes_held for the viewer at ``now``, when the caller has it.
    """
    return (
        policy.feed_visible_to(viewer, now=now, held=held)
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


def feed_item_get(*, viewer: User, item_id) -> FeedItem:
    return get_object_or_404(policy.feed_visible_to(viewer), pk=item_id)


def feedback_for(patient: User) -> QuerySet[FeedReview]:
    """Acknowledgements and comments left on what the patient shared."""
    return (
        FeedReview.objects.filter(item__patient=patient)
        .select_related("reviewer", "item")
        .annotate(record_id=_record_id("item__"))
    )


def disclosures_of(patient: User) -> QuerySet[DisclosureLog]:
    return DisclosureLog.objects.filter(patient=patient).select_related("viewer")
