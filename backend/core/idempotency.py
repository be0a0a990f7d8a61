"""``Idempotency-Key`` on POST, after draft-ietf-httpapi-idempotency-key-header.

A phone on a bad network may send a POST, lose the answer and send it again.
With ``Idempotency-Key: <key>`` the retry gets the first answer again, marked
``Idempotent-Replayed: true``, and the view does not run a second time::

    @idempotent
    @extend_schema(...)
    def post(self, request): ...

Rules:

- The key is 1 to 255 printable ASCII characters, compared as sent (the draft's
  quoted form ``"abc"`` is simply a key with quotes in it). Anything else is a
  400 with a field error on ``Idempotency-Key``.
- Keys belong to the signed-in user: the same key from another user is another
  key, so a stored answer (it may hold an invite code) only ever goes back to
  the user it was made for. Anonymous requests ignore the header altogether:
  an anonymous key could not be told apart from a stranger's.
- A key remembers the method, the path with its query string and a SHA-256 of
  the body (JSON canonicalised with sorted keys; other bodies byte for byte).
  Reusing the key for a different request is a 422 ``idempotency_key_reused``.
  Other headers (If-Match, Accept, ...) are not part of the comparison.
- While the first request runs, a duplicate gets a 409
  ``idempotency_request_in_progress`` and does not run the view.
- Kept: every 2xx, 3xx and 4xx answer except 401, 403 and 429, which depend on
  credentials, roles and rate limits rather than on the request, so a retry
  must be judged afresh. Never kept: 5xx and unhandled exceptions; the key is
  released and the client may retry. Responses that are not DRF Responses are
  passed through without being kept.
- Keys expire after IDEMPOTENCY_KEY_TTL (24 hours): an expired key counts as
  absent and is reused in place. ``idempotency_keys_purge`` deletes them.

How: the key row is inserted (unique on user and key) in a short transaction
that commits before the view runs, so a concurrent duplicate sees it. The view
then runs in a transaction that first locks that row and ends by storing the
answer in it: the view's writes and the stored answer commit together, or
neither does. A row left "in progress" by a crashed worker is taken over after
IDEMPOTENCY_IN_PROGRESS_TIMEOUT. SQLite has one writer at a time, so there a
duplicate may first wait for the database lock; it then finds the key claimed
and gets the 409 or the replay, as on PostgreSQL. ATOMIC_REQUESTS must stay
off: inside a request-wide transaction the key row would not be visible to a
duplicate until the end.
"""

import functools
import hashlib
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http.request import RawPostDataException
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder
from rest_framework.views import APIView

from backend.core.models import IdempotencyKey

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_MAX_LENGTH = 255
_KEY_CHARACTERS = frozenset(chr(code) for code in range(0x20, 0x7F))

# Statuses that depend on who is asking and how often, not on the request.
NOT_KEPT = frozenset(
    {
        status.HTTP_401_UNAUTHORIZED,
        status.HTTP_403_FORBIDDEN,
        status.HTTP_429_TOO_MANY_REQUESTS,
    }
)
# Response headers worth giving back on a replay (Content-Type is kept apart).
KEPT_HEADERS = ("Location", "Content-Location", "ETag", "Last-Modified")
PURGE_BATCH = 5000


