"""Account emails sent after the response: claimed by the scheduler, retried, then deleted.

Claiming is a lease: rows are taken with SELECT ... FOR UPDATE SKIP LOCKED on
PostgreSQL (two senders never take the same row; SQLite has one writer at a
time) and pushed ``LEASE`` into the future, then sent outside the transaction.
A sender that dies leaves them to be claimed again when the lease ends.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from backend.accounts.models import AccountEmail, User, normalize_email

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
BACKOFF_BASE = timedelta(seconds=30)
MAX_ATTEMPTS = 5
BATCH = 50


def account_email_enqueue(*, kind: str, address: str) -> None:
    """Queue an email; one waits per address and kind, so repeating a request adds nothing."""
    AccountEmail.objects.bulk_create(
        [AccountEmail(kind=kind, address=normalize_email(address))], ignore_conflicts=True
    )


def _claim(now: datetime, limit: int) -> list[AccountEmail]:
    with transaction.atomic():
        ids = list(
            AccountEmail.objects.select_for_update(skip_locked=True)
            .filter(next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        AccountEmail.objects.filter(pk__in=ids).update(
            next_attempt_at=now + LEASE, attempts=F("attempts") + 1
        )
    return list(AccountEmail.objects.filter(pk__in=ids))


def _password_reset(address: str) -> tuple[str, str] | None:
    user = User.objects.filter(email=address, is_active=True).first()
    if user is None:
        return None
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    minutes = settings.PASSWORD_RESET_TIMEOUT // 60
    return (
        "Reset your password",
        "Hello,\n\nUse this code in the app to choose a new password. It works for "
        f"{minutes} minutes and only once:\n\nuid: {uid}\ntoken: {token}\n\n"
        "If you did not ask for this, you can ignore this message.\n",
    )


RENDERERS = {AccountEmail.Kind.PASSWORD_RESET: _password_reset}


def account_emails_send(now: datetime | None = None, *, limit: int = BATCH) -> dict[str, int]:
    """Send due account emails (a scheduler job); counts of sent, dropped and failed."""
    now = now or timezone.now()
    counts = {"sent": 0, "dropped": 0, "failed": 0}
    stale = now - timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)
    for email in _claim(now, limit):
        # An unknown address, or a request older than a code's lifetime: nothing to send.
        message = RENDERERS[email.kind](email.address) if email.created_at > stale else None
        if message is None:
            email.delete()
            counts["dropped"] += 1
            continue
        try:
            send_mail(*message, settings.DEFAULT_FROM_EMAIL, [email.address], fail_silently=False)
        except Exception as error:
            # The error's class only: an SMTP error's text or traceback can name the address.
            logger.warning(
                "account email %s failed (attempt %d): %s",
                email.pk,
                email.attempts,
                type(error).__name__,
            )
            counts["failed"] += 1
            if email.attempts >= MAX_ATTEMPTS:
                email.delete()
            else:
                AccountEmail.objects.filter(pk=email.pk).update(
                    next_attempt_at=now + BACKOFF_BASE * 2 ** (email.attempts - 1)
                )
            continue
        email.delete()
        counts["sent"] += 1
    return counts
