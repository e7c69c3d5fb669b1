"""The Node interface and opaque global ids ("User:123" in URL-safe base64)."""

from __future__ import annotations

import base64
import binascii

import strawberry


@strawberry.interface(description="An object with a global id, refetchable with node(id:).")
class Node:
    id: strawberry.ID


def to_global_id(type_name: str, db_id: int) -> strawberry.ID:
    raw = f"{type_name}:{db_id}".encode()
    return strawberry.ID(base64.urlsafe_b64encode(raw).decode().rstrip("="))


def from_global_id(global_id: str) -> tuple[str, int] | None:
    """(type name, database id), or None when the id is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode((global_id + "=" * (-len(global_id) % 4)).encode())
        type_name, _, db_id = raw.decode().partition(":")
        number = int(db_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not type_name or number <= 0 or number >= 1 << 63:
        return None
    return type_name, number


def db_id_of(global_id: str, type_name: str) -> int | None:
    decoded = from_global_id(global_id)
    if decoded is None or decoded[0] != type_name:
        return None
    return decoded[1]
