"""Keeping home timelines in step with what happens: the consumer of outbox events.

Every handler is idempotent (ZADD/ZREM of the same members), so an event processed twice, or a
fan-out killed half-way and run again, leaves the same timelines.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from starling.core import Core
from starling.events import (
    BlockCreated,
    Event,
    FollowCreated,
    FollowRemoved,
    TweetPosted,
    TweetRemoved,
)
from starling.models import Tweet
from starling.queries import home
from starling.queries.users import user_counts
from starling.storage import keys
from starling.storage.timelines import Entry

FOLLOW_MERGE_SIZE = 50


async def handle(core: Core, event: Event) -> None:
    handler = HANDLERS.get(event.kind)
    if handler is not None:
        await handler(core, **dataclasses.asdict(event))


async def tweet_posted(core: Core, tweet_id: int, author_id: int, **_: Any) -> None:
    """Fan-out on write to active followers; celebrities are merged in on read instead."""
    async with core.db.read_session() as session:
        tweet = await session.get(Tweet, tweet_id)
    if tweet is None or tweet.deleted_at is not None:
        return
    entry = Entry(tweet.id, tweet.retweet_of_tweet_id)
    # The post pushed this already; again here in case that after-commit step was lost.
    await core.timelines.push([author_id], entry)
    await core.timelines.add_recent(author_id, entry)
    await core.events.tweet_in_homes([author_id], tweet.id)
    followers = (await user_counts(core.db, [author_id]))[0].followers_count
    is_celebrity = followers >= core.settings.celebrity_follower_threshold
    await core.timelines.mark_celebrity(author_id, is_celebrity)
    if is_celebrity:
        # One message for everyone: subscribers who follow a celebrity listen to its channel.
        await core.events.publish_many([keys.author_channel(author_id)], tweet.id)
        return
    active_since = datetime.now(UTC) - timedelta(days=core.settings.inactive_after_days)
    async for active, inactive in home.follower_batches(core.db, author_id, active_since):
        await core.timelines.push(active, entry)
        await core.events.tweet_in_homes(active, tweet.id)
        # An inactive follower's timeline would go stale: forget it, rebuild it on return.
        await core.timelines.drop(inactive)


async def tweet_removed(
    core: Core, tweet_id: int, author_id: int, original_id: int | None = None, **_: Any
) -> None:
    """A deleted tweet or an undone retweet leaves every timeline (reads filter it meanwhile)."""
    entry = Entry(tweet_id, original_id)
    await core.timelines.remove_recent(author_id, [entry])
    active_since = datetime.now(UTC) - timedelta(days=core.settings.inactive_after_days)
    await core.timelines.remove([author_id], [entry])
    async for active, inactive in home.follower_batches(core.db, author_id, active_since):
        await core.timelines.remove(active + inactive, [entry])


async def follow_created(core: Core, follower_id: int, followee_id: int, **_: Any) -> None:
    """The new followee's recent tweets join the follower's timeline."""
    if not await core.timelines.is_built(follower_id):
        return
    for entry in await home.entries_of_author(core.db, followee_id, FOLLOW_MERGE_SIZE):
        await core.timelines.push([follower_id], entry)


async def follow_removed(core: Core, follower_id: int, followee_id: int, **_: Any) -> None:
    """The former followee's tweets leave the follower's timeline."""
    oldest = await core.timelines.oldest_id(follower_id)
    if oldest is None:
        return
    theirs = await home.entries_of_author(
        core.db, followee_id, core.settings.timeline_size, since_id=oldest - 1
    )
    await core.timelines.remove([follower_id], theirs)


async def block_created(core: Core, blocker_id: int, blocked_id: int, **_: Any) -> None:
    await follow_removed(core, blocker_id, blocked_id)
    await follow_removed(core, blocked_id, blocker_id)


HANDLERS: dict[str, Callable[..., Awaitable[None]]] = {
    TweetPosted.kind: tweet_posted,
    TweetRemoved.kind: tweet_removed,
    FollowCreated.kind: follow_created,
    FollowRemoved.kind: follow_removed,
    BlockCreated.kind: block_created,
}
KINDS = frozenset(HANDLERS)
