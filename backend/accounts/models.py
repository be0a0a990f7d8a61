import uuid

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from backend.core.time import validate_time_zone


def normalize_email(email: str) -> str:
    """Emails are unique case-insensitively; store them lower-cased and trimmed."""
    return (email or "").strip().lower()


def default_time_zone() -> str:
    return settings.DEFAULT_USER_TIME_ZONE


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        return self.get(email=normalize_email(username))

    def create_user(self, email: str, password: str | None = None, **extra) -> "User":
        if not email:
            raise ValueError("An email is required.")
        user = self.model(email=normalize_email(email), **extra)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> "User":
        extra.update(role=User.Role.CLINIC_ADMIN, is_staff=True, is_superuser=True)
        extra.setdefault("email_verified_at", timezone.now())
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    class Role(models.TextChoices):
        PATIENT = "patient", "Patient"
        THERAPIST = "therapist", "Therapist"
        FAMILY = "family", "Family member or friend"
        CLINIC_ADMIN = "clinic_admin", "Clinic admin"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(max_length=254, unique=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.PATIENT)
    display_name = models.CharField(max_length=80, blank=True)
    time_zone = models.CharField(
        max_length=64, default=default_time_zone, validators=[validate_time_zone]
    )
    quiet_hours_start = models.TimeField(
        null=True, blank=True, help_text="Local time; may be after the end (wraps midnight)."
    )
    quiet_hours_end = models.TimeField(null=True, blank=True)
    locale = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    email_verified_at = models.DateTimeField(null=True, blank=True)
    # Every token carries this number; bumping it revokes every token issued before
    # (password change or reset, deactivation).
    token_generation = models.PositiveIntegerField(default=0, editable=False)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["date_joined"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=["patient", "therapist", "family", "clinic_admin"]),
                name="user_role_known",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(quiet_hours_start__isnull=True, quiet_hours_end__isnull=True)
                    | models.Q(quiet_hours_start__isnull=False, quiet_hours_end__isnull=False)
                ),
                name="user_quiet_hours_both_or_neither",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.email

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email(self.email)


class RateLimitCounter(models.Model):
    """A throttling or sign-in back-off counter, when the cache is the database.

    Django's database cache increments by reading and writing back, so two workers
    can both count 5 and write 6; these rows are changed by single SQL statements
    (or under a row lock) instead. Times are epoch milliseconds, as in Redis.
    """

    key = models.CharField(max_length=80, primary_key=True)
    count = models.IntegerField(default=0)
    touched_ms = models.BigIntegerField(default=0)
    expires_ms = models.BigIntegerField(db_index=True)

    class Meta:
        db_table = "accounts_ratelimitcounter"  # named in backend/accounts/ratelimit.py's SQL

    def __str__(self) -> str:
        return self.key


class TokenFamily(models.Model):
    """The refresh tokens descended from one sign-in: each rotation hands the family on.

    A rotated refresh token presented again means two parties hold the family (RFC
    9700, section 4.14.2): the whole family is revoked, the newest refresh token and
    its access tokens included. Signing out revokes it too.
    """

    class RevokeReason(models.TextChoices):
        REUSE = "reuse", "A rotated refresh token was used again"
        LOGOUT = "logout", "Signed out"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="token_families"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The one refresh token of the family that is not yet used (its jti).
    current_jti = models.CharField(max_length=255)
    # A refresh token issued before families existed, whose rotation began this one:
    # replaying it revokes this family like any other used token of the sign-in.
    origin_jti = models.CharField(max_length=255, blank=True, db_index=True)
    rotated_at = models.DateTimeField(default=timezone.now, db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=16, choices=RevokeReason.choices, blank=True)

    class Meta:
        verbose_name_plural = "token families"

    def __str__(self) -> str:
        return f"sign-in {self.pk}"


class AccountEmail(models.Model):
    """An account email the scheduler sends after the request has answered.

    A password reset request writes one of these whatever the address, and the
    sender looks the address up: known and unknown addresses take the same path,
    and the answer never waits for the mail server. One waits per address and kind.
    Rows are deleted once handled; no reset code is ever stored.
    """

    class Kind(models.TextChoices):
        PASSWORD_RESET = "password_reset", "Password reset"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    address = models.EmailField(max_length=254)
    created_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "address"], name="account_email_one_waiting")
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"
