"""The one place measures are checked and scored: every rule reads the instrument's definition.

A definition is two JSON documents, so that a clinic adds a validated instrument
without code:

``items``: a list of
    {"link_id": "1", "text": "...", "code": "44250-9" (optional),
     "options": [{"value": 0, "label": "Not at all", "code": "LA6568-5" (optional)}, ...],
     "required": true (default), "enable_when": {"item": "6", "above": 0} (optional)}
  An item with ``enable_when`` is asked only when that item's answer is above the
  value; otherwise it must be left out.

``scoring``:
    {"scores": [{"code": "total", "name": "Total", "items": ["1", ...], "code_system"?,
                 "loinc": "44261-6" (optional), "bands": [{"min": 0, "max": 4,
                 "label": "Minimal"}, ...] (optional, covering the score's whole range)}],
     "flags": [{"score": "total", "rule": "rise_from_baseline", "by": 5},
               {"score": "use", "rule": "above", "value": 0},
               {"score": "risk", "rule": "rising"},
               {"score": "total", "rule": "rising_runs", "runs": 2}],
     "crisis": [{"item": "9", "above": 0}]}
  A score is the sum of its items' option values. Flags (what a clinician acts on):
  ``rise_from_baseline``: the latest is at least ``by`` above the first answer;
  ``above``: the latest is above ``value``; ``rising``: the latest is above the one
  before; ``rising_runs``: the last ``runs`` answers each rose over the one before.
  A crisis item answered above its value answers with the crisis support block and
  alerts the therapist who asked.
"""

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ValidationError

FLAG_RULES = ("rise_from_baseline", "above", "rising", "rising_runs")


@dataclass(frozen=True)
class Scored:
    """What one complete answer scores."""

    scores: dict[str, int]
    total: int | None
    band: str
    crisis: bool
    bands: dict[str, str] = field(default_factory=dict)  # score code -> its band's label


@dataclass(frozen=True)
class Flag:
    score: str
    rule: str
    message: str


# --- the definition ---------------------------------------------------------------------------


def _option_values(item: Mapping[str, Any]) -> list[int]:
    return [option["value"] for option in item["options"]]


def score_range(items_by_id: Mapping[str, Mapping[str, Any]], score: Mapping[str, Any]):
    """(lowest, highest) a score can take: the sums of its items' lowest and highest options."""
    low = sum(min(_option_values(items_by_id[i])) for i in score["items"])
    high = sum(max(_option_values(items_by_id[i])) for i in score["items"])
    return low, high


def _item_problems(items: Any) -> list[str]:
    if not isinstance(items, list) or not items:
        return ["items: give a list of at least one item."]
    problems: list[str] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        where = f"items[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("link_id"), str):
            problems.append(f"{where}: an object with a link_id string.")
            continue
        if item["link_id"] in seen:
            problems.append(f"{where}: link_id {item['link_id']} is used twice.")
        seen.add(item["link_id"])
        if not isinstance(item.get("text"), str) or not item["text"].strip():
            problems.append(f"{where}: give the item's text.")
        options = item.get("options")
        if (
            not isinstance(options, list)
            or len(options) < 2
            or not all(
                isinstance(o, dict)
                and type(o.get("value")) is int
                and isinstance(o.get("label"), str)
                for o in options
            )
        ):
            problems.append(f"{where}: at least two options, each with an integer value and label.")
        elif len({o["value"] for o in options}) != len(options):
            problems.append(f"{where}: two options share a value.")
        condition = item.get("enable_when")
        if condition is not None and (
            not isinstance(condition, dict)
            or condition.get("item") not in seen - {item["link_id"]}
            or type(condition.get("above")) is not int
        ):
            problems.append(f"{where}: enable_when names an earlier item and an integer 'above'.")
    return problems


def _band_problems(where: str, bands: Any, low: int, high: int) -> list[str]:
    if not isinstance(bands, list) or not all(
        isinstance(b, dict) and type(b.get("min")) is int and type(b.get("max")) is int
        for b in bands
    ):
        return [f"{where}: bands are objects with integer min and max and a label."]
    expected = low
    for band in sorted(bands, key=lambda b: b["min"]):
        if band["min"] != expected or band["max"] < band["min"]:
            return [f"{where}: bands must cover {low}-{high} without gaps or overlaps."]
        expected = band["max"] + 1
    if expected != high + 1:
        return [f"{where}: bands must cover {low}-{high} without gaps or overlaps."]
    return []


