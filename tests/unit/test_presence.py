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


async def test_a_tweet_in_homes_is_one_message_naming_the_present_users(app: Any) -> None:
    events = app.state.core.events
    now = time.time()
    await events.redis.delete(keys.PRESENCE)
    await events.redis.zadd(keys.PRESENCE, {"7": now + 60, "8": now - 1, "9": now + 60})
    pubsub = events.redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(keys.HOME_DELIVERIES)
    try:
        await events.tweet_in_homes([9, 8, 7, 6], 1234)
        await events.tweet_in_homes([8, 6], 1235)  # nobody present: no message
        await events.tweet_in_homes([7], 1236)
        received = []
        deadline = time.monotonic() + 2
        while len(received) < 2 and time.monotonic() < deadline:
            message = await pubsub.get_message(timeout=0.2)
            if message is not None:
                received.append(message["data"])
        assert received == [b"1234:9,7", b"1236:7"]
        assert await pubsub.get_message(timeout=0.2) is None
    finally:
        await pubsub.aclose()
