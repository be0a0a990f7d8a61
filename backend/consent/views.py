from collections import defaultdict

from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.models import User
from backend.consent import policy, selectors, services
from backend.consent.disclosure import DisclosesRecords, DisclosingPagination
from backend.consent.models import ConsentGrant, DisclosureLog, FeedItem, FeedReview
from backend.consent.scopes import Scope
from backend.consent.serializers import (
    DisclosureSerializer,
    FeedbackSerializer,
    FeedItemSerializer,
    FeedReviewWriteSerializer,
    GrantCreateSerializer,
    GrantSerializer,
    RevokeSerializer,
    ScopeInfoSerializer,
    scope_catalogue,
)
from backend.core.idempotency import idempotent
from backend.core.permissions import IsFamily, IsPatient, IsTherapist, role_permission

IsConsentParty = role_permission(
    User.Role.PATIENT,
    User.Role.THERAPIST,
    User.Role.FAMILY,
    message="Only patients and the people they share with have consents.",
)


class GrantFilter(filters.FilterSet):
    state = filters.ChoiceFilter(
        choices=[("active", "active"), ("revoked", "revoked"), ("expired", "expired")],
        method="filter_state",
    )

    class Meta:
        model = ConsentGrant
        fields = ["state"]

    def filter_state(self, queryset, name, value):
        now = timezone.now()
        if value == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if value == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        return queryset.filter(revoked_at__isnull=True, expires_at__gt=now, starts_at__lte=now)


@extend_schema(tags=["consent"])
class ScopeListView(APIView):
    permission_classes = [IsConsentParty]

    @extend_schema(
        summary="What a consent can share",
        description="Scopes that reveal journal text are never offered to family by default.",
        responses={200: ScopeInfoSerializer(many=True)},
    )
    def get(self, request):
        return Response(ScopeInfoSerializer(scope_catalogue(), many=True).data)


@extend_schema(tags=["consent"])
class GrantListCreateView(generics.ListAPIView):
    """Consents you gave (as a patient) or received, newest first; revoked and expired kept."""

    permission_classes = [IsConsentParty]
    serializer_class = GrantSerializer
    filterset_class = GrantFilter
    queryset = ConsentGrant.objects.none()
    ordering = "-created_at"

    def get_queryset(self):
        return selectors.grants_of(self.request.user)

    @idempotent
    @extend_schema(
        summary="Sign a consent for a therapist or family member",
        description=(
            "Holds what 42 CFR 2.31 asks: who, what (scopes), why (purpose), from when, until when "
            "(default one year), your typed signature, and how to revoke."
        ),
        request=GrantCreateSerializer,
        responses={201: GrantSerializer, 409: None},
    )
    def post(self, request):
        if request.user.role != User.Role.PATIENT:
            self.permission_denied(request, message="Only patients give consent.")
        serializer = GrantCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        attrs = serializer.validated_data
        grant = services.grant_create(
            patient=request.user,
            recipient_id=attrs["recipient"],
            scopes=attrs["scopes"],
            purpose=attrs["purpose"],
            signature_name=attrs["signature_name"],
            starts_at=attrs.get("starts_at"),
            expires_at=attrs.get("expires_at"),
            allow_journal_text=attrs["allow_journal_text"],
        )
        grant = selectors.grant_get(viewer=request.user, grant_id=grant.pk)
        return Response(GrantSerializer(grant).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["consent"])
class GrantDetailView(APIView):
    permission_classes = [IsConsentParty]

    @extend_schema(summary="One consent you gave or received", responses={200: GrantSerializer})
    def get(self, request, grant_id):
        return Response(
            GrantSerializer(selectors.grant_get(viewer=request.user, grant_id=grant_id)).data
        )


@extend_schema(tags=["consent"])
class GrantRevokeView(APIView):
    permission_classes = [IsPatient]

    @extend_schema(
        summary="Revoke a consent",
        description="Takes effect on the recipient's very next request. Revoking twice changes nothing.",
        request=RevokeSerializer,
        responses={200: GrantSerializer},
    )
    def post(self, request, grant_id):
        grant = selectors.grant_get_for_patient(patient=request.user, grant_id=grant_id)
        serializer = RevokeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.grant_revoke(
            grant=grant, by=request.user, reason=serializer.validated_data.get("reason", "")
        )
        return Response(
            GrantSerializer(selectors.grant_get(viewer=request.user, grant_id=grant_id)).data
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


_ITEM_SCOPE = {FeedItem.Kind.CHECKIN: Scope.CHECKINS, FeedItem.Kind.ALERT: Scope.CRISIS_ALERTS}


def feed_disclosures(items: list[FeedItem], held) -> tuple[list[FeedItem], list]:
    """The items covered by the grants read for this request, and what they disclose.

    The log names records as their patient knows them (``record_id``, see feed_for).
    """
    groups: dict[tuple, list[str]] = defaultdict(list)
    shown = []
    for item in items:
        scopes = held.get(item.patient_id, {})
        if item.kind == FeedItem.Kind.ENTRY:
            scope = Scope.JOURNAL_ALL if Scope.JOURNAL_ALL in scopes else Scope.JOURNAL_SHARED
        else:
            scope = _ITEM_SCOPE[item.kind]
        if scope not in scopes:
            continue  # not covered by the grants read for this request: not shown
        shown.append(item)
        groups[(item.patient_id, scope, item.kind)].append(str(item.record_id))
    return shown, [
        services.Disclosure(patient_id, scope, kind, ids, len(ids))
        for (patient_id, scope, kind), ids in groups.items()
    ]


class FeedView(DisclosesRecords, generics.ListAPIView):
    """What the patients who granted you access shared, newest first; crisis alerts are urgent."""

    serializer_class = FeedItemSerializer
    filterset_class = FeedFilter
    pagination_class = DisclosingPagination
    queryset = FeedItem.objects.none()
    ordering = ("-at", "-id")

    def get_queryset(self):
        return selectors.feed_for(self.request.user, now=self.now, held=self.held)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "held": getattr(self, "held", {})}

    def list(self, request, *args, **kwargs):
        self.now = timezone.now()
        # One read of the grants in force: it selects the page and names the grants logged.
        self.held = policy.scopes_held(request.user, now=self.now, scopes=policy.FEED_SCOPES)
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        shown, disclosures = feed_disclosures(page, self.held)
        data = self.get_serializer(shown, many=True).data
        services.disclosures_record(
            request=request, viewer=request.user, held=self.held, items=disclosures
        )
        return self.get_paginated_response(data)


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
        held = policy.scopes_held(
            request.user, [item.patient_id], now=now, scopes=policy.FEED_SCOPES
        )
        item = selectors.feed_for(request.user, now=now, held=held).filter(pk=item.pk).first()
        shown, disclosures = feed_disclosures([item] if item else [], held)
        if not shown:
            raise NotFound()  # revoked while this request ran
        services.disclosures_record(
            request=request, viewer=request.user, held=held, items=disclosures
        )
        return Response(FeedItemSerializer(item, context={"held": held}).data)


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


@extend_schema(tags=["me"])
class DisclosureListView(generics.ListAPIView):
    """Who saw which of your records, when, and under which consent (42 CFR 2.25)."""

    permission_classes = [IsPatient]
    serializer_class = DisclosureSerializer
    queryset = DisclosureLog.objects.none()
    ordering = ("-at", "-id")

    def get_queryset(self):
        return selectors.disclosures_of(self.request.user)
