"""ETag / If-Match / If-None-Match for versioned resources (RFC 9110 section 13)."""

from rest_framework.request import Request

ANY = "*"


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
