from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.models import User
from backend.accounts.throttles import AuthIPThrottle
from backend.care import selectors, serializers, services
from backend.care.models import CareInvite, CareLink
from backend.core.idempotency import idempotent
from backend.core.permissions import IsPatient, IsTherapist, role_permission

IsCareParty = role_permission(
    User.Role.PATIENT, User.Role.THERAPIST, message="Only patients and therapists have care links."
)


@extend_schema(tags=["care"])
class InviteListCreateView(generics.ListAPIView):
    """Your invite codes, newest first."""

    permission_classes = [IsTherapist]
    serializer_class = serializers.CareInviteSerializer
    queryset = CareInvite.objects.none()  # the schema's model; requests use get_queryset

    def get_queryset(self):
        return selectors.invites_of(self.request.user)

    @idempotent
    @extend_schema(
        summary="Create a single-use invite code for a patient",
        request=None,
        responses={201: serializers.CareInviteCreatedSerializer},
    )
    def post(self, request):
        invite, code = services.invite_create(therapist=request.user)
        invite.code = code
        return Response(
            serializers.CareInviteCreatedSerializer(invite).data, status=status.HTTP_201_CREATED
        )


@extend_schema(tags=["care"])
class InviteDetailView(APIView):
    permission_classes = [IsTherapist]

    @extend_schema(summary="Withdraw an unused invite code", responses={204: None})
    def delete(self, request, invite_id):
        invite = selectors.invite_get_for_therapist(therapist=request.user, invite_id=invite_id)
        services.invite_revoke(invite=invite)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["care"])
class InviteRedeemView(APIView):
    permission_classes = [IsPatient]
    throttle_classes = [AuthIPThrottle]

    @idempotent
    @extend_schema(
        summary="Join a therapist's caseload with their invite code",
        description="A link alone shares none of your records: that takes a consent grant.",
        request=serializers.RedeemSerializer,
        responses={201: serializers.CareTeamMemberSerializer, 409: None},
    )
    def post(self, request):
        serializer = serializers.RedeemSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        link = services.invite_redeem(patient=request.user, code=serializer.validated_data["code"])
        return Response(
            serializers.CareTeamMemberSerializer(link).data, status=status.HTTP_201_CREATED
        )


@extend_schema(tags=["care"])
class CareTeamView(generics.ListAPIView):
    """Your therapists."""

    permission_classes = [IsPatient]
    serializer_class = serializers.CareTeamMemberSerializer
    queryset = CareLink.objects.none()

    def get_queryset(self):
        return selectors.care_team_for(self.request.user)


@extend_schema(tags=["care"])
class CaseloadView(generics.ListAPIView):
    """Your patients."""

    permission_classes = [IsTherapist]
    serializer_class = serializers.CaseloadEntrySerializer
    queryset = CareLink.objects.none()

    def get_queryset(self):
        return selectors.caseload_for(self.request.user)


@extend_schema(tags=["care"])
class CareLinkDetailView(APIView):
    permission_classes = [IsCareParty]

    @extend_schema(summary="End a care link (patient or therapist)", responses={204: None})
    def delete(self, request, link_id):
        link = selectors.link_get_for_party(viewer=request.user, link_id=link_id)
        services.link_end(link=link, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
