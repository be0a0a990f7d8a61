"""A family member's pages: the people they support, and exactly what each one granted.

Nothing here reads a record itself: the summary and the feed come from the sharing read
model, through the access policy, with the grants read once per request. A section the
patient did not grant (or revoked a moment ago) is not on the page, and a patient who
granted nothing in force is the 404 page. Every record shown is logged in the disclosure
log as the API logs it, and the page carries the 42 CFR 2.32 notice.
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from backend.accounts.models import User
from backend.consent import policy
from backend.consent.scopes import Scope
from backend.console.access import console_page
from backend.disclosure.notice import REDISCLOSURE_NOTICE
from backend.journal.access import FEED_ITEM, FEED_SCOPES
from backend.journal.models import FeedItem
from backend.sharing import selectors as sharing_selectors
from backend.sharing import summaries

FAMILY = User.Role.FAMILY
FEED_SHOWN = 20


def _scope_labels(scopes: Any) -> list[str]:
    return [Scope(scope).label for scope in sorted(scopes)]


@require_GET
@console_page(FAMILY)
def home(request: HttpRequest) -> HttpResponse:
    """The patients who share something with this family member now, and what."""
    viewer: User = request.user  # type: ignore[assignment]
    now = timezone.now()
    patients = list(policy.patients_granting(viewer, now=now).order_by("display_name", "id"))
    held = policy.scopes_held(viewer, [p.pk for p in patients], now=now)
    rows = [
        {"patient": patient, "scopes": _scope_labels(held.get(patient.pk, {}))}
        for patient in patients
        if held.get(patient.pk)  # a grant that ended between the two reads
    ]
    context = {"nav": "family", "rows": rows, "notice": REDISCLOSURE_NOTICE if rows else ""}
    return render(request, "console/family/home.html", context)


def _feed(
    request: HttpRequest, viewer: User, patient: User, *, now: datetime, held: policy.Held
) -> list[FeedItem] | None:
    """The newest feed items of this patient the grants cover, logged; None if none may be."""
    if not set(held.get(patient.pk, {})).intersection(FEED_SCOPES):
        return None
    items = list(
        sharing_selectors.feed_for(viewer, now=now, held=held)
        .filter(patient_id=patient.pk)
        .order_by("-at", "-id")[:FEED_SHOWN]
    )
    return policy.hand_out(
        request=request,
        viewer=viewer,
        kind=FEED_ITEM,
        records=items,
        now=now,
        held=held,
        log_as=sharing_selectors.feed_log_as,
    )


@require_GET
@console_page(FAMILY)
def patient(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    """Read-only: exactly the sections this patient granted, and their shared feed."""
    viewer: User = request.user  # type: ignore[assignment]
    now = timezone.now()
    summary, held = summaries.patient_summary_disclosed(
        request=request, viewer=viewer, patient_id=patient_id, now=now
    )
    person = summary["patient"]
    feed = _feed(request, viewer, person, now=now, held=held)
    context = {
        "nav": "family",
        "notice": REDISCLOSURE_NOTICE,
        "person": person,
        "summary": summary,
        "scopes": _scope_labels(held.get(person.pk, {})),
        "insights": summary.get("insights"),
        "feed": feed,
        "feed_shown": FEED_SHOWN,
    }
    return render(request, "console/family/patient.html", context)
