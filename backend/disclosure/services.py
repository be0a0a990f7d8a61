"""Writes of the disclosure log (42 CFR 2.25): one append-only row per patient and kind seen."""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

from django.db import connection, models, transaction
from django.http import HttpRequest
from django.utils import timezone

from backend.accounts.models import User
from backend.disclosure.models import DisclosureLog


@dataclass(frozen=True)
class Disclosure:
    """What one response showed of one patient's records, and under which scope.

    ``scope`` is empty for a record seen without a consent, as the program's own
    treatment record (the therapist who assigned a homework).
    """

    patient_id: UUID
    scope: str
    kind: str
    record_ids: list[str] | None
    count: int


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


# The columns one response writes alike in every row, then those each row has its own.
SAME = ("viewer", "viewer_role", "at", "endpoint", "ip")
EACH = ("patient", "kind", "record_ids", "record_count", "grant", "purpose")


def disclosures_log(
    *, request: HttpRequest, viewer: User, rows: Iterable[tuple[Disclosure, UUID | None, str]]
) -> None:
    """Append one row per (disclosure, the grant that allowed it, its purpose).

    Called by the access policy, which decides the grant; holds ids and counts only. One
    statement whatever the number of rows (a caseload page logs two or three per patient),
    with no model instance per row: the columns every row shares are sent once.
    """
    rows = list(rows)
    if not rows:
        return
    same = {
        "viewer": viewer.pk,
        "viewer_role": viewer.role,
        "at": timezone.now(),
        "endpoint": f"{request.method} {request.path}"[:200],
        "ip": _client_ip(request),
    }
    each = [
        (item.patient_id, item.kind, item.record_ids or [], item.count, grant_id, purpose)
        for item, grant_id, purpose in rows
    ]
    _insert(same, each)


def _insert(same: dict[str, Any], each: list[tuple]) -> None:
    fields = {
        name: cast(models.Field, DisclosureLog._meta.get_field(name)) for name in (*SAME, *EACH)
    }
    quote = connection.ops.quote_name
    columns = ", ".join(quote(fields[name].column) for name in (*SAME, *EACH))
    # Only the model's own table, columns and their types are formatted in; values are
    # parameters.
    into = f"INSERT INTO {quote(DisclosureLog._meta.db_table)} ({columns}) "
    # One transaction: outside one, SQLite commits (and syncs) each row of an executemany.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One array per column that varies, unnested beside the shared values:
            # bulk_create's per-row model instances and prepared values cost four times the
            # statement itself on a caseload page.
            def sql_type(name: str) -> str:
                return str(fields[name].db_type(connection))

            shared = ", ".join(f"%s::{sql_type(name)}" for name in SAME)
            arrays = ", ".join(f"%s::{sql_type(name)}[]" for name in EACH)
            values = [same[name] for name in SAME]
            columns_of_each = [list(column) for column in zip(*each, strict=True)]
            columns_of_each[EACH.index("record_ids")] = [
                json.dumps(ids) for ids in columns_of_each[EACH.index("record_ids")]
            ]
            cursor.execute(
                f"{into}SELECT {shared}, * FROM unnest({arrays})",  # noqa: S608
                [*values, *columns_of_each],
            )
            return
        # SQLite: one prepared INSERT, run for each row (stepped in C) in that transaction.
        prepared = [fields[name].get_db_prep_save(same[name], connection) for name in SAME]
        each_fields = [fields[name] for name in EACH]
        cursor.executemany(
            f"{into}VALUES ({', '.join(['%s'] * (len(SAME) + len(EACH)))})",
            [
                [
                    *prepared,
                    *(
                        field.get_db_prep_save(value, connection)
                        for field, value in zip(each_fields, row, strict=True)
                    ),
                ]
                for row in each
            ],
        )
