from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed

from backend.accounts.tokens import GENERATION_CLAIM


class JWTAuthentication(authentication.JWTAuthentication):
    """Bearer JWT; refuses tokens issued before the user's last revocation."""

    def get_user(self, validated_token):
        try:
            user = super().get_user(validated_token)
        except (DjangoValidationError, ValueError) as exc:  # a malformed subject id
            raise AuthenticationFailed("This token is not valid.", code="token_not_valid") from exc
        if validated_token.get(GENERATION_CLAIM) != user.token_generation:
            raise AuthenticationFailed("This token has been revoked.", code="token_revoked")
        return user


class JWTAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "backend.accounts.authentication.JWTAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
