"""Who is connected (``Publisher.present``) against real Redis: its script reads whichever side
is smaller, the ids asked about or the people online, and both ways must agree."""

from __future__ import annotations

import time
from typing import Any

from starling.storage import keys


async def test_present_users_are_the_unexpired_ones_in_the_order_asked(app: Any) -> None:
    events = app.state.core.events
    now = time.time()
    await events.redis.zadd(keys.PRESENCE, {"1": now + 60, "2": now - 1, "3": now + 60})

    # Three online, four asked about: the script reads the online ones once.
    assert await events.present([4, 3, 2, 1]) == [3, 1]
    # Two asked about, three online: one lookup per id.
    assert await events.present([3, 2]) == [3]
    assert await events.present([1, 3]) == [1, 3]
    assert await events.present([]) == []


async def test_nobody_is_present_when_nobody_is_connected(app: Any) -> None:
    events = app.state.core.events
    await events.redis.delete(keys.PRESENCE)

    assert await events.present(list(range(1, 2000))) == []
