"""Writes of the disclosure log (42 CFR 2.25): one append-only row per patient and kind seen."""

from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from django.http import HttpRequest
from django.utils import timezone

from backend.accounts.models import User
from backend.disclosure.models import DisclosureLog


@dataclass(frozen=True)
class Disclosure:
    """What one response showed of one patient's records, and under which scope.

    ``scope`` is empty for a record seen without a consent, as the program's own
    treatment record (the therapist who assigned a homework).
    """

    patient_id: UUID
    scope: str
    kind: str
    record_ids: list[str] | None
    count: int


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def disclosures_log(
    *, request: HttpRequest, viewer: User, rows: Iterable[tuple[Disclosure, UUID | None, str]]
) -> None:
    """Append one row per (disclosure, the grant that allowed it, its purpose).

    Called by the access policy, which decides the grant; holds ids and counts only.
    """
    now = timezone.now()
    endpoint = f"{request.method} {request.path}"[:200]
    ip = _client_ip(request)
    DisclosureLog.objects.bulk_create(
        DisclosureLog(
            viewer=viewer,
            viewer_role=viewer.role,
            patient_id=item.patient_id,
            kind=item.kind,
            record_ids=item.record_ids or [],
            record_count=item.count,
            grant_id=grant_id,
            purpose=purpose,
            at=now,
            endpoint=endpoint,
            ip=ip,
        )
        for item, grant_id, purpose in rows
    )
