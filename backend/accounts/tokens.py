"""JWT tokens that carry the user's token generation.

Bumping ``User.token_generation`` (password change or reset, deactivation)
revokes every access and refresh token issued before, from the next request on.
"""

from rest_framework_simplejwt.tokens import RefreshToken as SimpleJWTRefreshToken

GENERATION_CLAIM = "gen"


class RefreshToken(SimpleJWTRefreshToken):
    @classmethod
    def for_user(cls, user):
        token = super().for_user(user)
        token[GENERATION_CLAIM] = user.token_generation
        token["role"] = user.role
        return token
