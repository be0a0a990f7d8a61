from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Exists, OuterRef
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings

from backend.accounts.models import TokenFamily, User
from backend.accounts.tokens import FAMILY_CLAIM, GENERATION_CLAIM


class JWTAuthentication(authentication.JWTAuthentication):
    """Bearer JWT; refuses tokens issued before the user's last revocation.

    Also refuses the access tokens of a revoked sign-in (refresh token reuse, sign-out),
    in the same query that loads the user.
    """

    def get_user(self, validated_token):
        user_id = validated_token.get(api_settings.USER_ID_CLAIM)
        if user_id is None:
            raise InvalidToken("This token has no user.")
        family_id = validated_token.get(FAMILY_CLAIM)
        try:
            users = User.objects.filter(pk=user_id)
            if family_id is not None:
                revoked = TokenFamily.objects.filter(
                    pk=family_id, user=OuterRef("pk"), revoked_at__isnull=False
                )
                users = users.annotate(family_revoked=Exists(revoked))
            user = users.get()
        except User.DoesNotExist as exc:
            raise AuthenticationFailed("User not found", code="user_not_found") from exc
        except (DjangoValidationError, ValueError) as exc:  # a malformed id
            raise AuthenticationFailed("This token is not valid.", code="token_not_valid") from exc
        if not user.is_active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        if validated_token.get(GENERATION_CLAIM) != user.token_generation or getattr(
            user, "family_revoked", False
        ):
            raise AuthenticationFailed("This token has been revoked.", code="token_revoked")
        return user


class JWTAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "backend.accounts.authentication.JWTAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
