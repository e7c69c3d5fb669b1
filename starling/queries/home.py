"""Read side of home timelines in PostgreSQL: fan-out on read, and filtering ids from Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, any_, exists, literal, or_, select

from starling.db import Database
from starling.models import Follower, Following, Tweet, User
from starling.queries.common import VIEWER, ids_param, in_ids
from starling.storage.timelines import Entry
from starling.visibility import not_muted, tweet_visible


def in_home_of(viewer_id: int | ColumnElement[int]) -> ColumnElement[bool]:
    """The tweet's author is the viewer or someone the viewer follows (so an unfollow takes effect
    on the next read, before any job trims the timeline), and it passes visibility and mutes."""
    followed = exists().where(
        Following.user_id == viewer_id, Following.following_id == Tweet.author_id
    )
    return (
        or_(Tweet.author_id == viewer_id, followed)
        & tweet_visible(Tweet, viewer_id)
        & not_muted(Tweet, viewer_id)
    )


_HOME_TWEETS_BY_IDS = select(*Tweet.__table__.c).where(
    Tweet.id == any_(ids_param()), in_home_of(VIEWER)
)


async def home_tweets_by_ids(db: Database, viewer_id: int, ids: Sequence[int]) -> list[Row[Any]]:
    """The tweets among ``ids`` that belong in the viewer's home timeline, in the order given."""
    if not ids:
        return []
    rows = await db.rows(_HOME_TWEETS_BY_IDS, {"ids": list(ids), "viewer_id": viewer_id})
    by_id = {tweet.id: tweet for tweet in rows}
    return [by_id[i] for i in ids if i in by_id]


async def home_tweets_from_postgres(
    db: Database, viewer_id: int, before: int | None, limit: int
) -> list[Tweet]:
    """Fan-out on read: the newest tweets of the viewer and everyone they follow."""
    authors = (
        select(Following.following_id)
        .where(Following.user_id == viewer_id)
        .union_all(select(literal(viewer_id)))
    )
    statement = select(Tweet).where(Tweet.author_id.in_(authors), in_home_of(viewer_id))
    if before is not None:
        statement = statement.where(Tweet.id < before)
    statement = statement.order_by(Tweet.id.desc()).limit(limit)
    async with db.read_session() as session:
        return list((await session.scalars(statement)).all())


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


async def follower_batches(
    db: Database, author_id: int, active_since: datetime, batch_size: int = 1000
) -> AsyncIterator[tuple[list[int], list[int]]]:
    """(active, inactive) follower ids of an author, a batch at a time, by keyset on follower id."""
    after = 0
    while True:
        async with db.read_session() as session:
            rows = (
                await session.execute(
                    select(Follower.follower_id, User.last_active_at >= active_since)
                    .join(User, User.id == Follower.follower_id)
                    .where(Follower.user_id == author_id, Follower.follower_id > after)
                    .order_by(Follower.follower_id)
                    .limit(batch_size)
                )
            ).all()
        if not rows:
            return
        yield [r[0] for r in rows if r[1]], [r[0] for r in rows if not r[1]]
        if len(rows) < batch_size:
            return
        after = rows[-1][0]


async def followed_among(db: Database, viewer_id: int, user_ids: Sequence[int]) -> list[int]:
    """Which of ``user_ids`` the viewer follows."""
    if not user_ids:
        return []
    async with db.read_session() as session:
        return list(
            (
                await session.scalars(
                    select(Following.following_id).where(
                        Following.user_id == viewer_id, in_ids(Following.following_id, user_ids)
                    )
                )
            ).all()
        )
