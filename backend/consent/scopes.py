"""What a consent grant can open, and to whom. Values are stable API strings."""

from django.db import models

from backend.disclosure.models import Purpose


class Scope(models.TextChoices):
    JOURNAL_SHARED = "journal.shared", "Journal entries you mark as shared"
    JOURNAL_ALL = "journal.all", "All of your journal entries"
    CHECKINS = (
        "checkins",
        "Daily check-ins and your check-in streak (notes only with a journal scope)",
    )
    INSIGHTS = "insights", "Journal insights (aggregates only, no entry text)"
    COUNTERS = "counters", "Sobriety counters"
    COPING = "coping", "Coping skills, checklists and your relapse-prevention plan"
    HOMEWORK = "homework", "Homework"
    MEETINGS = "meetings", "Support-group meeting attendance"
    MEASURES = (
        "measures",
        "Questionnaires you answer (PHQ-9, GAD-7, BAM, PACS): answers, scores and trends",
    )
    PROGRAM = "program", "Your treatment program: enrolment, sessions and attendance"
    CRISIS_ALERTS = "crisis_alerts", "Alerts when a craving is very high or after a lapse"


# Scopes whose records carry the patient's own words (situation, thoughts, notes).
# Typed as strings: it is tested against the scope strings a request sends.
REVEALS_JOURNAL_TEXT: frozenset[str] = frozenset({Scope.JOURNAL_SHARED, Scope.JOURNAL_ALL})

# What a family invite offers when the patient names no scopes.
FAMILY_DEFAULT_SCOPES = (Scope.CHECKINS, Scope.COUNTERS, Scope.MEETINGS)

PURPOSES_BY_ROLE = {
    "therapist": frozenset({Purpose.TREATMENT, Purpose.CARE_COORDINATION}),
    "family": frozenset({Purpose.FAMILY_SUPPORT}),
}

REVOCATION_INSTRUCTIONS = (
    "You can revoke this consent at any time, without giving a reason: in the app, or with "
    "POST /api/v1/consents/{id}/revoke/. Revocation takes effect on the recipient's next "
    "request; what they already saw cannot be unseen."
)
