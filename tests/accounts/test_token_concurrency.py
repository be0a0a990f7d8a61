import threading

import pytest
from django.db import connection
from rest_framework_simplejwt.exceptions import InvalidToken

from backend.accounts import services
from tests.helpers import requires_postgres


def _rotate_at_once(raw: str, times: int) -> list[dict | None]:
    """Rotate one refresh token from ``times`` connections at once: new pairs, None if refused."""
    barrier = threading.Barrier(times)
    outcomes: list[dict | None] = []

    def refresh():
        try:
            barrier.wait()
            outcomes.append(services.tokens_rotate(raw_refresh=raw))
        except InvalidToken:
            outcomes.append(None)
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@requires_postgres("row locks across concurrent connections")
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_refreshes_with_one_token_yield_one_new_pair(patient):
    raw = services.tokens_issue(user=patient)["refresh"]
    outcomes = _rotate_at_once(raw, 4)
    assert sorted(outcome is not None for outcome in outcomes) == [False, False, False, True]


@requires_postgres("row locks across concurrent connections")
@pytest.mark.django_db(transaction=True)
def test_a_refresh_token_used_twice_at_once_revokes_the_pair_it_won(patient):
    raw = services.tokens_issue(user=patient)["refresh"]
    won = [outcome for outcome in _rotate_at_once(raw, 2) if outcome is not None]
    assert len(won) == 1
    with pytest.raises(InvalidToken):
        services.tokens_rotate(raw_refresh=won[0]["refresh"])
