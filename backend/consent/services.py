"""Writes of consent grants: signing, revoking, and revoking when a relationship ends."""

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from backend.accounts.models import User
from backend.consent.models import ConsentGrant, GrantScope
from backend.consent.scopes import PURPOSES_BY_ROLE, REVEALS_JOURNAL_TEXT, Scope
from backend.core.errors import Conflict

DEFAULT_GRANT_LIFETIME = timedelta(days=365)
MAX_GRANT_LIFETIME = timedelta(days=5 * 365)


# Who a patient may grant to: someone linked to them now. The apps that hold the links
# (care, family) sit above consent, so each names its rule for its role at start-up
# (their AppConfig.ready); a role with no rule receives no grant.
LinkRule = Callable[[User, User], bool]
_link_rules: dict[str, LinkRule] = {}


def link_rule_register(*, role: str, rule: LinkRule) -> None:
    """``rule(patient, recipient)``: the recipient of ``role`` is linked to the patient now."""
    _link_rules[role] = rule


def _recipient_is_connected(*, patient: User, recipient: User) -> bool:
    rule = _link_rules.get(recipient.role)
    return rule is not None and rule(patient, recipient)


def describe(scopes: Iterable[str]) -> str:
    """The information a grant discloses, in words, as the patient signs it."""
    return "; ".join(str(Scope(s).label) for s in scopes) + "."


def _close_expired(*, patient: User, recipient: User, now: datetime) -> None:
    # An expired row no longer counts as the one open grant for its scope.
    GrantScope.objects.filter(
        patient=patient, recipient=recipient, ended_at__isnull=True, expires_at__lte=now
    ).update(ended_at=F("expires_at"))


@transaction.atomic
def grant_create(  # noqa: PLR0913 (each term of a signed consent, 42 CFR 2.31, by name)
    *,
    patient: User,
    recipient_id: UUID,
    scopes: list[str],
    purpose: str,
    signature_name: str,
    expires_at: datetime | None = None,
    starts_at: datetime | None = None,
    allow_journal_text: bool = False,
    signed_at: datetime | None = None,
) -> ConsentGrant:
    """Record a signed consent for a linked therapist or accepted family member.

    ``signed_at``: when the patient signed, if earlier than now (a family invite
    is signed when created and put in force when accepted).
    """
    now = timezone.now()
    if signed_at is not None and signed_at > now:
        raise ValueError("A consent cannot be signed in the future.")
    starts_at = starts_at or now
    expires_at = expires_at or starts_at + DEFAULT_GRANT_LIFETIME
    recipient = User.objects.filter(pk=recipient_id, is_active=True).first()
    if recipient is None or not _recipient_is_connected(patient=patient, recipient=recipient):
        raise ValidationError(
            {
                "recipient": [
                    "Choose a therapist on your care team or a family member who accepted your invite."
                ]
            }
        )
    errors = grant_terms_errors(
        recipient_role=recipient.role,
        purpose=purpose,
        scopes=scopes,
        allow_journal_text=allow_journal_text,
        starts_at=starts_at,
        expires_at=expires_at,
        signature_name=signature_name,
        now=now,
    )
    if errors:
        raise ValidationError(errors)

    _close_expired(patient=patient, recipient=recipient, now=now)
    grant = ConsentGrant.objects.create(
        patient=patient,
        recipient=recipient,
        recipient_role=recipient.role,
        purpose=purpose,
        description=describe(scopes),
        starts_at=starts_at,
        expires_at=expires_at,
        signature_name=signature_name.strip(),
        signed_at=signed_at or now,
    )
    _scopes_create(grant=grant, scopes=scopes)
    return grant


def grant_terms_errors(
    *,
    recipient_role: str,
    purpose: str,
    scopes: list[str],
    allow_journal_text: bool,
    starts_at: datetime,
    expires_at: datetime,
    signature_name: str,
    now: datetime,
) -> dict[str, list[str]]:
    """What is wrong with a consent's terms, field by field (empty: nothing). Reads nothing."""
    errors: dict[str, list[str]] = {}
    if purpose not in PURPOSES_BY_ROLE[recipient_role]:
        allowed = ", ".join(sorted(PURPOSES_BY_ROLE[recipient_role]))
        errors["purpose"] = [f"For this recipient the purpose is one of: {allowed}."]
    family_reads_text = recipient_role == User.Role.FAMILY and REVEALS_JOURNAL_TEXT & set(scopes)
    if family_reads_text and not allow_journal_text:
        errors["scopes"] = [
            "journal.shared and journal.all show your own words; for family they are off "
            "unless you also send allow_journal_text: true."
        ]
    if expires_at <= now:
        errors["expires_at"] = ["Choose a time in the future."]
    elif expires_at <= starts_at:
        errors["expires_at"] = ["Must be after starts_at."]
    elif expires_at - starts_at > MAX_GRANT_LIFETIME:
        errors["expires_at"] = ["A consent lasts at most five years; sign a new one then."]
    if not signature_name.strip():
        errors["signature_name"] = ["Type your name to sign."]
    return errors


def _scopes_create(*, grant: ConsentGrant, scopes: list[str]) -> None:
    """The grant's scopes, each one the only one in force per patient, recipient and scope."""
    patient, recipient = grant.patient, grant.recipient
    try:
        with transaction.atomic():
            GrantScope.objects.bulk_create(
                GrantScope(
                    grant=grant,
                    patient=patient,
                    recipient=recipient,
                    scope=scope,
                    starts_at=grant.starts_at,
                    expires_at=grant.expires_at,
                )
                for scope in scopes
            )
    except IntegrityError as exc:
        taken = sorted(
            GrantScope.objects.filter(
                patient=patient, recipient=recipient, scope__in=scopes, ended_at__isnull=True
            ).values_list("scope", flat=True)
        )
        raise Conflict(
            f"You already share {', '.join(taken)} with this person under another consent. "
            "Revoke that consent first, then sign a new one."
        ) from exc


@transaction.atomic
def grant_revoke(*, grant: ConsentGrant, by: User, reason: str = "") -> ConsentGrant:
    """Revoke a grant from now on (a second revocation changes nothing)."""
    grant = ConsentGrant.objects.select_for_update().get(pk=grant.pk)
    if grant.revoked_at is None:
        now = timezone.now()
        grant.revoked_at, grant.revoked_by, grant.revoked_reason = now, by, reason[:200]
        grant.save(update_fields=["revoked_at", "revoked_by", "revoked_reason"])
        GrantScope.objects.filter(grant=grant, ended_at__isnull=True).update(ended_at=now)
    return grant


def grants_revoke_between(*, patient: User, recipient: User, by: User, reason: str) -> int:
    """Revoke every grant from patient to recipient (when the relationship ends)."""
    open_grants = ConsentGrant.objects.filter(
        patient=patient, recipient=recipient, revoked_at__isnull=True
    )
    count = 0
    for grant in open_grants:
        grant_revoke(grant=grant, by=by, reason=reason)
        count += 1
    return count


def grants_revoke_all(*, user: User, reason: str) -> int:
    """Revoke every open grant the user gave or received (the account is closing)."""
    count = 0
    for grant in ConsentGrant.objects.filter(
        Q(patient=user) | Q(recipient=user), revoked_at__isnull=True
    ):
        grant_revoke(grant=grant, by=user, reason=reason)
        count += 1
    return count
