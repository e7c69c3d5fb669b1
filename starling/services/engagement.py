"""Likes, retweets and bookmarks. All idempotent: doing it twice is not an error and counts once.

Acting on a retweet acts on the tweet it points at. Each returns the id of the tweet acted on;
the caller reads it back under the viewer's read rule. Undoing works on a tweet the viewer can
no longer see (so nobody is stuck with a like), but on a hidden tweet with nothing to undo it
answers NOT_FOUND, exactly as for a tweet that does not exist.
"""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from starling.core import Core
from starling.errors import DomainError, ErrorCode
from starling.events import (
    TweetBookmarked,
    TweetLiked,
    TweetPosted,
    TweetRemoved,
    TweetUnbookmarked,
    TweetUnliked,
)
from starling.models import Bookmark, Like, Tweet, TweetStats
from starling.records import TweetRecord
from starling.services import counting
from starling.services.targets import existing_original, is_protected, visible_original
from starling.storage.counters import Delta
from starling.storage.timelines import Entry
from starling.unit_of_work import UnitOfWork, unit_of_work


async def like(core: Core, user_id: int, tweet_id: int) -> int:
    async with unit_of_work(core) as work:
        tweet = await visible_original(work.session, user_id, tweet_id)
        inserted = await work.session.scalar(
            pg_insert(Like)
            .values(tweet_id=tweet.id, user_id=user_id)
            .on_conflict_do_nothing()
            .returning(Like.tweet_id)
        )
        if inserted is not None:
            await work.emit(
                TweetLiked(tweet_id=tweet.id, author_id=tweet.author_id, user_id=user_id)
            )
            _count_like(work, tweet.id, user_id, 1)
    return tweet.id


async def unlike(core: Core, user_id: int, tweet_id: int) -> int:
    async with unit_of_work(core) as work:
        tweet = await existing_original(work.session, tweet_id)
        removed = await work.session.scalar(
            delete(Like)
            .where(Like.tweet_id == tweet.id, Like.user_id == user_id)
            .returning(Like.tweet_id)
        )
        if removed is None:
            await visible_original(work.session, user_id, tweet_id)
        else:
            await work.emit(TweetUnliked(tweet_id=tweet.id, user_id=user_id))
            _count_like(work, tweet.id, user_id, -1)
    return tweet.id


def _count_like(work: UnitOfWork, tweet_id: int, user_id: int, amount: int) -> None:
    work.count(
        [
            Delta("tweet", tweet_id, "like_count", amount),
            Delta("user", user_id, "likes_count", amount),
        ]
    )


async def retweet(core: Core, user_id: int, tweet_id: int) -> tuple[TweetRecord, TweetRecord]:
    """(the retweet, the original). Retweeting again returns the existing retweet."""
    async with unit_of_work(core) as work:
        session = work.session
        await session.execute(select(func.pg_advisory_xact_lock(user_id)))
        original = await visible_original(session, user_id, tweet_id)
        retweeter_protected = await is_protected(session, user_id)
        if await is_protected(session, original.author_id):
            raise DomainError(
                ErrorCode.CANNOT_RETWEET_PROTECTED,
                "Tweets of protected accounts cannot be retweeted.",
                "id",
            )
        new_id = await session.scalar(
            pg_insert(Tweet)
            .values(
                author_id=user_id,
                text="",
                retweet_of_tweet_id=original.id,
                conversation_id=original.conversation_id,
            )
            .on_conflict_do_nothing(
                index_elements=["retweet_of_tweet_id", "author_id"],
                index_where=Tweet.retweet_of_tweet_id.is_not(None) & Tweet.deleted_at.is_(None),
            )
            .returning(Tweet.id)
        )
        if new_id is not None:
            await session.execute(insert(TweetStats).values(tweet_id=new_id))
            await work.emit(
                TweetPosted(
                    tweet_id=new_id,
                    author_id=user_id,
                    original_id=original.id,
                    original_author_id=original.author_id,
                )
            )
            work.push_timeline([user_id], Entry(new_id, original.id))
            work.count(
                [
                    Delta("user", user_id, "tweets_count", 1),
                    *_retweet_deltas(original.id, retweeter_protected, 1),
                ]
            )
        the_retweet = await session.scalar(
            select(Tweet).where(
                Tweet.retweet_of_tweet_id == original.id,
                Tweet.author_id == user_id,
                Tweet.deleted_at.is_(None),
            )
        )
    assert the_retweet is not None
    return TweetRecord.of(the_retweet), TweetRecord.of(original)


async def undo_retweet(core: Core, user_id: int, tweet_id: int) -> int:
    async with unit_of_work(core) as work:
        session = work.session
        await session.execute(select(func.pg_advisory_xact_lock(user_id)))
        original = await existing_original(session, tweet_id)
        retweeter_protected = await is_protected(session, user_id)
        removed = await session.scalar(
            delete(Tweet)
            .where(Tweet.retweet_of_tweet_id == original.id, Tweet.author_id == user_id)
            .returning(Tweet.id)
        )
        if removed is None:
            await visible_original(session, user_id, tweet_id)
        else:
            await work.emit(
                TweetRemoved(tweet_id=removed, author_id=user_id, original_id=original.id)
            )
            work.count(
                [
                    Delta("user", user_id, "tweets_count", -1),
                    *_retweet_deltas(original.id, retweeter_protected, -1),
                ]
            )
    return original.id


def _retweet_deltas(original_id: int, retweeter_protected: bool, amount: int) -> list[Delta]:
    return counting.conversation_deltas(
        reply_to_id=None,
        quote_of_id=None,
        retweet_of_id=original_id,
        author_protected=retweeter_protected,
        amount=amount,
    )


async def bookmark(core: Core, user_id: int, tweet_id: int) -> int:
    async with unit_of_work(core) as work:
        tweet = await visible_original(work.session, user_id, tweet_id)
        inserted = await work.session.scalar(
            pg_insert(Bookmark)
            .values(tweet_id=tweet.id, user_id=user_id)
            .on_conflict_do_nothing()
            .returning(Bookmark.tweet_id)
        )
        if inserted is not None:
            await work.emit(TweetBookmarked(tweet_id=tweet.id, user_id=user_id))
            work.count([Delta("tweet", tweet.id, "bookmark_count", 1)])
    return tweet.id


async def unbookmark(core: Core, user_id: int, tweet_id: int) -> int:
    async with unit_of_work(core) as work:
        tweet = await existing_original(work.session, tweet_id)
        removed = await work.session.scalar(
            delete(Bookmark)
            .where(Bookmark.tweet_id == tweet.id, Bookmark.user_id == user_id)
            .returning(Bookmark.tweet_id)
        )
        if removed is None:
            await visible_original(work.session, user_id, tweet_id)
        else:
            await work.emit(TweetUnbookmarked(tweet_id=tweet.id, user_id=user_id))
            work.count([Delta("tweet", tweet.id, "bookmark_count", -1)])
    return tweet.id
