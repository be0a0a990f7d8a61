from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.models import User
from backend.accounts.serializers import AcceptedSerializer
from backend.accounts.throttles import AuthIPThrottle
from backend.accounts.views import ACCEPTED, PublicAuthView
from backend.core.idempotency import idempotent
from backend.core.permissions import IsFamily, IsPatient, role_permission
from backend.disclosure.notice import DisclosesRecords, DisclosingPagination
from backend.family import selectors, serializers, services
from backend.family.models import FamilyInvite, FamilyLink

IsFamilyParty = role_permission(
    User.Role.PATIENT,
    User.Role.FAMILY,
    message="Only patients and their family members have family links.",
)


@extend_schema(tags=["family"])
class InviteListCreateView(generics.ListAPIView):
    """Your family invites, newest first, used and withdrawn ones included."""

    permission_classes = [IsPatient]
    serializer_class = serializers.FamilyInviteSerializer
    queryset = FamilyInvite.objects.none()  # the schema's model; requests use get_queryset

    def get_queryset(self):
        return selectors.invites_of(self.request.user)

    @idempotent
    @extend_schema(
        summary="Invite a family member or friend",
        description=(
            "Signs the consent they get once they accept: the scopes (default check-ins, "
            "counters and meeting attendance; journal scopes only with allow_journal_text), "
            "its lifetime and your typed name. Answers with a single-use code that works for "
            "the given email only, until it expires. The code is shown once and not emailed."
        ),
        request=serializers.FamilyInviteCreateSerializer,
        responses={201: serializers.FamilyInviteCreatedSerializer},
    )
    def post(self, request):
        serializer = serializers.FamilyInviteCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invite, code = services.invite_create(patient=request.user, **serializer.validated_data)
        invite.code = code
        return Response(
            serializers.FamilyInviteCreatedSerializer(invite).data, status=status.HTTP_201_CREATED
        )


@extend_schema(tags=["family"])
class InviteDetailView(APIView):
    permission_classes = [IsPatient]

    @extend_schema(
        summary="Withdraw an unused family invite",
        description="An invite already accepted is a 409: end the family connection instead.",
        responses={204: None, 409: None},
    )
    def delete(self, request, invite_id):
        invite = selectors.invite_get_for_patient(patient=request.user, invite_id=invite_id)
        services.invite_revoke(invite=invite)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["family"])
class RegisterView(PublicAuthView):
    @extend_schema(
        summary="Open a family account with an invite code",
        description=(
            "The email must be the one the patient invited. Confirm it from the emailed link, "
            "sign in, then accept the invite. Answers 202 whether or not the address already "
            "has an account: the email sent to it says which."
        ),
        request=serializers.FamilyRegisterSerializer,
        responses={202: AcceptedSerializer},
    )
    def post(self, request):
        serializer = serializers.FamilyRegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.member_register(**serializer.validated_data)
        return Response({"detail": ACCEPTED}, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["family"])
class InviteAcceptView(APIView):
    permission_classes = [IsFamily]
    throttle_classes = [AuthIPThrottle]

    @idempotent
    @extend_schema(
        summary="Accept a patient's invite",
        description=(
            "Links you to the patient and puts the consent they signed in force. The code "
            "must have been made for your account's email."
        ),
        request=serializers.InviteCodeSerializer,
        responses={201: serializers.FamilyPatientSerializer, 409: None},
    )
    def post(self, request):
        serializer = serializers.InviteCodeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        link = services.invite_accept(member=request.user, code=serializer.validated_data["code"])
        [link] = selectors.with_open_scopes([selectors.patients_of(request.user).get(pk=link.pk)])
        return Response(
            serializers.FamilyPatientSerializer(link).data, status=status.HTTP_201_CREATED
        )


class _LinkListView(generics.ListAPIView):
    queryset = FamilyLink.objects.none()
    ordering = "-created_at"

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return None if page is None else selectors.with_open_scopes(page)


@extend_schema(tags=["family"])
class PatientsView(DisclosesRecords, _LinkListView):
    """The people you support, with what each shares with you now.

    Their records are behind their own endpoints (the family feed and the per-patient
    summary), each showing only what is granted.
    """

    permission_classes = [IsFamily]
    serializer_class = serializers.FamilyPatientSerializer
    pagination_class = DisclosingPagination

    def get_queryset(self):
        return selectors.patients_of(self.request.user)


@extend_schema(tags=["family"])
class MembersView(_LinkListView):
    """Your family members and friends, with what you share with each now."""

    permission_classes = [IsPatient]
    serializer_class = serializers.FamilyMemberSerializer

    def get_queryset(self):
        return selectors.members_of(self.request.user)


@extend_schema(tags=["family"])
class LinkDetailView(APIView):
    permission_classes = [IsFamilyParty]

    @extend_schema(
        summary="End a family connection (patient or family member)",
        description="Every consent between the two is revoked with it, from the next request.",
        responses={204: None},
    )
    def delete(self, request, link_id):
        link = selectors.link_get_for_party(viewer=request.user, link_id=link_id)
        services.link_end(link=link, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
