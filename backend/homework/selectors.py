"""Reads of homework, always through backend.consent.policy with the viewer."""

from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from backend.accounts.models import User
from backend.consent import policy
from backend.core.time import local_today
from backend.homework.access import HOMEWORK
from backend.homework.models import Homework, HomeworkReview, HomeworkTemplate


def homework_for(viewer: User, *, now: datetime | None = None) -> QuerySet[Homework]:
    """Homework the viewer may see, with its people and its reviews (two queries per page)."""
    return (
        policy.readable(viewer, HOMEWORK, now=now)
        .select_related("patient", "assigned_by", "template")
        .prefetch_related(
            Prefetch(
                "reviews",
                queryset=HomeworkReview.objects.select_related("reviewer").order_by("created_at"),
            )
        )
    )


def homework_get(*, viewer: User, homework_id: UUID, now: datetime | None = None) -> Homework:
    return get_object_or_404(homework_for(viewer, now=now), pk=homework_id)


def review_queue(therapist: User, *, now: datetime | None = None) -> QuerySet[Homework]:
    """Submissions of homework the therapist assigned, waiting for their review."""
    return homework_for(therapist, now=now).filter(
        assigned_by=therapist, state=Homework.State.SUBMITTED
    )


def is_overdue(homework: Homework, *, now: datetime) -> bool:
    """Still open after its due date has passed on the patient's clock."""
    today = local_today(homework.patient, now)
    return homework.state in Homework.OPEN_STATES and homework.due_date < today


def filter_overdue(queryset: QuerySet[Homework], overdue: bool, *, now: datetime) -> QuerySet:
    """Keep the overdue homework (or the rest), each judged on its own patient's clock.

    One query for the patients' distinct time zones; then a condition per zone.
    """
    zones = set(queryset.order_by().values_list("patient__time_zone", flat=True).distinct())
    late = Q(pk__in=[])
    for zone in zones:
        today = now.astimezone(ZoneInfo(zone)).date()
        late |= Q(patient__time_zone=zone, due_date__lt=today)
    late &= Q(state__in=Homework.OPEN_STATES)
    return queryset.filter(late) if overdue else queryset.exclude(late)


def templates() -> QuerySet[HomeworkTemplate]:
    return HomeworkTemplate.objects.all()


def template_by_slug(slug: str) -> HomeworkTemplate | None:
    return HomeworkTemplate.objects.filter(slug=slug).first()
