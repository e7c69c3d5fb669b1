"""Reading a GraphQL request off HTTP without trusting it: size, encoding, JSON shape and depth.

Every problem is a 4xx with a coded JSON error (``RequestRejected``), never a 500: a body over
the size limit is refused while it streams in (413), bytes that are not UTF-8, JSON that is not
an object, or JSON nested deeper than any real request needs are refused before GraphQL sees
them (400).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from starling.errors import ErrorCode

_UNSTORABLE = frozenset("\x00")


class RequestRejected(Exception):
    """A request refused at the door, answered as ``{"errors": [...]}`` with this status."""

    def __init__(self, status: int, message: str, code: ErrorCode = ErrorCode.BAD_USER_INPUT):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code

    def body(self) -> dict[str, Any]:
        return {"errors": [{"message": self.message, "extensions": {"code": self.code.value}}]}


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused (413) as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    # Starlette keeps the body here; the GraphQL view reads it back from the cache.
    request._body = body
    return body


def _too_large(limit: int) -> RequestRejected:
    return RequestRejected(
        413, f"The request body is larger than {limit} bytes.", ErrorCode.PAYLOAD_TOO_LARGE
    )


def decode_json(data: str | bytes, max_depth: int) -> object:
    """Parse JSON text that must be UTF-8 and nested at most ``max_depth`` deep."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise RequestRejected(400, "The request is not valid UTF-8.") from None
    if _nesting_exceeds(data, max_depth):
        raise RequestRejected(400, f"JSON may be nested at most {max_depth} levels deep.")
    try:
        return json.loads(data)
    except ValueError:
        raise RequestRejected(400, "The request is not valid JSON.") from None


def _nesting_exceeds(text: str, max_depth: int) -> bool:
    """Whether brackets outside strings nest deeper than ``max_depth`` (one linear pass, so the
    parser never recurses into a hostile document)."""
    if text.count("[") + text.count("{") <= max_depth:
        return False
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > max_depth:
                return True
        elif char in "]}":
            depth -= 1
    return False


def graphql_params(data: object) -> Mapping[str, Any]:
    """The parameters of one GraphQL request, checked for shape (batches are not accepted)."""
    if isinstance(data, list):
        raise RequestRejected(400, "Batched requests are not supported; send one operation.")
    if not isinstance(data, dict):
        raise RequestRejected(400, "The request must be a JSON object.")
    for key, kinds, description in (
        ("query", (str,), "a string"),
        ("operationName", (str,), "a string"),
        ("variables", (dict,), "an object"),
        ("extensions", (dict,), "an object"),
        ("documentId", (str,), "a string"),
    ):
        value = data.get(key)
        if value is not None and not isinstance(value, kinds):
            raise RequestRejected(400, f"`{key}` must be {description} or null.")
    name = data.get("operationName")
    if isinstance(name, str) and not _storable(name):
        raise RequestRejected(400, "`operationName` has characters that cannot be encoded.")
    return data


def _storable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not _UNSTORABLE.intersection(value)
