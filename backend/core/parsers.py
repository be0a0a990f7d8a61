"""The API's one JSON parser: whatever the body, a document or a 400 problem.

DRF's parser lets Python's RecursionError escape on deeply nested input (a 500
on every JSON endpoint, sign-in included) and reads numbers too large for a
float as infinity. This one refuses both, and anything that is not UTF-8 JSON
(RFC 8259 section 8.1), with one ParseError, which the exception handler turns
into the problem shape.
"""

import json
import math
from collections.abc import Iterable
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# The deepest payload the API takes is a batch item's trigger list (4 levels);
# anything far deeper is an attack or a bug, and must stay far below the
# interpreter's recursion limit for the serializers that walk it.
MAX_JSON_DEPTH = 32


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` levels deep (no recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Iterable[Any] = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        too_deep = ParseError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep.")
        try:
            text = stream.read().decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError("Send JSON encoded as UTF-8.") from None
        try:
            value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
        except RecursionError:
            raise too_deep from None
        except ValueError as exc:  # JSONDecodeError, and int() past its digit limit
            raise ParseError(f"JSON parse error - {exc}") from None
        if json_depth_exceeds(value, MAX_JSON_DEPTH):
            raise too_deep
        return value
