import io
from collections.abc import Callable

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse

from backend.core.errors import problem_response


class BodySizeLimitMiddleware:
    """Refuse oversized bodies before any parser reads them, and frame chunked ones.

    DRF's JSON parser reads the raw stream, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE
    alone does not protect API views.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.META.get("HTTP_TRANSFER_ENCODING"):
            return self._take_chunked_body(request) or self.get_response(request)
        raw = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw)
        except ValueError:
            return problem_response(request, 400, "Content-Length is not a number.", "bad_request")
        if length < 0:
            return problem_response(request, 400, "Content-Length is negative.", "bad_request")
        if length > settings.MAX_REQUEST_BODY_BYTES:
            return self._too_large(request)
        return self.get_response(request)

    def _too_large(self, request: HttpRequest) -> HttpResponse:
        return problem_response(
            request,
            413,
            f"The request body is larger than {settings.MAX_REQUEST_BODY_BYTES} bytes.",
            "payload_too_large",
        )

    def _take_chunked_body(self, request: HttpRequest) -> HttpResponse | None:
        """Read a body sent without Content-Length (chunked), or refuse it with 411.

        Django reads Content-Length bytes, none without one, so a chunked write
        would silently change nothing. A server that decodes the chunks and ends
        the input itself says so with WSGI's ``wsgi.input_terminated`` (gunicorn
        does); without it the body's end is unknown and the request is refused.
        """
        if not request.META.get("wsgi.input_terminated"):
            return problem_response(
                request,
                411,
                "Send the body with a Content-Length header; this server cannot read it chunked.",
                "length_required",
            )
        limit = settings.MAX_REQUEST_BODY_BYTES
        body = request.META["wsgi.input"].read(limit + 1)
        if len(body) > limit:
            return self._too_large(request)
        # Django and DRF then read it as any body with a length.
        request.META["CONTENT_LENGTH"] = str(len(body))
        # Django's WSGIRequest keeps a LimitedStream here too; the stubs say BinaryIO.
        request._stream = LimitedStream(io.BytesIO(body), len(body))  # type: ignore[assignment]
        return None
