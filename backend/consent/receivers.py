"""Consent's part when a lower app announces something (connected in ConsentConfig.ready)."""

from backend.consent.services import grants_revoke_all


def account_closed(*, user, **_) -> None:
    # A closed account shares nothing any more, and receives nothing.
    grants_revoke_all(user=user, reason="Account deactivated.")
