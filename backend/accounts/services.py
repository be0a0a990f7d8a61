"""Writes to accounts: registration, verification, passwords, tokens."""

import uuid
from datetime import time, timedelta
from typing import Any, cast

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import update_last_login
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import Token

from backend.accounts import ratelimit
from backend.accounts.models import AccountEmail, TokenFamily, User, normalize_email
from backend.accounts.outbox import account_email_enqueue
from backend.accounts.signals import account_closed, clock_changed
from backend.accounts.throttles import AuthIPThrottle, SignInBackoff
from backend.accounts.tokens import FAMILY_CLAIM, GENERATION_CLAIM, RefreshToken

VERIFY_EMAIL_SALT = "accounts.verify-email"


# --- email -----------------------------------------------------------------


def _send(*, to: str, subject: str, body: str) -> None:
    # After commit: no email about a registration that rolled back.
    transaction.on_commit(
        lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to], fail_silently=False)
    )


def _password_stamp(user: User) -> str:
    # Binds a verification link to the password it was sent for: a later sign-up for
    # the same unconfirmed address (with another password) makes earlier links useless.
    return salted_hmac(VERIFY_EMAIL_SALT, user.password, algorithm="sha256").hexdigest()[:16]


def _verification_link(user: User) -> str:
    token = signing.dumps(
        {"u": str(user.pk), "e": user.email, "p": _password_stamp(user)},
        salt=VERIFY_EMAIL_SALT,
        compress=True,
    )
    return f"{settings.PUBLIC_BASE_URL}/api/v1/auth/verify-email/?token={token}"


