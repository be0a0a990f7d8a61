"""What the seed scripts share. Import after django.setup()."""

from django.utils import timezone

from backend.accounts.models import User


def bench_user(email: str, role: str, display_name: str, time_zone: str) -> User:
    """The account with this address, created verified and without a password if new.

    Bench accounts never sign in: they only hold tokens.
    """
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email,
            password=None,
            role=role,
            display_name=display_name,
            time_zone=time_zone,
            email_verified_at=timezone.now(),
        )
    return user
