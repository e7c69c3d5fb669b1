"""Read side for tweets: batched lookups for the dataloaders and keyset-paginated lists.

Every query filters with ``starling.visibility``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy import Select, exists, select

from starling.db import Database
from starling.models import (
    Bookmark,
    Like,
    Tweet,
    TweetHashtag,
    TweetMention,
    TweetStats,
    TweetVersion,
    User,
)
from starling.queries.common import id_list, newest_first_by_time
from starling.queries.pagination import Page, PageRequest, int_key, page_from_rows
from starling.storage import counters
from starling.visibility import not_muted, tweet_visible


@dataclass(frozen=True)
class TweetCounts:
    like_count: int = 0
    retweet_count: int = 0
    reply_count: int = 0
    quote_count: int = 0
    bookmark_count: int = 0


@dataclass(frozen=True)
class TweetViewerState:
    liked: bool = False
    retweeted: bool = False
    bookmarked: bool = False


async def visible_tweets_by_ids(
    db: Database, viewer_id: int | None, ids: Sequence[int]
) -> list[Tweet | None]:
    async with db.read_session() as session:
        rows = (
            await session.scalars(
                select(Tweet).where(Tweet.id.in_(ids), tweet_visible(Tweet, viewer_id))
            )
        ).all()
    by_id = {tweet.id: tweet for tweet in rows}
    return [by_id.get(i) for i in ids]


async def tweet_counts(db: Database, redis: Redis, ids: Sequence[int]) -> list[TweetCounts]:
    """Stored counts plus the deltas not yet flushed."""
    async with db.read_session() as session:
        rows = (await session.scalars(select(TweetStats).where(TweetStats.tweet_id.in_(ids)))).all()
    stored = {row.tweet_id: row for row in rows}
    deltas = await counters.pending(redis, "tweet", ids)
    result = []
    for tweet_id, delta in zip(ids, deltas, strict=True):
        row = stored.get(tweet_id)
        result.append(
            TweetCounts(
                **{
                    field: (getattr(row, field) if row else 0) + delta.get(field, 0)
                    for field in counters.TWEET_FIELDS
                }
            )
        )
    return result


async def hashtags_by_tweet_ids(db: Database, ids: Sequence[int]) -> list[list[str]]:
    async with db.read_session() as session:
        rows = (
            await session.execute(
                select(TweetHashtag.tweet_id, TweetHashtag.tag).where(
                    TweetHashtag.tweet_id.in_(ids)
                )
            )
        ).all()
    grouped: dict[int, list[str]] = defaultdict(list)
    for tweet_id, tag in rows:
        grouped[tweet_id].append(tag)
    return [sorted(grouped.get(i, [])) for i in ids]


async def mentioned_users_by_tweet_ids(db: Database, ids: Sequence[int]) -> list[list[User]]:
    """The users each tweet mentions, read with the mentions (one statement, no second hop)."""
    async with db.read_session() as session:
        rows = (
            await session.execute(
                select(TweetMention.tweet_id, User)
                .join(User, User.id == TweetMention.user_id)
                .where(TweetMention.tweet_id.in_(ids))
                .order_by(TweetMention.tweet_id, User.username)
            )
        ).all()
    grouped: dict[int, list[User]] = defaultdict(list)
    for tweet_id, user in rows:
        grouped[tweet_id].append(user)
    return [grouped.get(i, []) for i in ids]


async def versions_by_tweet_ids(db: Database, ids: Sequence[int]) -> list[list[TweetVersion]]:
    async with db.read_session() as session:
        rows = (
            await session.scalars(
                select(TweetVersion)
                .where(TweetVersion.tweet_id.in_(ids))
                .order_by(TweetVersion.tweet_id, TweetVersion.number)
            )
        ).all()
    grouped: dict[int, list[TweetVersion]] = defaultdict(list)
    for version in rows:
        grouped[version.tweet_id].append(version)
    return [grouped.get(i, []) for i in ids]


async def viewer_tweet_states(
    db: Database, viewer_id: int, ids: Sequence[int]
) -> list[TweetViewerState]:
    """Whether the viewer liked, retweeted and bookmarked each tweet: one statement."""
    wanted = id_list(ids)
    retweet = Tweet.__table__.alias("viewer_retweet")
    statement = select(
        wanted.c.id,
        exists().where(Like.tweet_id == wanted.c.id, Like.user_id == viewer_id).label("liked"),
        exists()
        .where(
            retweet.c.retweet_of_tweet_id == wanted.c.id,
            retweet.c.author_id == viewer_id,
            retweet.c.deleted_at.is_(None),
        )
        .label("retweeted"),
        exists()
        .where(Bookmark.tweet_id == wanted.c.id, Bookmark.user_id == viewer_id)
        .label("bookmarked"),
    )
    async with db.read_session() as session:
        rows = (await session.execute(statement)).all()
    by_id = {row.id: TweetViewerState(row.liked, row.retweeted, row.bookmarked) for row in rows}
    return [by_id.get(i, TweetViewerState()) for i in ids]


async def _tweet_page(
    db: Database, statement: Select[tuple[Tweet]], request: PageRequest
) -> Page[Tweet]:
    """Newest first by id; the cursor is the id."""
    after = int_key(request)
    if after is not None:
        statement = statement.where(Tweet.id < after[0])
    statement = statement.order_by(Tweet.id.desc()).limit(request.first + 1)
    async with db.read_session() as session:
        rows = list((await session.scalars(statement)).all())
    return page_from_rows(rows, [(t.id,) for t in rows], request)


async def profile_tweets(
    db: Database,
    viewer_id: int | None,
    author_id: int,
    include_replies: bool,
    request: PageRequest,
) -> Page[Tweet]:
    """A user's tweets and retweets; replies only when asked. Muting does not hide a profile."""
    statement = select(Tweet).where(Tweet.author_id == author_id, tweet_visible(Tweet, viewer_id))
    if not include_replies:
        statement = statement.where(Tweet.reply_to_tweet_id.is_(None))
    return await _tweet_page(db, statement, request)


async def replies(
    db: Database, viewer_id: int | None, tweet_id: int, request: PageRequest
) -> Page[Tweet]:
    """Direct replies, oldest first (reading order), without muted authors."""
    statement = select(Tweet).where(
        Tweet.reply_to_tweet_id == tweet_id,
        tweet_visible(Tweet, viewer_id),
        not_muted(Tweet, viewer_id),
    )
    after = int_key(request)
    if after is not None:
        statement = statement.where(Tweet.id > after[0])
    statement = statement.order_by(Tweet.id).limit(request.first + 1)
    async with db.read_session() as session:
        rows = list((await session.scalars(statement)).all())
    return page_from_rows(rows, [(t.id,) for t in rows], request)


async def liked_tweets(
    db: Database, viewer_id: int | None, user_id: int, request: PageRequest
) -> Page[Tweet]:
    statement = (
        select(Tweet)
        .join(Like, Like.tweet_id == Tweet.id)
        .where(Like.user_id == user_id, tweet_visible(Tweet, viewer_id))
    )
    return await newest_first_by_time(db, statement, Like.created_at, Like.tweet_id, request)


async def bookmarked_tweets(db: Database, user_id: int, request: PageRequest) -> Page[Tweet]:
    statement = (
        select(Tweet)
        .join(Bookmark, Bookmark.tweet_id == Tweet.id)
        .where(Bookmark.user_id == user_id, tweet_visible(Tweet, user_id))
    )
    return await newest_first_by_time(
        db, statement, Bookmark.created_at, Bookmark.tweet_id, request
    )