def _send_verification(user: User) -> None:
    hours = int(settings.EMAIL_VERIFICATION_MAX_AGE.total_seconds() // 3600)
    _send(
        to=user.email,
        subject="Confirm your email address",
        body=(
            "Hello,\n\nOpen this link to confirm your email address and finish setting up "
            f"your account:\n\n{_verification_link(user)}\n\nThe link works for {hours} hours. "
            "If you did not ask for this, you can ignore this message.\n"
        ),
    )


def _send_already_registered(user: User) -> None:
    _send(
        to=user.email,
        subject="Sign-up attempt with your email address",
        body=(
            "Hello,\n\nSomeone, perhaps you, tried to create an account with this email "
            "address, which already has one. If it was you, sign in instead, or reset your "
            "password from the sign-in screen. If it was not you, you can ignore this message: "
            "nothing was changed.\n"
        ),
    )


# --- registration and verification -------------------------------------------


@transaction.atomic
def patient_register(
    *, email: str, password: str, display_name: str, time_zone: str, locale: str
) -> None:
    """Create an unverified patient and email a verification link."""
    account_register(
        role=User.Role.PATIENT,
        email=email,
        password=password,
        display_name=display_name,
        time_zone=time_zone,
        locale=locale,
    )


@transaction.atomic
def account_register(
    *, role: str, email: str, password: str, display_name: str, time_zone: str, locale: str
) -> None:
    """Create an unverified account of ``role`` and email a verification link.

    The caller learns nothing about whether the address was already known: the
    same answer, the same work (a password hash), and an email only its owner reads.
    """
    email = normalize_email(email)
    existing = User.objects.filter(email=email).first()
    if existing is None:
        user = User(
            email=email,
            role=role,
            display_name=display_name,
            time_zone=time_zone,
            locale=locale,
        )
        user.set_password(password)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            existing = User.objects.get(email=email)
        else:
            _send_verification(user)
            return
    if existing.email_verified or not existing.is_active:
        make_password(password)
        _send_already_registered(existing)
        return
    # Never confirmed, so never signed in: the latest sign-up wins. Whoever started
    # it earlier (perhaps someone else, with a password of their own) loses it, and
    # only a link sent for the new password can confirm the address.
    existing = User.objects.select_for_update().get(pk=existing.pk)
    existing.role, existing.display_name = role, display_name
    existing.time_zone, existing.locale = time_zone, locale
    existing.set_password(password)
    existing.save(update_fields=["role", "display_name", "time_zone", "locale", "password"])
    _send_verification(existing)


def _invalid_link() -> exceptions.ValidationError:
    return exceptions.ValidationError({"token": ["This link is invalid or has expired."]})


@transaction.atomic
def email_verify(*, token: str) -> User:
    """Mark the address in a signed, unexpired link as verified (idempotent)."""
    try:
        payload = signing.loads(
            token,
            salt=VERIFY_EMAIL_SALT,
            max_age=settings.EMAIL_VERIFICATION_MAX_AGE,
        )
    except signing.BadSignature as exc:
        raise _invalid_link() from exc
    if not isinstance(payload, dict):
        raise _invalid_link()
    # A link without "u" matches no one (pk=None); the stubs do not allow None here.
    user = User.objects.select_for_update().filter(pk=payload.get("u"), is_active=True).first()  # type: ignore[misc]
    if user is None or user.email != payload.get("e") or payload.get("p") != _password_stamp(user):
        raise _invalid_link()
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
    return user


# --- tokens --------------------------------------------------------------------


def tokens_issue(
    *, user: User, family: TokenFamily | None = None, origin_jti: str = ""
) -> dict[str, str]:
    """A new token pair: a new sign-in's family, or the next of ``family`` on rotation.

    ``origin_jti`` names the pre-family refresh token a new family was rotated from.
    """
    family_id = str(family.pk) if family is not None else str(uuid.uuid4())
    refresh = RefreshToken.for_user(user, family_id=family_id)
    if family is None:
        TokenFamily.objects.create(
            id=family_id, user=user, current_jti=refresh["jti"], origin_jti=origin_jti
        )
    else:
        family.current_jti, family.rotated_at = refresh["jti"], timezone.now()
        family.save(update_fields=["current_jti", "rotated_at"])
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


class _UncheckedRefreshToken(RefreshToken):
    """Checks signature, expiry and type, but not the blacklist: the caller looks at it
    (a used token presented again is reuse; signing out twice is harmless)."""

    def verify(self, *args, **kwargs):
        Token.verify(self, *args, **kwargs)


def _refresh_token(raw: str) -> RefreshToken:
    try:
        # simplejwt annotates the encoded token as a Token; it takes the string.
        return _UncheckedRefreshToken(raw)  # type: ignore[arg-type]
    except TokenError as exc:
        raise InvalidToken("This refresh token is invalid, expired or already used.") from exc


def _family_revoke(family: TokenFamily, reason: str) -> None:
    # The family's unused refresh token goes on the blacklist too, so it is refused
    # with or without looking at the family.
    if family.revoked_at is None:
        family.revoked_at, family.revoke_reason = timezone.now(), reason
        family.save(update_fields=["revoked_at", "revoke_reason"])
    current = OutstandingToken.objects.filter(jti=family.current_jti).first()
    if current is not None:
        BlacklistedToken.objects.get_or_create(token=current)


def _locked_family(token: Token) -> TokenFamily | None:
    family_id = token.get(FAMILY_CLAIM)
    families = TokenFamily.objects.select_for_update()
    if family_id is None:  # issued before families existed: the family its rotation began
        return families.filter(origin_jti=token["jti"]).first()
    return families.filter(pk=family_id).first()


def _rotate(token: RefreshToken) -> dict[str, str] | str:
    # The family is locked first, then the token: every path takes them in this order.
    family = _locked_family(token)
    outstanding = (
        OutstandingToken.objects.select_for_update(of=("self",)).filter(jti=token["jti"]).first()
    )
    if outstanding is None:
        return "This refresh token is invalid, expired or already used."
    if BlacklistedToken.objects.filter(token=outstanding).exists():
        if family is not None:
            # Reuse: whoever holds the newest token of this sign-in may be the thief.
            _family_revoke(family, TokenFamily.RevokeReason.REUSE)
        return "This refresh token is invalid, expired or already used."
    user = User.objects.filter(pk=token.get("sub")).first()
    if (
        user is None
        or not user.is_active
        or token.get(GENERATION_CLAIM) != user.token_generation
        or (family is not None and family.revoked_at is not None)
    ):
        return "This refresh token has been revoked."
    BlacklistedToken.objects.create(token=outstanding)
    if family is None:  # a pre-family token's first rotation starts its sign-in's family
        return tokens_issue(user=user, origin_jti=token["jti"])
    return tokens_issue(user=user, family=family)


def tokens_rotate(*, raw_refresh: str) -> dict[str, str]:
    """Exchange a refresh token for a new pair; the old one can never be used again.

    Presenting a used refresh token again revokes every token of its sign-in.
    """
    token = _refresh_token(raw_refresh)
    # The revocation of a reused token's family commits, though the request fails.
    with transaction.atomic():
        outcome = _rotate(token)
    if isinstance(outcome, str):
        raise InvalidToken(outcome)
    return outcome


@transaction.atomic
def tokens_logout(*, raw_refresh: str) -> None:
    """Sign out: revoke every token of this refresh token's sign-in; twice is harmless."""
    try:
        # simplejwt annotates the encoded token as a Token; it takes the string.
        token = _UncheckedRefreshToken(raw_refresh)  # type: ignore[arg-type]
    except TokenError as exc:
        raise InvalidToken("This refresh token is invalid or expired.") from exc
    family = _locked_family(token)
    if family is not None:
        _family_revoke(family, TokenFamily.RevokeReason.LOGOUT)
    token.blacklist()


def check_new_password(password: str, user: User, field: str = "new_password") -> None:
    """Django's password validators, as a field error on `field`."""
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise exceptions.ValidationError({field: list(exc.messages)}) from exc


def _revoke_all_tokens(user: User) -> None:
    User.objects.filter(pk=user.pk).update(token_generation=F("token_generation") + 1)
    user.refresh_from_db(fields=["token_generation"])


# --- profile and password ----------------------------------------------------------


@transaction.atomic
def user_update_profile(*, user: User, data: dict[str, Any]) -> User:
    """Update the editable profile fields (display name, time zone, quiet hours, locale)."""
    allowed = {"display_name", "time_zone", "quiet_hours_start", "quiet_hours_end", "locale"}
    changed = [name for name in data if name in allowed]
    for name in changed:
        setattr(user, name, data[name])
    start: time | None = user.quiet_hours_start
    end: time | None = user.quiet_hours_end
    if (start is None) != (end is None):
        raise exceptions.ValidationError(
            {
                "quiet_hours_end" if start else "quiet_hours_start": [
                    "Set both quiet-hours times, or neither."
                ]
            }
        )
    if start is not None and start == end:
        raise exceptions.ValidationError(
            {"quiet_hours_end": ["Quiet hours must end at another time than they start."]}
        )
    if changed:
        user.save(update_fields=changed)
    if {"time_zone", "quiet_hours_start", "quiet_hours_end"} & set(changed):
        # Reminders were planned on the old clock: plan them again on the new one.
        clock_changed.send(sender=User, user=user, changed=frozenset(changed))
    return user


def _password_recheck(
    *, user: User, password: str, field: str, request: Request | None = None
) -> None:
    """A signed-in user's password, checked under the sign-in back-off.

    A stolen token must not turn these checks into an unthrottled way to guess the
    password. Called outside any transaction, so a failure's count is kept.
    """
    ip = AuthIPThrottle().get_ident(request) if request is not None else ""
    backoff = SignInBackoff(email=user.email, ip=ip, generation=user.token_generation)
    wait = backoff.claim()
    if wait is not None:
        raise exceptions.Throttled(
            wait=wait, detail="Too many wrong passwords: wait before trying again."
        )
    if not user.check_password(password):
        raise exceptions.ValidationError({field: ["This is not your current password."]})
    backoff.succeeded()


def user_change_password(
    *, user: User, current_password: str, new_password: str, request: Request | None = None
) -> dict[str, str]:
    """Change the password, revoke every earlier token, and return a fresh pair for this device."""
    _password_recheck(
        user=user, password=current_password, field="current_password", request=request
    )
    return _password_change(user=user, new_password=new_password)


@transaction.atomic
def _password_change(*, user: User, new_password: str) -> dict[str, str]:
    check_new_password(new_password, user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    _revoke_all_tokens(user)
    return tokens_issue(user=user)


def user_deactivate(*, user: User, password: str, request: Request | None = None) -> None:
    """Close the account: no sign-in and no token works any more. Records are kept."""
    _password_recheck(user=user, password=password, field="password", request=request)
    _account_close(user)


@transaction.atomic
def _account_close(user: User) -> None:
    user.is_active = False
    user.deactivated_at = timezone.now()
    user.save(update_fields=["is_active", "deactivated_at"])
    _revoke_all_tokens(user)
    # A closed account shares nothing any more, and receives nothing.
    account_closed.send(sender=User, user=user)


def password_reset_request(*, email: str) -> None:
    """Queue a reset email for the address; the sender mails it only to an active account.

    The request does the same work for every address and never waits for the mail
    server: whether an account exists shows neither in the answer nor in its timing.
    """
    account_email_enqueue(kind=AccountEmail.Kind.PASSWORD_RESET, address=email)


@transaction.atomic
def password_reset_confirm(*, uid: str, token: str, new_password: str) -> None:
    """Set a new password from a reset token; every earlier token stops working."""
    try:
        pk = uuid.UUID(force_str(urlsafe_base64_decode(uid)))
    except (ValueError, TypeError, OverflowError):
        pk = None
    user = User.objects.select_for_update().filter(pk=pk, is_active=True).first() if pk else None
    if user is None or not default_token_generator.check_token(user, token):
        raise exceptions.ValidationError({"token": ["This reset code is invalid or has expired."]})
    check_new_password(new_password, user)
    user.set_password(new_password)
    if user.email_verified_at is None:
        # Receiving the reset email proves the address.
        user.email_verified_at = timezone.now()
    user.save(update_fields=["password", "email_verified_at"])
    _revoke_all_tokens(user)


# --- staff ------------------------------------------------------------------


@transaction.atomic
def therapist_create(
    *, email: str, display_name: str, password: str | None, time_zone: str | None = None
) -> User:
    """Create a verified therapist account (clinic admins only, via admin or command)."""
    if password is not None:
        validate_password(password, user=User(email=email, display_name=display_name))
    extra: dict[str, Any] = {}
    if time_zone:
        extra["time_zone"] = time_zone
    return User.objects.create_user(
        email,
        password,
        role=User.Role.THERAPIST,
        display_name=display_name,
        email_verified_at=timezone.now(),
        **extra,
    )


@transaction.atomic
def therapist_deactivate(*, therapist: User, by: User) -> bool:
    """Close a therapist's account for the clinic: no sign-in, no token, no grant works any more.

    Returns False when it was closed already. Records are kept (``by`` is the clinic admin).
    """
    if therapist.role != User.Role.THERAPIST:
        raise exceptions.ValidationError({"therapist": ["Only a therapist's account closes here."]})
    if therapist.pk == by.pk:
        raise exceptions.ValidationError({"therapist": ["You cannot close your own account here."]})
    if not therapist.is_active:
        return False
    _account_close(therapist)
    return True


def sign_in_check(*, email: str, password: str, request: HttpRequest | None = None) -> User | None:
    """The user these credentials name, or None; under the sign-in back-off (Throttled).

    Every password sign-in (the API's and the admin's) goes through here.
    """
    email = normalize_email(email)
    generation = (
        User.objects.filter(email=email).values_list("token_generation", flat=True).first() or 0
    )
    # The admin's sign-in passes an HttpRequest; get_ident reads only its META.
    ip = AuthIPThrottle().get_ident(request) if request is not None else ""  # type: ignore[arg-type]
    backoff = SignInBackoff(email=email, ip=ip, generation=generation)
    wait = backoff.claim()
    if wait is not None:
        raise exceptions.Throttled(
            wait=wait, detail="Too many failed sign-in attempts: wait before trying again."
        )
    user = authenticate(request, email=email, password=password)
    if user is not None:
        backoff.succeeded()
    return user


def tokens_login(*, email: str, password: str, request: Request | None = None) -> dict[str, str]:
    """Check credentials and issue a token pair.

    An unknown email and a wrong password get the same answer; repeated failures
    for one account are throttled whether or not the account exists.
    """
    user = sign_in_check(email=email, password=password, request=request)
    if user is None:
        raise AuthenticationFailed(
            "The email or password is incorrect.", code="invalid_credentials"
        )
    if not user.email_verified:
        raise exceptions.PermissionDenied(
            "Confirm your email address first: open the link we sent you, or register again to get a new one."
        )
    update_last_login(User, user)
    return tokens_issue(user=user)


def auth_records_purge() -> dict[str, int]:
    """Delete expired throttle counters and sign-ins whose refresh tokens have all expired."""
    cutoff = timezone.now() - cast(timedelta, settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"])
    families, _ = TokenFamily.objects.filter(rotated_at__lt=cutoff).delete()
    return {"counters": ratelimit.counters_purge(), "token families": families}
