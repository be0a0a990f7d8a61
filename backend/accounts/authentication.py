import uuid

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connections
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
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
                users = users.annotate(family_revoked=_family_revoked(uuid.UUID(str(family_id))))
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


def _family_revoked(family_id: uuid.UUID) -> RawSQL:
    """EXISTS (the user's token family ``family_id``, revoked), for the user query.

    Written out: Django compiles an Exists(subquery) anew on every request, which
    cost about a millisecond of CPU on each authenticated request.
    """
    connection = connections[User.objects.db]
    quote = connection.ops.quote_name
    family = TokenFamily._meta
    table = quote(family.db_table)
    sql = (
        f"EXISTS (SELECT 1 FROM {table} WHERE {table}.{quote(family.pk.column)} = %s "  # noqa: S608 - names from our models
        f"AND {table}.{quote(family.get_field('user').column)} = "
        f"{quote(User._meta.db_table)}.{quote(User._meta.pk.column)} "
        f"AND {table}.{quote(family.get_field('revoked_at').column)} IS NOT NULL)"
    )
    pk = family.pk.get_db_prep_value(family_id, connection)
    # Names from our own models, the id as a parameter: nothing from the client is pasted in.
    return RawSQL(sql, (pk,), output_field=BooleanField())  # noqa: S611


class JWTAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "backend.accounts.authentication.JWTAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
