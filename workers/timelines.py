"""Timeline rebuilds (event deliveries are in ``workers.events``)."""

from __future__ import annotations

from typing import Any

from starling.services import home_timeline


async def rebuild_home_timeline(ctx: dict[str, Any], user_id: int) -> int:
    return await home_timeline.rebuild(ctx["core"], user_id)
