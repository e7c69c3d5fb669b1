"""Housekeeping jobs."""

from __future__ import annotations

from typing import Any

from starling.storage import sessions


async def purge_expired_sessions(ctx: dict[str, Any]) -> int:
    return await sessions.purge_expired(ctx["core"])
