"""Finding the tweet or user a write is about, inside the write's transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from starling.errors import DomainError, ErrorCode
from starling.models import Tweet, User
from starling.visibility import tweet_visible


async def visible_original(
    session: AsyncSession, viewer_id: int, tweet_id: int, field: str = "id"
) -> Tweet:
    """The tweet the viewer may see, or the original when it is a retweet; NOT_FOUND otherwise
    (a tweet the viewer may not see is answered like one that does not exist)."""
    tweet = await session.scalar(
        select(Tweet).where(Tweet.id == tweet_id, tweet_visible(Tweet, viewer_id))
    )
    return await _original(session, tweet, field)


async def existing_original(session: AsyncSession, tweet_id: int, field: str = "id") -> Tweet:
    """The tweet (or a retweet's original) if it exists, visible or not: undoing a like or a
    retweet works even on a tweet the viewer can no longer see."""
    return await _original(session, await session.get(Tweet, tweet_id), field)


async def _original(session: AsyncSession, tweet: Tweet | None, field: str) -> Tweet:
    """A retweet's original (the tweet itself otherwise), or NOT_FOUND."""
    if tweet is not None and tweet.retweet_of_tweet_id is not None:
        tweet = await session.get(Tweet, tweet.retweet_of_tweet_id)
    if tweet is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such tweet.", field)
    return tweet


async def is_protected(session: AsyncSession, user_id: int) -> bool:
    return bool(await session.scalar(select(User.protected).where(User.id == user_id)))


async def existing_user(session: AsyncSession, user_id: int, field: str = "id") -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such user.", field)
    return user
