"""Invite codes: single-use, expiring, withdrawable, stored only as a keyed hash.

A therapist's care invite and a patient's family invite are both one of these;
each app adds who issued it and what accepting it does. The plain code exists
only in the answer to whoever created it (see backend.core.codes).
"""

import uuid
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

from django.conf import settings
from django.db import models
from django.db.models import QuerySet
from django.utils import timezone

from backend.core import codes


class InviteCode(models.Model):
    """The code part of an invite. Subclasses set ``code_purpose`` (the hash's key purpose:
    a code of one kind never matches an invite of another)."""

    code_purpose: ClassVar[str]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @classmethod
    def hash_code(cls, code: str) -> str:
        return codes.hash_code(code, purpose=cls.code_purpose)


Invite = TypeVar("Invite", bound=InviteCode)


def invite_issue(
    *, model: type[Invite], lifetime: timedelta, now: datetime, fields: dict[str, Any]
) -> tuple[Invite, str]:
    """A new invite of ``model`` with ``fields``; returns it and its plain code (only now)."""
    code = codes.new_code()
    invite = model._default_manager.create(
        code_hash=model.hash_code(code), expires_at=now + lifetime, **fields
    )
    return invite, code


def usable_invites(*, model: type[Invite], code: str, now: datetime) -> QuerySet[Invite]:
    """The invite this code names, if unused, not withdrawn and not expired (else none)."""
    return model._default_manager.filter(
        code_hash=model.hash_code(code),
        used_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=now,
    )


def invite_use(*, invite: InviteCode, by: Any, now: datetime) -> None:
    """Spend the invite: it names who used it and can never be used again."""
    invite.used_at = now
    invite.used_by = by
    invite.save(update_fields=["used_at", "used_by"])


def invite_withdraw(*, invite: InviteCode) -> None:
    """Withdraw an unused invite; a used or already withdrawn one stays as it is."""
    if invite.used_at is None and invite.revoked_at is None:
        invite.revoked_at = timezone.now()
        invite.save(update_fields=["revoked_at"])
