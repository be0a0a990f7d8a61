"""JWT tokens that carry the user's token generation and their sign-in's family.

Bumping ``User.token_generation`` (password change or reset, deactivation)
revokes every access and refresh token issued before, from the next request on.
Revoking a ``TokenFamily`` (refresh token reuse, sign-out) revokes the tokens of
one sign-in.
"""

from rest_framework_simplejwt.tokens import RefreshToken as SimpleJWTRefreshToken

GENERATION_CLAIM = "gen"
FAMILY_CLAIM = "fam"


class RefreshToken(SimpleJWTRefreshToken):
    @classmethod
    def for_user(cls, user, family_id: str | None = None):
        token = super().for_user(user)
        token[GENERATION_CLAIM] = user.token_generation
        token["role"] = user.role
        if family_id is not None:
            token[FAMILY_CLAIM] = family_id
        return token
