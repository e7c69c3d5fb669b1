"""Keeping OpenSearch in step with PostgreSQL: the outbox consumer, and rebuilding an index.

The consumer turns each event into "write these ids again" (``OpenSearchIndex.sync`` reads the
rows as they are now), so a delivery that runs twice or late writes the same documents. It runs
only when OpenSearch is configured (``starling.consumers``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from starling.core import Core
from starling.events import (
    Event,
    FollowAccepted,
    FollowCreated,
    FollowRemoved,
    ProfileChanged,
    ProtectionChanged,
    TweetEdited,
    TweetLiked,
    TweetPosted,
    TweetRemoved,
    TweetUnliked,
    decode,
)
from starling.models import OutboxEvent, Tweet
from starling.storage.search.opensearch import TWEETS, USERS
from starling.storage.search.opensearch_index import OpenSearchIndex, estimated_count

log = logging.getLogger(__name__)

KINDS = frozenset(
    cls.kind
    for cls in (
        TweetPosted,
        TweetEdited,
        TweetRemoved,
        TweetLiked,
        TweetUnliked,
        ProtectionChanged,
        ProfileChanged,
        FollowCreated,
        FollowRemoved,
        FollowAccepted,
    )
)
# Events recorded this long before a rebuild started are replayed into the new index as well:
# their deliveries may have written to the old one while the new one was read from PostgreSQL.
REPLAY_MARGIN = timedelta(minutes=1)
KINDS_OF_INDEX = (TWEETS, USERS)


async def handle(core: Core, event: Event) -> None:
    index = core.search_index
    if index is None:
        return  # OpenSearch is not configured: nothing to keep in step
    match event:
        case TweetPosted(tweet_id=tweet_id, original_id=original_id):
            # A reply, quote or retweet changes the counts TOP ranks its target by.
            async with core.db.read_session() as session:
                targets = (
                    await session.execute(
                        select(Tweet.reply_to_tweet_id, Tweet.quote_of_tweet_id).where(
                            Tweet.id == tweet_id
                        )
                    )
                ).first()
            ids = [tweet_id, original_id, *(targets or ())]
            await index.sync(TWEETS, [i for i in ids if i is not None])
        case (
            TweetEdited(tweet_id=tweet_id)
            | TweetLiked(tweet_id=tweet_id)
            | TweetUnliked(tweet_id=tweet_id)
        ):
            await index.sync(TWEETS, [tweet_id])
        case TweetRemoved(tweet_id=tweet_id, original_id=original_id):
            await index.sync(TWEETS, [i for i in (tweet_id, original_id) if i is not None])
        case ProtectionChanged(user_id=user_id, protected=protected):
            await index.set_author_protected(user_id, protected)
            await index.sync(USERS, [user_id])
        case ProfileChanged(user_id=user_id):
            await index.sync(USERS, [user_id])
        case (
            FollowCreated(followee_id=followee_id)
            | FollowRemoved(followee_id=followee_id)
            | FollowAccepted(followee_id=followee_id)
        ):
            await index.sync(USERS, [followee_id])  # people search ranks by followers


@dataclass(frozen=True)
class Reindexed:
    kind: str
    index: str
    rows: int
    replayed: int
    dropped: list[str]


async def reindex(core: Core, kind: str, on_batch: Callable[[int], object]) -> Reindexed:
    """Build a new index of ``kind`` from PostgreSQL, move the alias to it in one step (searches
    go on meanwhile, from the old one), replay what happened during the build, drop the old."""
    index = require_index(core)
    started = datetime.now(UTC)
    rows = 0

    def counted(batch: int) -> None:
        nonlocal rows
        rows += batch
        on_batch(batch)

    name = await index.build(kind, counted)
    old = await index.swap(kind, name)
    replayed = await _replay_since(core, started - REPLAY_MARGIN)
    await index.drop(old)
    return Reindexed(kind, name, rows, replayed, old)


async def estimated_rows(core: Core, kind: str) -> int:
    return await estimated_count(core.db, kind)


def require_index(core: Core) -> OpenSearchIndex:
    if core.search_index is None:
        raise RuntimeError("OpenSearch is not configured: set STARLING_OPENSEARCH_URL")
    return core.search_index


async def _replay_since(core: Core, since: datetime) -> int:
    statement = (
        select(OutboxEvent.event, OutboxEvent.payload)
        .where(OutboxEvent.created_at >= since, OutboxEvent.event.in_(KINDS))
        .order_by(OutboxEvent.id)
    )
    replayed = 0
    for row in await core.db.rows(statement):
        await handle(core, decode(row.event, row.payload))
        replayed += 1
    return replayed
