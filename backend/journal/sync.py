"""The patient's sync sequence: the order in which the changes feed replays writes."""

from django.db import connection

from backend.accounts.models import User
from backend.journal.models import SyncState


def seq_reserve(*, patient: User, count: int) -> int:
    """Reserve ``count`` sequence numbers; returns the first.

    One upsert statement that also takes the row lock, held until the caller's
    transaction commits: a patient's writes commit in sequence order, so the
    changes feed can never pass over a number that commits later. Must run
    inside a transaction, before the write it numbers.
    """
    if not connection.in_atomic_block:
        raise RuntimeError(
            "seq_reserve must run inside transaction.atomic(): the lock is the point"
        )
    table = SyncState._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (patient_id, last_seq) VALUES (%s, %s) "  # noqa: S608 - table name is ours
            f"ON CONFLICT (patient_id) DO UPDATE SET last_seq = {table}.last_seq + excluded.last_seq "
            "RETURNING last_seq",
            [SyncState._meta.pk.get_db_prep_value(patient.pk, connection), count],
        )
        (last,) = cursor.fetchone()
    return last - count + 1
