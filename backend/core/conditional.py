"""ETag / If-Match / If-None-Match for versioned resources (RFC 9110 section 13)."""

from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request

ANY = "*"


def if_match_parameter(*, required: bool, description: str) -> OpenApiParameter:
    """The If-Match header as the schema documents it; what it guards varies by endpoint."""
    return OpenApiParameter(
        "If-Match", str, OpenApiParameter.HEADER, required=required, description=description
    )


IF_MATCH = if_match_parameter(required=True, description='The ETag you last read, e.g. "3".')
IF_MATCH_OPTIONAL = if_match_parameter(
    required=False, description="Delete only if still at this ETag."
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Answer 304 if unchanged.",
)


def etag(version: int) -> str:
    return f'"{version}"'


def _tags(header: str) -> set[str]:
    return {part.strip() for part in header.split(",") if part.strip()}


def if_match_version(request: Request) -> int | str | None:
    """The version an If-Match names: an int, ANY for "*", None when absent.

    Weak tags never match (If-Match uses strong comparison); a header naming no
    usable version answers as a version that matches nothing (0).
    """
    header = request.headers.get("If-Match")
    if header is None:
        return None
    tags = _tags(header)
    if ANY in tags:
        return ANY
    versions = [
        int(tag[1:-1])
        for tag in tags
        # isascii(): "²" is a digit to str.isdigit() but not to int().
        if len(tag) > 2 and tag[0] == tag[-1] == '"' and tag[1:-1].isascii() and tag[1:-1].isdigit()
    ]
    return versions[0] if len(versions) == 1 else 0


def none_match(request: Request, version: int) -> bool:
    """True when If-None-Match names this version (weak comparison) or "*"."""
    header = request.headers.get("If-None-Match")
    if header is None:
        return False
    tags = {tag.removeprefix("W/") for tag in _tags(header)}
    return ANY in tags or etag(version) in tags
