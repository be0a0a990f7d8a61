"""Coping skills, checklists and the relapse-prevention plan.

The skill library holds system skills (seeded by migration 0002, no patient)
and custom skills written for one patient, by that patient or by a therapist on
their care team. A checklist's days are the patient's local dates; a day keeps
how many items the list had then, so changing the list later never rewrites
history. The plan keeps every version; its content is encrypted at rest.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from backend.core.crypto import EncryptedJSONField, EncryptedTextField


class SkillCategory(models.TextChoices):
    CBT = "cbt", "Cognitive behavioural (CBT)"
    DBT = "dbt", "Dialectical behaviour (DBT)"
    MOTIVATIONAL = "motivational", "Motivational"
    MINDFULNESS = "mindfulness", "Mindfulness"
    SOCIAL_SUPPORT = "social_support", "Social support"
    PHYSICAL = "physical", "Physical"
    DISTRACTION = "distraction", "Distraction"


class Skill(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=60, blank=True, help_text="System skills only.")
    name = models.CharField(max_length=80)
    category = models.CharField(max_length=16, choices=SkillCategory.choices)
    summary = models.CharField(max_length=300, blank=True)
    steps = models.JSONField(default=list, help_text="Short plain-language steps, in order.")
    duration_minutes = models.PositiveSmallIntegerField(help_text="Typical time it takes.")
    approach = models.CharField(max_length=120, help_text="Where the skill comes from.")
    aliases = models.JSONField(
        default=list,
        blank=True,
        help_text="Lower-case phrases a patient may log it as in the journal.",
    )
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Empty for the library's own skills; else the one patient it is for.",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["patient", "name"], name="skill_patient_name"),
            models.Index(fields=["category", "name"], name="skill_category_name"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["slug"], condition=~Q(slug=""), name="skill_slug_unique"
            ),
            models.CheckConstraint(
                condition=Q(category__in=SkillCategory.values), name="skill_category_known"
            ),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=1, duration_minutes__lte=240),
                name="skill_duration_1_240",
            ),
            # The library's skills have a slug and no patient; custom ones a patient, no slug.
            models.CheckConstraint(
                condition=Q(patient__isnull=True, slug__gt="") | Q(patient__isnull=False, slug=""),
                name="skill_system_or_custom",
            ),
        ]

    def __str__(self) -> str:
        return self.name if self.patient_id is None else f"Custom skill {self.pk}"

    @property
    def is_system(self) -> bool:
        return self.patient_id is None


class Checklist(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    title = models.CharField(max_length=80)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["patient", "created_at"], name="checklist_patient_created")]

    def __str__(self) -> str:
        return f"Checklist {self.pk}"


class ChecklistItem(models.Model):
    """One line of a checklist: a skill from the library, or the patient's own words."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    checklist = models.ForeignKey(Checklist, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField()
    skill = models.ForeignKey(
        Skill, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    text = models.CharField(max_length=200, blank=True)
    removed_at = models.DateTimeField(
        null=True, blank=True, help_text="Taken off the list; its past ticks stay in the history."
    )

    class Meta:
        ordering = ["position"]
        constraints = [
            models.CheckConstraint(
                condition=Q(skill__isnull=False) | ~Q(text=""), name="checklist_item_skill_or_text"
            ),
        ]

    def __str__(self) -> str:
        return f"Item {self.position} of {self.checklist_id}"


class ChecklistDay(models.Model):
    """What the patient ticked on one local date, with the list's length that day."""

    id = models.BigAutoField(primary_key=True)
    checklist = models.ForeignKey(Checklist, on_delete=models.CASCADE, related_name="days")
    local_date = models.DateField()
    item_count = models.PositiveSmallIntegerField()
    done_count = models.PositiveSmallIntegerField()
    completed = models.BooleanField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["checklist", "-local_date"], name="checklist_day_date"),
            models.Index(
                fields=["checklist", "local_date"],
                condition=Q(completed=True),
                name="checklist_day_completed",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["checklist", "local_date"], name="checklist_day_once"),
            models.CheckConstraint(
                condition=Q(item_count__gte=1, done_count__lte=F("item_count")),
                name="checklist_day_counts",
            ),
            models.CheckConstraint(
                condition=Q(completed=True, done_count=F("item_count"))
                | Q(completed=False, done_count__lt=F("item_count")),
                name="checklist_day_completed_matches",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.local_date}: {self.done_count}/{self.item_count}"


class ChecklistTick(models.Model):
    day = models.ForeignKey(ChecklistDay, on_delete=models.CASCADE, related_name="ticks")
    item = models.ForeignKey(ChecklistItem, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "item"], name="checklist_tick_once")]

    def __str__(self) -> str:
        return f"Tick {self.item_id} on {self.day_id}"


class PlanSection(models.TextChoices):
    REASONS = "reasons", "Reasons for recovery"
    TRIGGERS = "triggers", "Personal triggers"
    WARNING_SIGNS = "warning_signs", "Early warning signs"
    COPING_STRATEGIES = "coping_strategies", "Coping strategies"
    SUPPORT_CONTACTS = "support_contacts", "Support contacts"
    AFTER_LAPSE = "after_lapse", "What to do after a lapse"
    CRISIS_LINES = "crisis_lines", "Crisis lines"


class RelapsePlan(models.Model):
    """One living relapse-prevention plan per patient; ``version`` is the current one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Set by selectors.with_current_versions (not a field).
    current: "PlanVersion"

    def __str__(self) -> str:
        return f"Relapse-prevention plan {self.pk} (v{self.version})"


class PlanVersion(models.Model):
    """The whole plan as it stood after one change. Never edited."""

    id = models.BigAutoField(primary_key=True)
    plan = models.ForeignKey(RelapsePlan, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    content = EncryptedJSONField(help_text="Every section, as JSON.")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    suggestion = models.ForeignKey(
        "PlanSuggestion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The suggestion whose acceptance made this version.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="plan_version_once"),
        ]

    def __str__(self) -> str:
        return f"Version {self.number} of {self.plan_id}"


class PlanSuggestion(models.Model):
    """A therapist's proposed content for one section; the patient accepts or rejects it."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting for the patient"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    plan = models.ForeignKey(RelapsePlan, on_delete=models.CASCADE, related_name="suggestions")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    section = models.CharField(max_length=20, choices=PlanSection.choices)
    proposed = EncryptedJSONField(help_text="The section's proposed content.")
    note = EncryptedTextField(blank=True)
    based_on_version = models.PositiveIntegerField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    resulting_version = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["plan", "-created_at"], name="plan_suggestion_created")]
        constraints = [
            models.CheckConstraint(
                condition=Q(section__in=PlanSection.values), name="plan_suggestion_section_known"
            ),
            models.CheckConstraint(
                condition=Q(state="pending", decided_at__isnull=True)
                | (~Q(state="pending") & Q(decided_at__isnull=False)),
                name="plan_suggestion_decided_at_matches",
            ),
        ]

    def __str__(self) -> str:
        return f"Suggestion on {self.section} ({self.state})"
