"""Writes of consent grants, the disclosure log and feed reviews."""

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from backend.accounts.models import User
from backend.care.models import CareLink
from backend.consent import policy
from backend.consent.models import ConsentGrant, DisclosureLog, FeedItem, FeedReview, GrantScope
from backend.consent.policy import Held, HeldScope
from backend.consent.scopes import PURPOSES_BY_ROLE, REVEALS_JOURNAL_TEXT, Purpose, Scope
from backend.core.errors import Conflict

T = TypeVar("T")

DEFAULT_GRANT_LIFETIME = timedelta(days=365)
MAX_GRANT_LIFETIME = timedelta(days=5 * 365)


def _recipient_is_connected(*, patient: User, recipient: User) -> bool:
    from backend.family.models import FamilyLink

    if recipient.role == User.Role.THERAPIST:
        return CareLink.objects.filter(
            patient=patient, therapist=recipient, ended_at__isnull=True
        ).exists()
    if recipient.role == User.Role.FAMILY:
        return FamilyLink.objects.filter(
            patient=patient, member=recipient, ended_at__isnull=True
        ).exists()
    return False


def describe(scopes: Iterable[str]) -> str:
    """The information a grant discloses, in words, as the patient signs it."""
    return "; ".join(str(Scope(s).label) for s in scopes) + "."


def _close_expired(*, patient: User, recipient: User, now: datetime) -> None:
    # An expired row no longer counts as the one open grant for its scope.
    GrantScope.objects.filter(
        patient=patient, recipient=recipient, ended_at__isnull=True, expires_at__lte=now
    ).update(ended_at=F("expires_at"))


@transaction.atomic
def grant_create(
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


@dataclass(frozen=True)
class Disclosure:
    """What one response showed of one patient's records, and under which scope."""

    patient_id: UUID
    scope: str
    kind: str
    record_ids: list[str] | None
    count: int
    # Seen without a consent (the therapist who assigned homework): logged all the same.
    without_grant: bool = False


def _client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def disclosures_record(*, request, viewer: User, held: Held, items: Iterable[Disclosure]) -> None:
    """Append one disclosure-log row per patient and kind of record shown (42 CFR 2.25).

    ``held`` is what policy.scopes_held returned for this request; a disclosure
    not covered by it is a bug, and fails the request rather than go unlogged.
    """
    now = timezone.now()
    endpoint = f"{request.method} {request.path}"[:200]
    rows = []
    for item in items:
        if item.count == 0:
            continue
        if item.without_grant:
            row = HeldScope(grant_id=None, purpose=Purpose.TREATMENT)
        else:
            row = held[item.patient_id][item.scope]
        rows.append(
            DisclosureLog(
                viewer=viewer,
                viewer_role=viewer.role,
                patient_id=item.patient_id,
                kind=item.kind,
                record_ids=item.record_ids or [],
                record_count=item.count,
                grant_id=row.grant_id,
                purpose=row.purpose,
                at=now,
                endpoint=endpoint,
                ip=_client_ip(request),
            )
        )
    DisclosureLog.objects.bulk_create(rows)


def records_disclose(
    *,
    request,
    viewer: User,
    records: Sequence[T],
    scope: str,
    kind: str,
    now: datetime,
    patient_of: Callable[[T], UUID] = lambda record: record.patient_id,
    seen_without_grant: Callable[[T], bool] | None = None,
) -> list[T]:
    """The records the viewer may be shown, each disclosure logged (42 CFR 2.25).

    A patient's own records pass unlogged. For anyone else, a record is shown
    when a grant in force gives ``scope`` for its patient (logged under that
    grant, one row per patient), or when ``seen_without_grant`` says the viewer
    sees it as part of the program's own treatment (the assigning therapist of
    homework): not a disclosure under consent, but logged too (without a grant,
    purpose treatment), so the patient's accounting shows every read. A record
    that fits neither (a grant revoked while this request ran) is left out.
    """
    if viewer.role == User.Role.PATIENT:
        return [record for record in records if patient_of(record) == viewer.pk]
    if not records:
        return []
    held = policy.scopes_held(
        viewer, {patient_of(record) for record in records}, now=now, scopes=[scope]
    )
    shown: list[T] = []
    ids: dict[UUID, list[str]] = defaultdict(list)
    own_ids: dict[UUID, list[str]] = defaultdict(list)
    for record in records:
        patient_id = patient_of(record)
        if scope in held.get(patient_id, {}):
            shown.append(record)
            ids[patient_id].append(str(record.pk))
        elif seen_without_grant is not None and seen_without_grant(record):
            shown.append(record)
            own_ids[patient_id].append(str(record.pk))
    disclosures_record(
        request=request,
        viewer=viewer,
        held=held,
        items=[
            *(Disclosure(pid, scope, kind, pks, len(pks)) for pid, pks in ids.items()),
            *(
                Disclosure(pid, scope, kind, pks, len(pks), without_grant=True)
                for pid, pks in own_ids.items()
            ),
        ],
    )
    return shown


@transaction.atomic
def feed_item_review(*, item: FeedItem, reviewer: User, comment: str = "") -> FeedReview:
    """Mark a feed item reviewed, with an optional comment for the patient (re-reviewing edits it)."""
    review, _ = FeedReview.objects.update_or_create(
        item=item,
        reviewer=reviewer,
        defaults={"comment": comment, "reviewed_at": timezone.now()},
    )
    return review
