"""Read side of home timelines in PostgreSQL: fan-out on read, and filtering ids from Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, any_, bindparam, or_, select

from starling import ids
from starling.db import Database, Prepared
from starling.models import Follower, Following, Tweet, User
from starling.queries.common import VIEWER, id_list, ids_param
from starling.queries.tweets import PageParts, tweets_with_parts, with_page_parts
from starling.records import TWEET_COLUMNS, TweetRecord
from starling.storage.timelines import Entry
from starling.visibility import follows, not_muted, tweet_visible


def in_home_of(viewer_id: int | ColumnElement[int]) -> ColumnElement[bool]:
    """The tweet's author is the viewer or someone the viewer follows (so an unfollow takes effect
    on the next read, before any job trims the timeline), and it passes visibility and mutes."""
    return (
        or_(Tweet.author_id == viewer_id, follows(viewer_id, Tweet.author_id))
        & tweet_visible(Tweet, viewer_id)
        & not_muted(Tweet, viewer_id)
    )


_HOME_TWEETS = (
    select(*TWEET_COLUMNS)
    .where(Tweet.id == any_(ids_param()), in_home_of(VIEWER))
    .order_by(Tweet.id.desc())
    .limit(bindparam("limit", type_=BigInteger))
)
_HOME_TWEETS_BY_IDS = Prepared(_HOME_TWEETS)
_HOME_TWEETS_WITH_PARTS = with_page_parts(_HOME_TWEETS)


async def home_tweets_by_ids(
    db: Database,
    viewer_id: int,
    ids: Sequence[int],
    limit: int,
    parts: dict[int, PageParts] | None = None,
) -> list[TweetRecord]:
    """The newest ``limit`` tweets among ``ids`` that belong in the viewer's home timeline,
    newest first. With ``parts``, each one's ``tweet_page_parts`` are read by the same
    statement into it."""
    if not ids or limit < 1:
        return []
    params = {"ids": list(ids), "viewer_id": viewer_id, "limit": limit}
    if parts is None:
        return [TweetRecord.of_values(row) for row in await db.fetch(_HOME_TWEETS_BY_IDS, params)]
    tweets, their_parts = tweets_with_parts(await db.fetch(_HOME_TWEETS_WITH_PARTS, params))
    parts.update((tweet.id, part) for tweet, part in zip(tweets, their_parts, strict=True))
    return tweets


def _viewers_who_get() -> Select[Any]:
    viewers = id_list(ids_param("viewers"))
    return (
        select(viewers.c.id)
        .select_from(viewers)
        .join(Tweet, Tweet.id == bindparam("tweet_id", type_=BigInteger))
        .where(in_home_of(viewers.c.id))
    )


_VIEWERS_WHO_GET = _viewers_who_get()


async def viewers_who_get(db: Database, tweet_id: int, viewer_ids: Sequence[int]) -> set[int]:
    """Which of ``viewer_ids`` the tweet belongs in the home timeline of: the same rule as
    ``in_home_of``, for many viewers in one statement (live delivery to every subscriber)."""
    rows = await db.rows(_VIEWERS_WHO_GET, {"tweet_id": tweet_id, "viewers": list(viewer_ids)})
    return {row[0] for row in rows}


_FOLLOWEES = Prepared(select(Following.following_id).where(Following.user_id == VIEWER))
_CANDIDATES = Prepared(
    select(Tweet.id)
    .where(
        Tweet.author_id == any_(ids_param("authors")),
        Tweet.id >= bindparam("low", type_=BigInteger),
        Tweet.id < bindparam("high", type_=BigInteger),
        Tweet.deleted_at.is_(None),
    )
    .order_by(Tweet.id.desc())
    .limit(bindparam("limit", type_=BigInteger))
)
FIRST_WINDOW = timedelta(days=1)


async def home_tweets_from_postgres(
    db: Database,
    viewer_id: int,
    before: int | None,
    limit: int,
    parts: dict[int, PageParts] | None = None,
) -> list[TweetRecord]:
    """Fan-out on read: the newest tweets of the viewer and everyone they follow.

    Candidates come from a window of time below ``before`` that widens until the page is full
    (a day, then four, sixteen ...), each an index range scan per author; only candidates go
    through the visibility filter. Reading every tweet of a thousand followees to keep the newest
    would cost seconds for a user who follows busy accounts.
    """
    authors = [row[0] for row in await db.fetch(_FOLLOWEES, {"viewer_id": viewer_id})]
    authors.append(viewer_id)
    high = before if before is not None else ids.MAX_ID + 1
    top = datetime.now(UTC) if before is None else ids.id_timestamp(before)
    window = FIRST_WINDOW
    found: list[TweetRecord] = []
    while len(found) < limit and high > 0:
        low = ids.lowest_id_at(top - window)
        candidates = [
            row[0]
            for row in await db.fetch(
                _CANDIDATES, {"authors": authors, "low": low, "high": high, "limit": limit}
            )
        ]
        found += await home_tweets_by_ids(db, viewer_id, candidates, limit - len(found), parts)
        if len(candidates) == limit:
            high = candidates[-1]  # the window holds more: continue below the last one
        else:
            high, window = low, window * 4  # the window is spent: widen it
    return found[:limit]


async def entries_of_author(
    db: Database, author_id: int, limit: int, since_id: int = 0
) -> list[Entry]:
    """An author's live tweets and retweets as timeline entries, newest first."""
    async with db.read_session() as session:
        rows = (
            await session.execute(
                select(Tweet.id, Tweet.retweet_of_tweet_id)
                .where(
                    Tweet.author_id == author_id, Tweet.deleted_at.is_(None), Tweet.id > since_id
                )
                .order_by(Tweet.id.desc())
                .limit(limit)
            )
        ).all()
    return [Entry(row.id, row.retweet_of_tweet_id) for row in rows]


