from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from backend.core.errors import problem_response


class BodySizeLimitMiddleware:
    """Refuse oversized bodies before any parser reads them.

    DRF's JSON parser reads the raw stream, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE
    alone does not protect API views.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raw = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw)
        except ValueError:
            return problem_response(request, 400, "Content-Length is not a number.", "bad_request")
        if length < 0:
            return problem_response(request, 400, "Content-Length is negative.", "bad_request")
        if length > settings.MAX_REQUEST_BODY_BYTES:
            return problem_response(
                request,
                413,
                f"The request body is larger than {settings.MAX_REQUEST_BODY_BYTES} bytes.",
                "payload_too_large",
            )
        return self.get_response(request)
