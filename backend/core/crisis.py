"""The crisis lines every crisis answer offers (a journal entry, a questionnaire's answer)."""

from typing import Any

CRISIS_LINES: tuple[dict[str, str], ...] = (
    {
        "name": "988 Suicide & Crisis Lifeline",
        "phone": "988",
        "text": "988",
        "url": "https://988lifeline.org",
        "hours": "24/7",
    },
    {
        "name": "SAMHSA National Helpline",
        "phone": "1-800-662-4357",
        "url": "https://www.samhsa.gov/find-help/national-helpline",
        "hours": "24/7, free and confidential",
    },
)

DANGER_STEP = "If you are in danger or might hurt yourself, call or text 988 now, or 911."


def crisis_block(
    *,
    reasons: list[str],
    message: str,
    next_step: str,
    contacts: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """The support block a response carries at a hard moment, in one shape everywhere."""
    return {
        "reasons": reasons,
        "message": message,
        "next_step": next_step,
        "resources": [dict(line) for line in CRISIS_LINES],
        "contacts": contacts or [],
    }