class UnprocessableEntity(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The request cannot be processed as sent."
    default_code = "unprocessable_entity"


class RequestInProgress(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = (
        "A request with this Idempotency-Key is still being processed; retry in a moment."
    )
    default_code = "idempotency_request_in_progress"
    wait = 2  # answered as Retry-After


def key_ttl() -> timedelta:
    return getattr(settings, "IDEMPOTENCY_KEY_TTL", timedelta(hours=24))


def in_progress_timeout() -> timedelta:
    # Far longer than any request may run (gunicorn kills a worker after 30 s by default).
    return getattr(settings, "IDEMPOTENCY_IN_PROGRESS_TIMEOUT", timedelta(minutes=5))


def parse_key(raw: str) -> str:
    """The key from the header's value; a 400 field error when it is malformed."""
    if not 1 <= len(raw) <= KEY_MAX_LENGTH:
        message = f"Send 1 to {KEY_MAX_LENGTH} characters."
    elif not set(raw) <= _KEY_CHARACTERS or not raw.strip():
        message = "Use printable ASCII characters only, not only spaces."
    else:
        return raw
    raise exceptions.ValidationError({HEADER: [message]})


def _canonical_body(raw: bytes) -> bytes:
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON (or absurdly nested): compare the bytes
        return raw
    return json.dumps(parsed, sort_keys=True, separators=(",", ":")).encode("ascii")


def request_fingerprint(request: Request) -> str:
    """SHA-256 of the body, with JSON canonicalised so key order and spacing do not matter."""
    try:
        raw = request.body
    except RawPostDataException:
        # Something parsed the stream before the view: fingerprint what was parsed.
        raw = json.dumps(request.data, cls=JSONEncoder).encode("utf-8")
    return hashlib.sha256(_canonical_body(raw)).hexdigest()


# user: Any, as the user model (accounts.User, which the plugin types the key's
# foreign key with) sits in a layer above core.
def _claim(
    *, user: Any, key: str, method: str, path: str, fingerprint: str, now: datetime
) -> tuple[IdempotencyKey, bool]:
    """The key's row, and whether this request claimed it (and so must run the view)."""
    request_fields = {"method": method, "path": path, "fingerprint": fingerprint}
    takeover = Q(created_at__lte=now - key_ttl()) | Q(
        response_status__isnull=True, created_at__lte=now - in_progress_timeout()
    )
    mine = IdempotencyKey.objects.filter(user=user, key=key)
    # A row can vanish between the statements below (purged, or released after a
    # 5xx); each pass is short, and the next one sees the new state.
    for _ in range(3):
        with transaction.atomic():
            # An expired row (or one a crashed worker left in progress) counts as absent.
            taken_over = mine.filter(takeover).update(
                **request_fields,
                created_at=now,
                response_status=None,
                response_content_type="",
                response_headers={},
                response_body="",
            )
            if taken_over:
                return mine.get(), True
            try:
                with transaction.atomic():
                    return (
                        IdempotencyKey.objects.create(
                            user=user, key=key, created_at=now, **request_fields
                        ),
                        True,
                    )
            except IntegrityError:
                pass
            existing = mine.first()
            if existing is not None:
                return existing, False
    raise RequestInProgress()


def _own(record: IdempotencyKey) -> QuerySet[IdempotencyKey]:
    """The row while this request's claim holds (a takeover renews created_at)."""
    return IdempotencyKey.objects.filter(
        pk=record.pk, created_at=record.created_at, response_status__isnull=True
    )


def _release(record: IdempotencyKey) -> None:
    try:
        _own(record).delete()
    except DatabaseError:
        # The in-progress timeout frees the key later; don't hide the original error.
        logger.warning("could not release idempotency key %s", record.pk, exc_info=True)


def _keep(record: IdempotencyKey, response: Any) -> bool:
    """Store the answer in the key's row; False when it is not to be kept."""
    if not isinstance(response, Response):
        return False
    if response.status_code >= 500 or response.status_code in NOT_KEPT:
        return False
    try:
        body = json.dumps(response.data, cls=JSONEncoder, ensure_ascii=False)
    except (TypeError, ValueError):
        logger.warning("idempotency key %s: response data is not JSON; not kept", record.pk)
        return False
    _own(record).update(
        response_status=response.status_code,
        response_content_type=response.content_type or "",
        response_headers={name: response[name] for name in KEPT_HEADERS if name in response},
        response_body=body,
    )
    return True


def _replay(record: IdempotencyKey) -> Response:
    response = Response(
        json.loads(record.response_body),
        status=record.response_status,
        headers={**record.response_headers, REPLAYED_HEADER: "true"},
        content_type=record.response_content_type or None,
    )
    return response


def _answer_for_existing(
    record: IdempotencyKey, *, method: str, path: str, fingerprint: str
) -> Response:
    if (record.method, record.path, record.fingerprint) != (method, path, fingerprint):
        raise UnprocessableEntity(
            f"This {HEADER} was already used for a different request. "
            "Use a new key for a new request.",
            code="idempotency_key_reused",
        )
    if record.in_progress:
        raise RequestInProgress()
    return _replay(record)


def idempotent(view_method: Callable) -> Callable:
    """Make a DRF ``post`` (or viewset action) honour ``Idempotency-Key``; see the module."""

    @functools.wraps(view_method)
    def wrapper(self: APIView, request: Request, *args: Any, **kwargs: Any) -> Any:
        raw = request.headers.get(HEADER)
        user = request.user
        if raw is None or not (user and user.is_authenticated):
            return view_method(self, request, *args, **kwargs)
        key = parse_key(raw)
        # A request routed to a view always has a method; the stubs allow None.
        method, path = cast(str, request.method), request.get_full_path()
        fingerprint = request_fingerprint(request)
        record, claimed = _claim(
            user=user,
            key=key,
            method=method,
            path=path,
            fingerprint=fingerprint,
            now=timezone.now(),
        )
        if not claimed:
            return _answer_for_existing(record, method=method, path=path, fingerprint=fingerprint)
        try:
            with transaction.atomic():
                # Locked until the answer is stored: a takeover of a stale row waits for us.
                if not list(_own(record).select_for_update().values_list("pk", flat=True)):
                    raise RequestInProgress()  # taken over since our claim: the taker answers
                try:
                    response = view_method(self, request, *args, **kwargs)
                except Exception as exc:
                    # The problem handler turns it into a 4xx Response, or re-raises.
                    response = self.handle_exception(exc)
                kept = _keep(record, response)
        except BaseException:
            _release(record)
            raise
        if not kept:
            _release(record)
        return response

    # A copy: @action keeps its own kwargs there, and extend_schema writes into it.
    # (Function attributes: mypy cannot declare them on a function or a Callable.)
    if isinstance(getattr(view_method, "kwargs", None), dict):
        wrapper.kwargs = dict(view_method.kwargs)  # type: ignore[attr-defined]
    # Read by backend.core.schema to document 409 and 422.
    wrapper.idempotent = True  # type: ignore[attr-defined]
    return extend_schema(
        parameters=[
            OpenApiParameter(
                HEADER,
                str,
                OpenApiParameter.HEADER,
                required=False,
                description=(
                    "Any 1 to 255 printable ASCII characters, new for each new request "
                    "(a UUID will do). A retry with the same key and body gets the first "
                    f"answer again, with `{REPLAYED_HEADER}: true`, and does nothing twice. "
                    "The same key with another body or path is a 422; while the first "
                    "request is still running, a 409. Keys last 24 hours and are per user."
                ),
            )
        ]
    )(wrapper)


def idempotency_keys_purge(*, now: datetime) -> int:
    """Delete keys older than IDEMPOTENCY_KEY_TTL, in batches; returns how many."""
    expired = IdempotencyKey.objects.filter(created_at__lte=now - key_ttl())
    deleted = 0
    while True:
        # Small batches keep each DELETE's locks short while requests keep using the table.
        batch = list(expired.values_list("pk", flat=True)[:PURGE_BATCH])
        if not batch:
            return deleted
        # Filtered again: a row taken over since the SELECT is fresh and stays.
        deleted += expired.filter(pk__in=batch).delete()[0]