def _score_problems(scoring: Mapping[str, Any], items_by_id: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    codes: set[str] = set()
    for index, score in enumerate(scoring.get("scores", [])):
        where = f"scoring.scores[{index}]"
        if not isinstance(score, dict) or not isinstance(score.get("code"), str):
            problems.append(f"{where}: an object with a code.")
            continue
        codes.add(score["code"])
        members = score.get("items")
        if (
            not isinstance(members, list)
            or not members
            or not all(m in items_by_id for m in members)
        ):
            problems.append(f"{where}: items must name items of this instrument.")
            continue
        if any("enable_when" in items_by_id[m] for m in members):
            problems.append(f"{where}: a conditional item cannot be scored.")
            continue
        if "bands" in score:
            low, high = score_range(items_by_id, score)
            problems += _band_problems(where, score["bands"], low, high)
    for index, flag in enumerate(scoring.get("flags", [])):
        if (
            not isinstance(flag, dict)
            or flag.get("score") not in codes
            or flag.get("rule") not in FLAG_RULES
        ):
            problems.append(f"scoring.flags[{index}]: a score code and a rule of {FLAG_RULES}.")
    for index, crisis in enumerate(scoring.get("crisis", [])):
        if not isinstance(crisis, dict) or crisis.get("item") not in items_by_id:
            problems.append(f"scoring.crisis[{index}]: name an item of this instrument.")
    return problems


def validate_definition(items: Any, scoring: Any) -> None:
    """Raise Django's ValidationError listing what makes a definition unusable."""
    problems = _item_problems(items)
    if not problems:
        if not isinstance(scoring, dict) or not isinstance(scoring.get("scores", []), list):
            problems.append("scoring: an object with a list of scores.")
        else:
            problems += _score_problems(scoring, {item["link_id"]: item for item in items})
    if problems:
        raise DjangoValidationError(problems)


# --- answers ----------------------------------------------------------------------------------


def _enabled(item: Mapping[str, Any], answers: Mapping[str, int]) -> bool:
    condition = item.get("enable_when")
    if condition is None:
        return True
    value = answers.get(condition["item"])
    return value is not None and value > condition["above"]


def _answer_error(item: Mapping[str, Any], value: Any) -> str | None:
    values = _option_values(item)
    if type(value) is not int or value not in values:
        shown = ", ".join(str(v) for v in values)
        return f"Choose one of the answers {shown}."
    return None


def clean_answers(items: Sequence[Mapping[str, Any]], answers: Any, *, final: bool) -> dict:
    """Answers keyed by item, each within its options; ``final`` requires every item asked.

    Errors are field errors under ``answers.<link_id>`` (400); nothing is kept when
    any answer is wrong.
    """
    if not isinstance(answers, dict):
        raise ValidationError({"answers": ["Send an object of item link_id -> answer value."]})
    by_id = {item["link_id"]: item for item in items}
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, int] = {}
    for link_id, value in answers.items():
        item = by_id.get(link_id)
        if item is None:
            errors[str(link_id)[:40]] = ["This questionnaire has no item with this link_id."]
        elif value is not None:
            error = _answer_error(item, value)
            if error:
                errors[link_id] = [error]
            else:
                cleaned[link_id] = value
    for item in items:
        link_id = item["link_id"]
        if _enabled(item, cleaned):
            if (
                final
                and item.get("required", True)
                and link_id not in cleaned
                and link_id not in errors
            ):
                errors[link_id] = ["Answer this item to finish the questionnaire."]
        elif link_id in cleaned and not errors:
            condition = item["enable_when"]
            errors[link_id] = [
                f"Leave this out: it is asked only when item {condition['item']} is above "
                f"{condition['above']}."
            ]
    if errors:
        raise ValidationError({"answers": errors})
    return cleaned


# --- scores and flags -------------------------------------------------------------------------


def band_of(score: Mapping[str, Any], value: int) -> str:
    for band in score.get("bands", ()):
        if band["min"] <= value <= band["max"]:
            return band["label"]
    return ""


def score(
    items: Sequence[Mapping[str, Any]], scoring: Mapping[str, Any], answers: Mapping[str, int]
) -> Scored:
    """Score complete, cleaned answers (clean_answers with final=True)."""
    values: dict[str, int] = {}
    bands: dict[str, str] = {}
    for definition in scoring.get("scores", ()):
        value = sum(answers[item] for item in definition["items"])
        values[definition["code"]] = value
        label = band_of(definition, value)
        if label:
            bands[definition["code"]] = label
    crisis = any(
        answers.get(rule["item"], 0) > rule.get("above", 0) for rule in scoring.get("crisis", ())
    )
    total = values.get("total")
    return Scored(values, total, bands.get("total", ""), crisis, bands)


def _rises(series: Sequence[int], runs: int) -> bool:
    if len(series) < runs + 1:
        return False
    tail = series[-(runs + 1) :]
    return all(later > earlier for earlier, later in itertools.pairwise(tail))


def flags(scoring: Mapping[str, Any], history: Sequence[Mapping[str, int]]) -> list[Flag]:
    """The flags a clinician acts on, over one patient's answers to one instrument, oldest first."""
    if not history:
        return []
    names = {s["code"]: s.get("name", s["code"]) for s in scoring.get("scores", ())}
    raised: list[Flag] = []
    for rule in scoring.get("flags", ()):
        code = rule["score"]
        series = [scores[code] for scores in history if code in scores]
        if not series:
            continue
        latest, name = series[-1], names.get(code, code)
        kind = rule["rule"]
        if kind == "rise_from_baseline" and len(series) > 1 and latest - series[0] >= rule["by"]:
            message = (
                f"{name} rose {latest - series[0]} points since baseline ({series[0]} to {latest})."
            )
        elif kind == "above" and latest > rule["value"]:
            message = f"{name} is {latest} (above {rule['value']})."
        elif kind == "rising" and _rises(series, 1):
            message = f"{name} is rising ({series[-2]} to {latest})."
        elif kind == "rising_runs" and _rises(series, rule.get("runs", 2)):
            runs = rule.get("runs", 2)
            shown = " to ".join(str(v) for v in series[-(runs + 1) :])
            message = f"{name} rose {runs} times running ({shown})."
        else:
            continue
        raised.append(Flag(code, kind, message))
    return raised
