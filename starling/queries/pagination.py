"""Keyset pagination: opaque cursors over a sort key, pages that stay stable as rows arrive."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Generic, TypeVar

import orjson

from starling.errors import DomainError, ErrorCode

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# Ours are a few dozen characters; anything much longer was not made here.
MAX_CURSOR_LENGTH = 200


@dataclass(frozen=True)
class PageRequest:
    """``first`` items after the position ``after`` (a decoded cursor key, or None for the top)."""

    first: int
    after: tuple[int | str, ...] | None


@dataclass(frozen=True)
class Page(Generic[T]):
    """Items with the cursor key of each, and whether more follow."""

    items: list[T]
    keys: list[tuple[int | str, ...]]
    has_next_page: bool


def encode_cursor(key: tuple[int | str, ...]) -> str:
    # orjson writes what json.dumps(..., separators=(",", ":")) writes, but for non-ASCII
    # text (as UTF-8, not \u escapes), which decode_cursor reads alike.
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int | str, ...]:
    """A cursor's key: a short flat list of 64-bit integers and strings, or BAD_USER_INPUT."""
    invalid = DomainError(ErrorCode.BAD_USER_INPUT, "Invalid cursor.", "after")
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise invalid
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeError, RecursionError) as exc:
        raise invalid from exc
    if not isinstance(value, list) or not all(_cursor_part(part) for part in value):
        raise invalid
    return tuple(value)


def _cursor_part(part: object) -> bool:
    if isinstance(part, bool):
        return False
    if isinstance(part, int):
        return -(2**63) <= part < 2**63
    return isinstance(part, str) and len(part) <= MAX_CURSOR_LENGTH


def page_request(first: int | None, after: str | None) -> PageRequest:
    """Validate connection arguments: ``first`` from 1 to 100 (default 20), a well-formed cursor."""
    size = DEFAULT_PAGE_SIZE if first is None else first
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise DomainError(
            ErrorCode.BAD_USER_INPUT, f"first must be between 1 and {MAX_PAGE_SIZE}.", "first"
        )
    return PageRequest(first=size, after=decode_cursor(after) if after else None)


def int_key(request: PageRequest, length: int = 1) -> tuple[int, ...] | None:
    """The cursor key as ``length`` integers, or None at the top; a cursor of another shape (from
    another list) is a BAD_USER_INPUT."""
    if request.after is None:
        return None
    if len(request.after) != length or not all(isinstance(part, int) for part in request.after):
        raise DomainError(ErrorCode.BAD_USER_INPUT, "This cursor is not for this list.", "after")
    return tuple(int(part) for part in request.after)


def page_from_rows(
    rows: list[T], keys: list[tuple[int | str, ...]], request: PageRequest
) -> Page[T]:
    """Build a page from ``request.first + 1`` fetched rows: the extra row only says more follow."""
    return Page(
        items=rows[: request.first],
        keys=keys[: request.first],
        has_next_page=len(rows) > request.first,
    )
