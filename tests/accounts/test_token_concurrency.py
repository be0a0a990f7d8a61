import threading

import pytest
from django.db import connection
from rest_framework_simplejwt.exceptions import InvalidToken

from backend.accounts import services
from tests.helpers import requires_postgres


@requires_postgres("row locks across concurrent connections")
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_refreshes_with_one_token_yield_one_new_pair(patient):
    raw = services.tokens_issue(user=patient)["refresh"]
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def refresh():
        try:
            barrier.wait()
            services.tokens_rotate(raw_refresh=raw)
            outcomes.append("rotated")
        except InvalidToken:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["refused", "refused", "refused", "rotated"]


@requires_postgres("row locks across concurrent connections")
@pytest.mark.django_db(transaction=True)
def test_a_refresh_token_used_twice_at_once_revokes_the_pair_it_won(patient):
    raw = services.tokens_issue(user=patient)["refresh"]
    barrier = threading.Barrier(2)
    won: list[dict] = []

    def refresh():
        try:
            barrier.wait()
            won.append(services.tokens_rotate(raw_refresh=raw))
        except InvalidToken:
            pass
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(won) == 1
    with pytest.raises(InvalidToken):
        services.tokens_rotate(raw_refresh=won[0]["refresh"])
