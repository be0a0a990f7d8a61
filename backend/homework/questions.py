"""Questions a homework asks, and the answers each type accepts.

A question is ``{"id", "type", "prompt", "required", "choices"?}``. Answers are
``{question id: value}``: text for ``text`` (up to 5,000 characters), a whole
number 0-10 for ``scale``, true or false for ``yes_no``, one of the choices for
``single_choice`` and a list of distinct choices for ``multiple_choice``. A
draft may leave anything out; submitting needs every required answer.
"""

import re
from typing import Any

from rest_framework.exceptions import ValidationError

from backend.homework.models import QuestionType

MAX_TEXT_ANSWER = 5000
SCALE_MIN, SCALE_MAX = 0, 10
QUESTION_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def normalize_questions(questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give every question an id (q1, q2, ... where none was sent) and a stable shape."""
    taken = {q["id"] for q in questions if q.get("id")}
    result = []
    counter = 0
    for question in questions:
        qid = question.get("id")
        if not qid:
            counter += 1
            while f"q{counter}" in taken:
                counter += 1
            qid = f"q{counter}"
            taken.add(qid)
        item = {
            "id": qid,
            "type": question["type"],
            "prompt": question["prompt"],
            "required": question.get("required", True),
        }
        if question["type"] in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE):
            item["choices"] = list(question["choices"])
        result.append(item)
    return result


def _text_error(question: dict[str, Any], value: Any) -> str | None:
    if not isinstance(value, str):
        return "Answer with text."
    if len(value) > MAX_TEXT_ANSWER:
        return f"Keep it to {MAX_TEXT_ANSWER} characters."
    return None


def _scale_error(question: dict[str, Any], value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"Answer with a whole number from {SCALE_MIN} to {SCALE_MAX}."
    if not SCALE_MIN <= value <= SCALE_MAX:
        return f"Choose a number from {SCALE_MIN} to {SCALE_MAX}."
    return None


def _yes_no_error(question: dict[str, Any], value: Any) -> str | None:
    return None if isinstance(value, bool) else "Answer true (yes) or false (no)."


def _single_choice_error(question: dict[str, Any], value: Any) -> str | None:
    choices = question.get("choices", [])
    if not isinstance(value, str) or value not in choices:
        return f"Choose one of: {'; '.join(choices)}."
    return None


def _multiple_choice_error(question: dict[str, Any], value: Any) -> str | None:
    choices = question.get("choices", [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return "Answer with a list of choices."
    unknown = [v for v in value if v not in choices]
    if unknown:
        return f"Not a choice: {'; '.join(unknown)[:200]}. Choose from: {'; '.join(choices)}."
    if len(set(value)) != len(value):
        return "Name each choice once."
    return None


# What makes an answer wrong, by question type (None: it is right as it is).
_ANSWER_ERRORS = {
    QuestionType.TEXT: _text_error,
    QuestionType.SCALE: _scale_error,
    QuestionType.YES_NO: _yes_no_error,
    QuestionType.SINGLE_CHOICE: _single_choice_error,
    QuestionType.MULTIPLE_CHOICE: _multiple_choice_error,
}


def _check(question: dict[str, Any], value: Any) -> tuple[Any, str | None]:
    """(cleaned value, error message or None) for one answer."""
    error = _ANSWER_ERRORS[question["type"]](question, value)
    return (None, error) if error else (value, None)


def _answered(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list):
        return bool(value)
    return value is not None


def clean_answers(questions: list[dict[str, Any]], answers: Any, *, final: bool) -> dict[str, Any]:
    """Validated answers keyed by question id; ``final`` also requires the required ones.

    A null answer clears that question. Errors are field errors under
    ``answers.<question id>`` (400).
    """
    if not isinstance(answers, dict):
        raise ValidationError({"answers": ["Send an object of question id -> answer."]})
    by_id = {q["id"]: q for q in questions}
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for qid, value in answers.items():
        question = by_id.get(qid)
        if question is None:
            errors[str(qid)[:60]] = ["This homework has no question with this id."]
            continue
        if value is None:
            continue
        value, error = _check(question, value)
        if error:
            errors[qid] = [error]
        else:
            cleaned[qid] = value
    if final:
        for question in questions:
            if question["required"] and not _answered(cleaned.get(question["id"])):
                errors.setdefault(question["id"], ["This question needs an answer to submit."])
    if errors:
        raise ValidationError({"answers": errors})
    return cleaned
