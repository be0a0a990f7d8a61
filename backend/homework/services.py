"""Writes of homework: assigning, the patient's drafts and submission, the therapist's review.

Who may act is checked by the views (the caseload for assigning; the access
policy for everything else). These services hold the life cycle: a change that
the current state does not allow is a 409 that says why.
"""

import uuid
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from backend.accounts.models import User
from backend.core.errors import Conflict
from backend.core.time import check_day_ahead
from backend.homework.models import Homework, HomeworkReview, HomeworkTemplate, Recurrence
from backend.homework.questions import clean_answers, normalize_questions

State = Homework.State
MAX_DUE_AHEAD = timedelta(days=366)


def _check_due_date(patient: User, due_date: date) -> None:
    check_day_ahead(
        patient,
        due_date,
        field="due_date",
        within=MAX_DUE_AHEAD,
        too_far="Choose a due date within a year.",
    )


@transaction.atomic
def homework_assign(
    *, therapist: User, patient: User, data: dict[str, Any], template: HomeworkTemplate | None
) -> list[Homework]:
    """Assign homework (from a template, or written here) to a patient on the therapist's caseload.

    A weekly homework is one row per week, due a week apart, sharing a series id.
    Returns them in order.
    """
    fields: dict[str, Any] = {}
    if template is not None:
        fields = {
            "title": template.title,
            "instructions": template.instructions,
            "kind": template.kind,
            "questions": template.questions,
        }
    fields.update({k: data[k] for k in ("title", "instructions", "kind", "questions") if k in data})
    missing = [name for name in ("title", "kind") if not fields.get(name)]
    if missing:
        raise ValidationError(
            {name: ["Give this field, or a template that has it."] for name in missing}
        )
    _check_due_date(patient, data["due_date"])
    occurrences = data.get("occurrences", 1)
    series = uuid.uuid4()
    rows = [
        Homework(
            patient=patient,
            assigned_by=therapist,
            template=template,
            title=fields["title"],
            instructions=fields.get("instructions", ""),
            kind=fields["kind"],
            questions=normalize_questions(fields.get("questions", [])),
            due_date=data["due_date"] + timedelta(weeks=number),
            recurrence=data.get("recurrence", Recurrence.NONE),
            series=series,
            occurrence=number + 1,
            occurrences=occurrences,
            answers={},
        )
        for number in range(occurrences)
    ]
    return Homework.objects.bulk_create(rows)


def _locked(homework: Homework) -> Homework:
    return Homework.objects.select_for_update().select_related("patient").get(pk=homework.pk)


def _closed_to_patient(homework: Homework) -> None:
    """409 when the patient may no longer change this homework, saying why."""
    if homework.state == State.SUBMITTED:
        raise Conflict(
            f"You submitted this homework on {homework.submitted_at:%Y-%m-%d} and it is waiting "
            "for your therapist's review. If something needs changing, ask them to return it to "
            "you for revision."
        )
    if homework.state == State.REVIEWED:
        raise Conflict(
            f"This homework was reviewed on {homework.reviewed_at:%Y-%m-%d}; reviewed homework "
            "can no longer change."
        )


@transaction.atomic
def homework_update(*, homework: Homework, data: dict[str, Any]) -> Homework:
    """The assigning therapist changes title, instructions or due date before a submission."""
    homework = _locked(homework)
    if homework.state in (State.SUBMITTED, State.REVIEWED):
        raise Conflict(
            "The patient already submitted this homework: review it, or return it for revision, "
            "instead of changing the assignment."
            if homework.state == State.SUBMITTED
            else "This homework was reviewed and can no longer change; assign a new one instead."
        )
    if "due_date" in data:
        _check_due_date(homework.patient, data["due_date"])
    changed = [k for k in ("title", "instructions", "due_date") if k in data]
    for name in changed:
        setattr(homework, name, data[name])
    homework.save(update_fields=[*changed, "updated_at"])
    return homework


@transaction.atomic
def answers_save(*, homework: Homework, answers: Any) -> Homework:
    """Save the patient's draft: any answers, partial or not, each checked against its question."""
    homework = _locked(homework)
    _closed_to_patient(homework)
    homework.answers = clean_answers(homework.questions, answers, final=False)
    homework.answers_saved_at = timezone.now()
    homework.state = State.IN_PROGRESS
    homework.save(update_fields=["answers", "answers_saved_at", "state", "updated_at"])
    return homework


@transaction.atomic
def homework_submit(*, homework: Homework, answers: Any = None) -> Homework:
    """Submit for review, with ``answers`` replacing the draft when given.

    Every required question needs an answer (400 naming them); a second
    submission, or one after review, is a 409.
    """
    homework = _locked(homework)
    _closed_to_patient(homework)
    source = homework.answers if answers is None else answers
    homework.answers = clean_answers(homework.questions, source, final=True)
    now = timezone.now()
    if answers is not None:
        homework.answers_saved_at = now
    homework.state = State.SUBMITTED
    homework.submitted_at = now
    homework.save(
        update_fields=["answers", "answers_saved_at", "state", "submitted_at", "updated_at"]
    )
    return homework


@transaction.atomic
def homework_review(
    *, homework: Homework, reviewer: User, decision: str, feedback: str = ""
) -> HomeworkReview:
    """Mark a submission reviewed, or return it for revision; both with optional feedback."""
    homework = _locked(homework)
    if homework.state == State.REVIEWED:
        raise Conflict(f"This homework was already reviewed on {homework.reviewed_at:%Y-%m-%d}.")
    if homework.state != State.SUBMITTED:
        raise Conflict(
            "This homework has not been submitted: there is nothing to review yet "
            f"(it is {homework.get_state_display().lower()})."
        )
    now = timezone.now()
    review = HomeworkReview.objects.create(
        homework=homework, reviewer=reviewer, decision=decision, feedback=feedback
    )
    homework.state = decision
    update = ["state", "updated_at"]
    if decision == HomeworkReview.Decision.REVIEWED:
        homework.reviewed_at = now
        update.append("reviewed_at")
    homework.save(update_fields=update)
    return review
