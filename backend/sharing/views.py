"""The feed of what patients shared, for the people they share with, and its reviews."""

from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.consent import policy
from backend.core.permissions import IsFamily, IsPatient, IsTherapist
from backend.disclosure.notice import DisclosesRecords, DisclosingPagination
from backend.journal.access import FEED_ITEM, FEED_SCOPES
from backend.journal.models import FeedItem
from backend.sharing import selectors, services
from backend.sharing.models import FeedReview
from backend.sharing.serializers import (
    FeedbackSerializer,
    FeedItemSerializer,
    FeedReviewWriteSerializer,
)


class FeedFilter(filters.FilterSet):
    patient = filters.UUIDFilter(field_name="patient_id")
    kind = filters.ChoiceFilter(choices=FeedItem.Kind.choices)
    state = filters.ChoiceFilter(
        choices=[("unread", "unread"), ("reviewed", "reviewed")], method="filter_state"
    )

    class Meta:
        model = FeedItem
        fields = ["patient", "kind", "state"]

    def filter_state(self, queryset, name, value):
        mine = FeedReview.objects.filter(reviewer=self.request.user).values("item_id")
        if value == "reviewed":
            return queryset.filter(pk__in=mine)
        return queryset.exclude(pk__in=mine)


class FeedView(DisclosesRecords, generics.ListAPIView):
    """What the patients who granted you access shared, newest first; crisis alerts are urgent."""

    serializer_class = FeedItemSerializer
    filterset_class = FeedFilter
    pagination_class = DisclosingPagination
    queryset = FeedItem.objects.none()
    ordering = ("-at", "-id")

    def get_queryset(self):
        return selectors.feed_for(self.request.user, now=self.now, held=self.held)

    def list(self, request, *args, **kwargs):
        self.now = timezone.now()
        # One read of the grants in force: it selects the page and names the grants logged.
        self.held = policy.scopes_held(request.user, now=self.now, scopes=FEED_SCOPES)
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        shown = policy.hand_out(
            request=request,
            viewer=request.user,
            kind=FEED_ITEM,
            records=page,
            now=self.now,
            held=self.held,
            log_as=selectors.feed_log_as,
        )
        return self.get_paginated_response(self.get_serializer(shown, many=True).data)


@extend_schema(tags=["care"])
class CareFeedView(FeedView):
    permission_classes = [IsTherapist]


@extend_schema(tags=["family"])
class FamilyFeedView(FeedView):
    permission_classes = [IsFamily]


class FeedReviewView(DisclosesRecords, APIView):
    @extend_schema(
        summary="Mark a feed item reviewed, with an optional comment the patient sees",
        request=FeedReviewWriteSerializer,
        responses={200: FeedItemSerializer},
    )
    def post(self, request, item_id):
        item = selectors.feed_item_get(viewer=request.user, item_id=item_id)
        serializer = FeedReviewWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.feed_item_review(
            item=item, reviewer=request.user, comment=serializer.validated_data.get("comment", "")
        )
        now = timezone.now()
        held = policy.scopes_held(request.user, [item.patient_id], now=now, scopes=FEED_SCOPES)
        item = selectors.feed_for(request.user, now=now, held=held).filter(pk=item.pk).first()
        shown = policy.hand_out(
            request=request,
            viewer=request.user,
            kind=FEED_ITEM,
            records=[item] if item else [],
            now=now,
            held=held,
            log_as=selectors.feed_log_as,
        )
        if not shown:
            raise NotFound()  # revoked while this request ran
        return Response(FeedItemSerializer(item).data)


@extend_schema(tags=["care"])
class CareFeedReviewView(FeedReviewView):
    permission_classes = [IsTherapist]


@extend_schema(tags=["family"])
class FamilyFeedReviewView(FeedReviewView):
    permission_classes = [IsFamily]


@extend_schema(tags=["me"])
class FeedbackView(generics.ListAPIView):
    """Who acknowledged what you shared, and their comments, newest first."""

    permission_classes = [IsPatient]
    serializer_class = FeedbackSerializer
    queryset = FeedReview.objects.none()
    ordering = ("-reviewed_at", "-id")

    def get_queryset(self):
        return selectors.feedback_for(self.request.user)
