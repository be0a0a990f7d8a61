from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts import serializers, services
from backend.accounts.throttles import AuthIPThrottle

ACCEPTED = (
    "If this address can be used, we have sent an email to it. Follow the link in it to continue."
)


class NoStoreMixin:
    """The answers carry tokens or codes, or say something about an account: no cache
    (browser, proxy) may keep them, errors included (RFC 6749 section 5.1)."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response


class PublicAuthView(NoStoreMixin, APIView):
    """Base for endpoints used before sign-in: no credentials, throttled per IP."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthIPThrottle]

    def get_authenticate_header(self, request):
        return 'Bearer realm="api"'


class RegisterView(PublicAuthView):
    @extend_schema(
        tags=["auth"],
        summary="Register as a patient",
        description=(
            "Always answers 202, whether or not the address already has an account: "
            "the email sent to the address says which."
        ),
        request=serializers.RegisterSerializer,
        responses={202: serializers.AcceptedSerializer},
    )
    def post(self, request):
        serializer = serializers.RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.patient_register(**serializer.validated_data)
        return Response({"detail": ACCEPTED}, status=status.HTTP_202_ACCEPTED)


class VerifyEmailView(PublicAuthView):
    @extend_schema(
        tags=["auth"],
        summary="Confirm an email address from the emailed link",
        parameters=[OpenApiParameter("token", str, required=True)],
        responses={200: serializers.AcceptedSerializer},
    )
    def get(self, request):
        serializer = serializers.VerifyEmailSerializer(
            data={"token": request.query_params.get("token", "")}
        )
        serializer.is_valid(raise_exception=True)
        services.email_verify(token=serializer.validated_data["token"])
        return Response({"detail": "Your email address is confirmed. You can sign in now."})

    @extend_schema(
        tags=["auth"],
        summary="Confirm an email address (token in the body)",
        request=serializers.VerifyEmailSerializer,
        responses={200: serializers.AcceptedSerializer},
    )
    def post(self, request):
        serializer = serializers.VerifyEmailSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.email_verify(token=serializer.validated_data["token"])
        return Response({"detail": "Your email address is confirmed. You can sign in now."})


class TokenObtainView(PublicAuthView):
    @extend_schema(
        tags=["auth"],
        summary="Sign in with email and password",
        description=(
            "A wrong password or an unknown address answers 401; an unconfirmed address 403. "
            "Failed attempts make the next one wait (429 with Retry-After), per account and "
            "address, per account (at most a few minutes) and per address."
        ),
        request=serializers.TokenObtainSerializer,
        responses={200: serializers.TokenPairSerializer, 401: None, 403: None},
    )
    def post(self, request):
        serializer = serializers.TokenObtainSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tokens = services.tokens_login(**serializer.validated_data, request=request)
        return Response(tokens)


class TokenRefreshView(PublicAuthView):
    @extend_schema(
        tags=["auth"],
        summary="Exchange a refresh token for a new token pair",
        description=(
            "Refresh tokens are single-use: the one you send is blacklisted. Sending a used "
            "one again (401) also revokes every token of the same sign-in."
        ),
        request=serializers.RefreshSerializer,
        responses={200: serializers.TokenPairSerializer, 401: None},
    )
    def post(self, request):
        serializer = serializers.RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(services.tokens_rotate(raw_refresh=serializer.validated_data["refresh"]))


class LogoutView(PublicAuthView):
    @extend_schema(
        tags=["auth"],
        summary="Sign out: revoke every token of this sign-in",
        request=serializers.RefreshSerializer,
        responses={204: None, 401: None},
    )
    def post(self, request):
        serializer = serializers.RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.tokens_logout(raw_refresh=serializer.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetRequestView(PublicAuthView):
    @extend_schema(
        tags=["auth"],
        summary="Ask for a password reset code by email",
        description="Always answers 202; only the owner of the address learns whether it has an account.",
        request=serializers.PasswordResetRequestSerializer,
        responses={202: serializers.AcceptedSerializer},
    )
    def post(self, request):
        serializer = serializers.PasswordResetRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.password_reset_request(email=serializer.validated_data["email"])
        return Response({"detail": ACCEPTED}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(PublicAuthView):
    @extend_schema(
        tags=["auth"],
        summary="Set a new password with an emailed reset code",
        request=serializers.PasswordResetConfirmSerializer,
        responses={204: None},
    )
    def post(self, request):
        serializer = serializers.PasswordResetConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.password_reset_confirm(**serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(tags=["me"], summary="Your profile", responses={200: serializers.MeSerializer})
    def get(self, request):
        return Response(serializers.MeSerializer(request.user).data)

    @extend_schema(
        tags=["me"],
        summary="Update your profile",
        request=serializers.MeSerializer,
        responses={200: serializers.MeSerializer},
    )
    def patch(self, request):
        serializer = serializers.MeSerializer(request.user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = services.user_update_profile(user=request.user, data=serializer.validated_data)
        return Response(serializers.MeSerializer(user).data)


class PasswordChangeView(NoStoreMixin, APIView):
    throttle_classes = [AuthIPThrottle]

    @extend_schema(
        tags=["me"],
        summary="Change your password",
        description="Every token issued before stops working; the answer carries a new pair for this device.",
        request=serializers.PasswordChangeSerializer,
        responses={200: serializers.TokenPairSerializer},
    )
    def post(self, request):
        serializer = serializers.PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(
            services.user_change_password(
                user=request.user, request=request, **serializer.validated_data
            )
        )


class DeactivateView(APIView):
    throttle_classes = [AuthIPThrottle]

    @extend_schema(
        tags=["me"],
        summary="Deactivate your account",
        description="Sign-in and every token stop working at once. Your records are kept, not deleted.",
        request=serializers.DeactivateSerializer,
        responses={204: None},
    )
    def post(self, request):
        serializer = serializers.DeactivateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_deactivate(
            user=request.user, password=serializer.validated_data["password"], request=request
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
