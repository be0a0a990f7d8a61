"""The project's one error shape: RFC 9457 problem details.

Every 4xx and 5xx, from DRF views and from plain Django alike, answers
``application/problem+json``::

    {"type": "about:blank", "title": "Not Found", "status": 404,
     "detail": "Not found.", "code": "not_found", "instance": "/api/v1/...",
     "errors": [{"field": "time_zone", "code": "invalid", "message": "..."}]}

``errors`` lists field-level messages (dotted paths into nested input, ``null``
for errors about the request as a whole); it is present only on validation
problems.
"""

from collections.abc import Iterator
from http import HTTPStatus
from typing import Any, cast

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.fields import get_error_detail
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from backend.core.renderers import JSONRenderer

PROBLEM_CONTENT_TYPE = "application/problem+json"
VALIDATION_PROBLEM_TYPE = "urn:recovery-companion:problem:validation-error"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"

    def __init__(self, detail: str | None = None, current: Any = None) -> None:
        super().__init__(detail)
        if current is not None:
            self.problem_extra = {"current": current}


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The resource changed since you read it; the current version is in `current`."
    default_code = "precondition_failed"

    def __init__(self, current: Any, detail: str | None = None) -> None:
        super().__init__(detail)
        self.problem_extra = {"current": current}


class PreconditionRequired(exceptions.APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = (
        "Send If-Match with the ETag you last read, so a stale copy cannot overwrite a newer one."
    )
    default_code = "precondition_required"


def field_errors(detail: Any, path: str | None = None) -> Iterator[dict[str, Any]]:
    if isinstance(detail, dict):
        for key, value in detail.items():
            key = str(key)
            if key in (api_settings.NON_FIELD_ERRORS_KEY, "__all__"):
                child = path
            else:
                child = f"{path}.{key}" if path else key
            yield from field_errors(value, child)
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            if isinstance(item, dict | list):
                yield from field_errors(item, f"{path}.{index}" if path else str(index))
            else:
                yield from field_errors(item, path)
    else:
        yield {
            "field": path,
            "code": getattr(detail, "code", None) or "invalid",
            "message": str(detail),
        }


def problem(
    *,
    status_code: int,
    detail: str,
    code: str,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    problem_type: str = "about:blank",
    title: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": problem_type,
        "title": title or HTTPStatus(status_code).phrase,
        "status": status_code,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return body


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler that answers every handled error as a problem document."""
    if isinstance(exc, Http404):
        # Django's message names the model ("No User matches..."): never pass it on.
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(get_error_detail(exc))

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # unexpected: Django's handler500 answers with a problem document

    # DRF's handler answers only its own exceptions (after converting Django's).
    exc = cast(exceptions.APIException, exc)
    request = context.get("request")
    instance = request.path if request is not None else None
    if isinstance(exc, exceptions.ValidationError):
        body = problem(
            status_code=response.status_code,
            title="Your request has invalid fields.",
            detail="Correct the fields listed in errors and try again.",
            code="invalid",
            instance=instance,
            errors=list(field_errors(exc.detail)),
            problem_type=VALIDATION_PROBLEM_TYPE,
        )
    else:
        # Loosely shaped: simplejwt nests a dict where DRF has a string.
        detail: Any
        code: Any
        detail, code = exc.detail, exc.get_codes()
        if isinstance(detail, dict):
            # simplejwt nests its message: {"detail": ..., "code": ..., "messages": [...]}
            detail, code = detail.get("detail", "Request failed."), detail.get("code", "error")
        body = problem(
            status_code=response.status_code,
            detail=str(detail),
            code=str(code) if isinstance(code, str) else "error",
            instance=instance,
            **(getattr(exc, "problem_extra", None) or {}),
        )
    response.data = body
    response.content_type = PROBLEM_CONTENT_TYPE
    if request is not None:
        # Problems are JSON whatever the endpoint's other renderers (YAML schema, CSV export).
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type
    return response


def problem_response(
    request: HttpRequest, status_code: int, detail: str, code: str
) -> JsonResponse:
    return JsonResponse(
        problem(status_code=status_code, detail=detail, code=code, instance=request.path),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
    )


# Django-level handlers, for errors raised outside DRF views (unknown URLs,
# disallowed hosts, CSRF failures in the admin, crashes).
def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return problem_response(request, 400, "The request could not be understood.", "bad_request")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return problem_response(request, 403, "You do not have permission to do this.", "forbidden")


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return problem_response(request, 404, "Not found.", "not_found")


def server_error(request: HttpRequest) -> JsonResponse:
    return problem_response(request, 500, "Something went wrong on our side.", "server_error")


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    return problem_response(request, 403, "CSRF verification failed.", "csrf_failed")
