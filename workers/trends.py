"""The trends refresh: score every scope, store and announce what changed."""

from __future__ import annotations

from typing import Any

from starling.services import trends


async def refresh_trends(ctx: dict[str, Any]) -> int:
    """Returns how many trends are listed across scopes."""
    lists = await trends.refresh(ctx["core"])
    return sum(len(listed) for listed in lists.values())
