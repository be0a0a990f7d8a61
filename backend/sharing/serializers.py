"""Response shapes of the feed of what patients shared, and of reviews of it."""

from rest_framework import serializers

from backend.accounts.serializers import PersonSerializer
from backend.core.serializers import StrictSerializer
from backend.journal.models import FeedItem
from backend.journal.serializers import CheckInSerializer, EntrySerializer
from backend.sharing.models import FeedReview


class AlertSerializer(serializers.Serializer):
    reason = serializers.CharField(
        help_text="high_intensity, lapse or use (a journal entry); self_harm_thoughts (an "
        "answer to a questionnaire, e.g. PHQ-9 item 9 above 0)."
    )
    created_at = serializers.DateTimeField()


class ReviewSerializer(serializers.ModelSerializer):
    class Meta:
        model = FeedReview
        fields = ["comment", "reviewed_at"]
        read_only_fields = fields


class SharedCheckInSerializer(CheckInSerializer):
    """A check-in as someone else sees it: its note is the patient's own words."""

    note = serializers.SerializerMethodField(
        help_text=(
            "The patient's own words: null unless you also hold journal.all or journal.shared "
            "(for family, granted only with allow_journal_text)."
        )
    )

    def get_attribute(self, item):
        # A feed item's check-in, with its note as the access policy read it for this
        # viewer (null unless a journal scope reveals it; see FEED_ITEM's fields).
        checkin = item.checkin
        if checkin is not None:
            checkin.shown_note = item.shown_checkin_note
        return checkin

    def get_note(self, checkin) -> str | None:
        return checkin.shown_note


class FeedItemSerializer(serializers.ModelSerializer):
    patient = PersonSerializer()
    urgent = serializers.SerializerMethodField(help_text="A crisis alert: look at it first.")
    state = serializers.SerializerMethodField(help_text="unread or reviewed, for you.")
    review = serializers.SerializerMethodField()
    entry = EntrySerializer(allow_null=True)
    checkin = SharedCheckInSerializer(allow_null=True)
    alert = AlertSerializer(allow_null=True)

    class Meta:
        model = FeedItem
        fields = ["id", "kind", "urgent", "at", "patient", "state", "review", "entry", "checkin", "alert"]  # fmt: skip
        read_only_fields = fields

    def get_urgent(self, item) -> bool:
        return item.kind == FeedItem.Kind.ALERT

    def _review(self, item):
        reviews = item.my_reviews
        return reviews[0] if reviews else None

    def get_state(self, item) -> str:
        return "unread" if self._review(item) is None else "reviewed"

    def get_review(self, item) -> dict | None:
        review = self._review(item)
        return None if review is None else ReviewSerializer(review).data


class FeedReviewWriteSerializer(StrictSerializer):
    comment = serializers.CharField(
        max_length=1000,
        required=False,
        allow_blank=True,
        help_text="Optional; the patient sees it.",
    )


class FeedbackSerializer(serializers.ModelSerializer):
    """A review of something the patient shared, as the patient sees it."""

    reviewer = PersonSerializer()
    kind = serializers.CharField(source="item.kind")
    record_id = serializers.SerializerMethodField()

    class Meta:
        model = FeedReview
        fields = ["id", "reviewer", "kind", "record_id", "comment", "reviewed_at"]
        read_only_fields = fields

    def get_record_id(self, review) -> str:
        # Annotated by selectors.feedback_for: the id the patient's phone chose.
        return str(review.record_id)
