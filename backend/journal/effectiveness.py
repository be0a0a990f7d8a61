"""Which coping skills work, from the patient's journal (a report over both apps' records)."""

import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.db.models import Q
from rest_framework.exceptions import NotFound, ValidationError

from backend.accounts.models import User
from backend.consent import policy
from backend.coping.access import SKILL
from backend.coping.models import Skill
from backend.journal.access import ENTRY_FIGURES
from backend.journal.models import Outcome
from backend.journal.reports import local_day_bounds

# Scopes under which someone else sees the report: those that show figures over entries.
FIGURE_SCOPES = tuple(reach.scope for reach in ENTRY_FIGURES.reach)

MAX_EFFECTIVENESS_ROWS = 50
ENDED = (Outcome.RESISTED, Outcome.LAPSED, Outcome.USED)
_SPACES = re.compile(r"\s+")


def normalize_label(text: str) -> str:
    """How a logged coping skill is compared with skill names and aliases."""
    return _SPACES.sub(" ", text.strip().strip(".!,;:").lower())


def _library_index(skills: Iterable[Skill]) -> dict[str, Skill]:
    index: dict[str, Skill] = {}
    # Custom skills first: a patient's own "walk" means their skill, not the library's.
    for skill in sorted(skills, key=lambda s: s.patient_id is None):
        # The phone may log a skill by its id as well as by its name.
        for label in (str(skill.pk), skill.name, *skill.aliases):
            index.setdefault(normalize_label(label), skill)
    return index


def skill_effectiveness(
    viewer: User,
    patient: User,
    *,
    start: date | None = None,
    end: date | None = None,
    own_words: bool = True,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Per coping skill in the patient's journal: how often used, share resisted, intensity drop.

    Entries come from the policy's aggregate rule (the patient's own, or a grant
    of insights or journal.all). A logged skill matches a library skill by name
    or alias (or id), or one of the patient's custom skills the viewer may see; other
    labels are the patient's own words and shown only when ``own_words``, else
    counted together in one row without a label. A skill listed twice in one
    entry counts once. Two queries whatever the number of entries.

    - ``times_used``: entries listing the skill.
    - ``resisted_share``: of those that ended (resisted, lapsed or used; not
      ongoing), the share resisted.
    - ``mean_intensity_drop``: mean of intensity minus intensity after, over
      those with an after-intensity.
    """
    entries = (
        policy.readable(viewer, ENTRY_FIGURES, now=now)
        .filter(patient=patient, coping_used=True)
        .values_list("coping_skills", "intensity", "intensity_after", "outcome")
    )
    if start is not None and end is not None:
        lower, upper = local_day_bounds(start, end, ZoneInfo(patient.time_zone))
        entries = entries.filter(occurred_at__gte=lower, occurred_at__lt=upper)
    index = _library_index(
        policy.readable(viewer, SKILL, now=now).filter(Q(patient__isnull=True) | Q(patient=patient))
    )
    counted, groups = _tally(entries, index, own_words=own_words)
    rows = sorted(
        groups.values(),
        key=lambda g: (-g["used"], g["label"] is None, (g["label"] or "").lower()),
    )
    return {
        "patient": patient,
        "range": {"from": start, "to": end} if start is not None else None,
        "entries_with_skills": counted,
        "skills": [_effectiveness_row(g) for g in rows[:MAX_EFFECTIVENESS_ROWS]],
        "more": max(0, len(rows) - MAX_EFFECTIVENESS_ROWS),
    }


def _skill_keys(
    labels: Iterable[str], index: dict[str, Skill], *, own_words: bool
) -> dict[tuple, dict[str, Any]]:
    """The rows one entry counts in, by key: each skill once, however often it is listed."""
    keys: dict[tuple, dict[str, Any]] = {}
    for label in labels:
        normalized = normalize_label(label)
        if not normalized:
            continue
        skill = index.get(normalized)
        if skill is not None:
            keys[("skill", skill.pk)] = {"skill": skill, "label": skill.name}
        elif own_words:
            keys.setdefault(("label", normalized), {"skill": None, "label": label.strip()})
        else:
            keys[("hidden",)] = {"skill": None, "label": None}
    return keys


def _tally(
    entries: Iterable[tuple[list[str], int, int | None, str]],
    index: dict[str, Skill],
    *,
    own_words: bool,
) -> tuple[int, dict[tuple, dict[str, Any]]]:
    """(entries counted, running totals per row) over (skills, intensity, after, outcome)."""
    groups: dict[tuple, dict[str, Any]] = {}
    counted = 0
    for labels, intensity, after, outcome in entries:
        counted += 1
        for key, identity in _skill_keys(labels, index, own_words=own_words).items():
            group = groups.setdefault(
                key, {**identity, "used": 0, "ended": 0, "resisted": 0, "after": 0, "drop": 0}
            )
            group["used"] += 1
            if outcome in ENDED:
                group["ended"] += 1
                group["resisted"] += outcome == Outcome.RESISTED
            if after is not None:
                group["after"] += 1
                group["drop"] += intensity - after
    return counted, groups


def _effectiveness_row(group: dict[str, Any]) -> dict[str, Any]:
    ended, after = group["ended"], group["after"]
    return {
        "skill": group["skill"],
        "label": group["label"],
        "times_used": group["used"],
        "ended": ended,
        "resisted": group["resisted"],
        "resisted_share": round(group["resisted"] / ended, 4) if ended else None,
        "with_intensity_after": after,
        "mean_intensity_drop": round(group["drop"] / after, 2) if after else None,
    }


def effectiveness_patient(*, viewer: User, patient_id: UUID | None, now=None) -> tuple[User, dict]:
    """The patient whose skill effectiveness the viewer asks for, and the scopes that allow it.

    A patient asks about themselves (no scopes needed). Anyone else needs a grant
    in force of insights or journal.all from that patient; otherwise 404.
    """
    if viewer.role == User.Role.PATIENT:
        if patient_id not in (None, viewer.pk):
            raise NotFound()
        return viewer, {}
    if patient_id is None:
        raise ValidationError({"patient": ["Name the patient whose skills you ask about."]})
    held = policy.scopes_held(viewer, [patient_id], now=now, scopes=FIGURE_SCOPES)
    patient = User.objects.filter(pk=patient_id, is_active=True).first()
    if patient is None or not held.get(patient_id):
        raise NotFound()
    return patient, held
