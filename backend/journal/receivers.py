"""The journal's part when a lower app announces something (connected in JournalConfig.ready)."""

from backend.journal.services import answer_alert_raise


def crisis_answered(*, response, **_) -> None:
    answer_alert_raise(response=response)
