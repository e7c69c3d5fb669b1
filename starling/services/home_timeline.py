"""Reading home timelines: Redis ids + followed celebrities' recent tweets, merged by id, filtered,
continued from PostgreSQL past the Redis window. A timeline that is not built is served from
PostgreSQL at once while a job rebuilds it, so nobody waits for a rebuild or sees an empty feed.
"""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

from starling.core import Core
from starling.queries import home
from starling.queries.pagination import Page, PageRequest, int_key, page_from_rows
from starling.queries.tweets import PageParts
from starling.records import TweetRecord
from starling.storage.timelines import Entry

log = logging.getLogger(__name__)

REBUILD_JOB = "rebuild_home_timeline"
MAX_ROUNDS = 4  # Redis reads per page before continuing from PostgreSQL


async def read(
    core: Core, viewer_id: int, request: PageRequest, parts: dict[int, PageParts] | None = None
) -> Page[TweetRecord]:
    """The page; with ``parts``, each tweet's author, counts and the viewer's state too, read by
    the statements that read the tweets (into ``parts``, by tweet id)."""
    after = int_key(request)
    before = after[0] if after else None
    wanted = request.first + 1
    batch = max(2 * wanted, 20)
    # The first round's entries come with the built check and the celebrities: one round trip.
    first_round, celebrity_ids = await core.timelines.read_with_celebrities(
        viewer_id, before, batch
    )
    if first_round is None:
        await request_rebuild(core, viewer_id)
        rows = await home.home_tweets_from_postgres(core.db, viewer_id, before, wanted, parts)
        return page_from_rows(rows, [(t.id,) for t in rows], request)

    celebrities = await home.followed_among(core.db, viewer_id, celebrity_ids)
    collected: list[TweetRecord] = []
    for round_number in range(MAX_ROUNDS):
        batch = max(2 * (wanted - len(collected)), 20)
        own = (
            first_round
            if round_number == 0
            else await core.timelines.read(viewer_id, before, batch)
        )
        merged = _merge(own or [], await core.timelines.recent(celebrities, before, batch))[:batch]
        if not merged:
            break
        collected += await home.home_tweets_by_ids(
            core.db, viewer_id, [e.tweet_id for e in merged], wanted - len(collected), parts
        )
        before = merged[-1].tweet_id
        if len(collected) >= wanted:
            break
    if len(collected) < wanted:
        # Past the Redis window (or the end of it): the rest comes from PostgreSQL.
        collected += await home.home_tweets_from_postgres(
            core.db, viewer_id, before, wanted - len(collected), parts
        )
    return page_from_rows(collected, [(t.id,) for t in collected], request)


def _merge(*sources: list[Entry]) -> list[Entry]:
    """Entries from several sources, newest first, each tweet once."""
    unique = {entry.tweet_id: entry for source in sources for entry in source}
    return sorted(unique.values(), key=lambda e: e.tweet_id, reverse=True)


async def request_rebuild(core: Core, user_id: int) -> None:
    try:
        await core.queue.enqueue_job(REBUILD_JOB, user_id, _job_id=f"rebuild:{user_id}")
    except (RedisError, OSError):
        log.warning("could not enqueue a timeline rebuild for %s", user_id, exc_info=True)


async def rebuild(core: Core, user_id: int) -> int:
    """Build the timeline from PostgreSQL; fan-out arriving meanwhile is kept. Idempotent."""
    await core.timelines.start_rebuild(user_id)
    tweets = await home.home_tweets_from_postgres(
        core.db, user_id, None, core.settings.timeline_size
    )
    return await core.timelines.finish_rebuild(
        user_id, [Entry(t.id, t.retweet_of_tweet_id) for t in tweets]
    )