_FOLLOWER_BATCH = Prepared(
    select(Follower.follower_id, User.last_active_at >= bindparam("active_since"))
    .join(User, User.id == Follower.follower_id)
    .where(Follower.user_id == bindparam("author_id"), Follower.follower_id > bindparam("after"))
    .order_by(Follower.follower_id)
    .limit(bindparam("batch_size"))
)


async def follower_batches(
    db: Database, author_id: int, active_since: datetime, batch_size: int = 5000
) -> AsyncIterator[tuple[list[int], list[int]]]:
    """(active, inactive) follower ids of an author, a batch at a time, by keyset on follower id.

    The next batch is read while the caller works on this one: fan-out then waits on PostgreSQL
    and Redis at the same time instead of in turn."""

    def batch_after(after: int) -> asyncio.Task[list[Any]]:
        params = {
            "author_id": author_id,
            "after": after,
            "active_since": active_since,
            "batch_size": batch_size,
        }
        return asyncio.ensure_future(db.fetch(_FOLLOWER_BATCH, params))

    upcoming = batch_after(0)
    try:
        while True:
            rows = await upcoming
            if not rows:
                return
            more = len(rows) == batch_size
            if more:
                upcoming = batch_after(rows[-1][0])
            yield [r[0] for r in rows if r[1]], [r[0] for r in rows if not r[1]]
            if not more:
                return
    finally:
        upcoming.cancel()


_FOLLOWED_AMONG = Prepared(
    select(Following.following_id).where(
        Following.user_id == VIEWER, Following.following_id == any_(ids_param())
    )
)


async def followed_among(db: Database, viewer_id: int, user_ids: Sequence[int]) -> list[int]:
    """Which of ``user_ids`` the viewer follows."""
    if not user_ids:
        return []
    rows = await db.fetch(_FOLLOWED_AMONG, {"viewer_id": viewer_id, "ids": list(user_ids)})
    return [row[0] for row in rows]
