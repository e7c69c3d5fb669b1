"""The home timeline's Lua scripts (``starling/storage/timelines.py``) against real Redis."""

from __future__ import annotations

from typing import Any

from starling.storage import keys
from starling.storage.timelines import REPEAT_WINDOW, Entry, Timelines


def timelines_of(app: Any, size: int = 800) -> Timelines:
    return Timelines(app.state.core.redis.timelines, size)


async def test_push_reaches_only_built_or_rebuilding_timelines(app: Any) -> None:
    timelines = timelines_of(app)
    await timelines.finish_rebuild(1, [])
    await timelines.start_rebuild(2)

    assert await timelines.push([1, 2, 3], Entry(100)) == 2

    assert await timelines.entries(1) == [Entry(100)]
    assert await timelines.read(3, None, 10) is None  # never built: left for the rebuild
    assert await timelines.finish_rebuild(2, [Entry(90)]) == 2
    assert await timelines.entries(2) == [Entry(100), Entry(90)]
    assert not await app.state.core.redis.timelines.exists(keys.home_timeline_rebuilding(2))


async def test_a_retweet_of_an_original_near_the_top_is_not_repeated(app: Any) -> None:
    timelines = timelines_of(app)
    await timelines.finish_rebuild(1, [Entry(10)])

    assert await timelines.push([1], Entry(20, original_id=10)) == 0  # the original is on top
    assert await timelines.push([1], Entry(21, original_id=99)) == 1
    assert await timelines.push([1], Entry(22, original_id=99)) == 0  # already retweeted above

    # Once the original has sunk below the window, a retweet of it shows again.
    await timelines.finish_rebuild(2, [Entry(10), *(Entry(100 + n) for n in range(REPEAT_WINDOW))])
    assert await timelines.push([2], Entry(500, original_id=10)) == 1
    assert (await timelines.entries(2))[0] == Entry(500, original_id=10)


async def test_a_timeline_keeps_its_newest_entries_and_its_sentinel(app: Any) -> None:
    timelines = timelines_of(app, size=3)
    await timelines.finish_rebuild(1, [Entry(1), Entry(2), Entry(3), Entry(4)])
    assert await timelines.entries(1) == [Entry(4), Entry(3), Entry(2)]

    await timelines.push([1], Entry(5))

    assert await timelines.entries(1) == [Entry(5), Entry(4), Entry(3)]
    assert await timelines.is_built(1)
    assert await timelines.read(1, before=4, count=10) == [Entry(3)]
