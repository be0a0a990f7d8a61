"""The site's error handlers: pages under /console/, the problem shape (JSON) elsewhere."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from backend.console.access import forbidden_page, not_found_page, private
from backend.console.middleware import CONSOLE_PREFIX
from backend.core import errors


def _console(request: HttpRequest) -> bool:
    return request.path.startswith(CONSOLE_PREFIX)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _console(request):
        return forbidden_page(request)
    return errors.permission_denied(request, exception)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _console(request):
        return not_found_page(request)
    return errors.not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _console(request):
        # No context processors' queries: the failure may be the database itself.
        return private(render(None, "console/500.html", status=500))
    return errors.server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if _console(request):
        return forbidden_page(
            request, "The form had expired. Go back, reload the page and send it again."
        )
    return errors.csrf_failure(request, reason)
