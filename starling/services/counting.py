"""Recording counter changes: the delta in Redis, and a live update for anyone watching."""

from __future__ import annotations

from collections.abc import Sequence

from starling.core import Core
from starling.storage import counters
from starling.storage.counters import Delta


async def record(core: Core, deltas: Sequence[Delta]) -> None:
    """Call after the transaction that made the change commits."""
    if not deltas:
        return
    await counters.add(core.redis.main, deltas)
    await core.events.engagement_changed(d.object_id for d in deltas if d.kind == "tweet")
