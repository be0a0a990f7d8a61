from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.models import User
from backend.consent import selectors, services
from backend.consent.models import ConsentGrant
from backend.consent.serializers import (
    GrantCreateSerializer,
    GrantSerializer,
    RevokeSerializer,
    ScopeInfoSerializer,
    scope_catalogue,
)
from backend.core.idempotency import idempotent
from backend.core.permissions import IsPatient, role_permission

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
