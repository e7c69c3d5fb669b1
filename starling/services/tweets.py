"""Tweets: post, edit, delete.

Each use case validates everything first, then writes in one unit of work: the rows, its event,
and the effects that run after the commit (so a rolled-back write never counts).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from starling.core import Core
from starling.errors import DomainError, ErrorCode, ErrorCollector
from starling.events import TweetEdited, TweetPosted, TweetRemoved
from starling.models import (
    Like,
    Media,
    MediaKind,
    MediaStatus,
    Tweet,
    TweetHashtag,
    TweetMedia,
    TweetMention,
    TweetStats,
    TweetVersion,
    User,
)
from starling.records import TweetRecord
from starling.services import counting
from starling.services.targets import is_protected, visible_original
from starling.storage import counters
from starling.storage.counters import Delta
from starling.storage.timelines import Entry
from starling.text import MAX_TWEET_WEIGHT, ParsedTweet, TextTooLong, parse_tweet
from starling.unit_of_work import unit_of_work

MAX_MEDIA = 4
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_\-:.]{1,64}$")


@dataclass(frozen=True)
class PostedTweet:
    tweet: TweetRecord
    # False when an earlier request with the same idempotency key already made it.
    created: bool


async def post_tweet(
    core: Core,
    author_id: int,
    *,
    text: str,
    reply_to_id: int | None = None,
    quote_of_id: int | None = None,
    media_ids: Sequence[int] = (),
    idempotency_key: str | None = None,
) -> PostedTweet:
    parsed = await _validate(text, media_ids, idempotency_key)
    await _wait_for_media(core, author_id, media_ids)
    async with unit_of_work(core) as work:
        session = work.session
        # One author's posts are serialised: duplicate and idempotency checks see each other,
        # and a change of the author's protection (which takes the same lock) is seen whole.
        await session.execute(select(func.pg_advisory_xact_lock(author_id)))
        author_protected = await is_protected(session, author_id)
        if idempotency_key is not None:
            earlier = await _tweet_for_idempotency_key(core, session, author_id, idempotency_key)
            if earlier is not None:
                return PostedTweet(TweetRecord.of(earlier), created=False)
        parent = (
            await visible_original(session, author_id, reply_to_id, "replyToId")
            if reply_to_id is not None
            else None
        )
        quoted = (
            await visible_original(session, author_id, quote_of_id, "quoteOfId")
            if quote_of_id is not None
            else None
        )
        await _check_media(session, author_id, media_ids)
        content_hash = _content_hash(parsed.text, media_ids)
        await _reject_duplicate(core, session, author_id, content_hash)

        tweet_id, version_id = (
            await session.execute(select(func.starling_next_id(), func.starling_next_id()))
        ).one()
        tweet = Tweet(
            id=tweet_id,
            author_id=author_id,
            text=parsed.text,
            lang=parsed.lang,
            reply_to_tweet_id=parent.id if parent else None,
            reply_to_user_id=parent.author_id if parent else None,
            conversation_id=parent.conversation_id if parent else tweet_id,
            quote_of_tweet_id=quoted.id if quoted else None,
            current_version_id=version_id,
            content_hash=content_hash,
            idempotency_key=idempotency_key,
        )
        session.add(tweet)
        await session.flush()
        session.add_all(
            [
                TweetVersion(id=version_id, tweet_id=tweet_id, number=1, text=parsed.text),
                TweetStats(tweet_id=tweet_id),
            ]
        )
        await _link_entities(session, tweet.id, parsed)
        await work.emit(TweetPosted(tweet_id=tweet_id, author_id=author_id))
        if media_ids:
            await session.execute(
                insert(TweetMedia),
                [
                    {"tweet_id": tweet.id, "media_id": media_id, "position": position}
                    for position, media_id in enumerate(media_ids)
                ],
            )
        work.count(
            [
                Delta("user", author_id, "tweets_count", 1),
                *counting.conversation_deltas(
                    reply_to_id=parent.id if parent else None,
                    quote_of_id=quoted.id if quoted else None,
                    retweet_of_id=None,
                    author_protected=author_protected,
                    amount=1,
                ),
            ]
        )
        # Authors see their own tweet at once, before any fan-out job runs.
        work.push_timeline([author_id], Entry(tweet.id))
    return PostedTweet(TweetRecord.of(tweet), created=True)


async def edit_tweet(core: Core, editor_id: int, tweet_id: int, text: str) -> TweetRecord:
    """A new immutable version; hashtags and mentions follow the current text."""
    async with unit_of_work(core) as work:
        session = work.session
        tweet = await _own_tweet_for_update(session, editor_id, tweet_id, "edit")
        if tweet.retweet_of_tweet_id is not None:
            raise DomainError(ErrorCode.CANNOT_EDIT_RETWEET, "A retweet cannot be edited.", "id")
        window = timedelta(minutes=core.settings.edit_window_minutes)
        if datetime.now(UTC) - tweet.created_at > window:
            raise DomainError(
                ErrorCode.EDIT_WINDOW_CLOSED,
                f"Tweets can be edited for {core.settings.edit_window_minutes} minutes.",
                "id",
            )
        if tweet.edit_count >= core.settings.max_edits:
            raise DomainError(
                ErrorCode.EDIT_LIMIT_REACHED,
                f"A tweet can be edited {core.settings.max_edits} times.",
                "id",
            )
        has_media = (
            await session.scalar(
                select(TweetMedia.media_id).where(TweetMedia.tweet_id == tweet.id).limit(1)
            )
            is not None
        )
        parsed = await _checked_text(text, has_media)
        if parsed.text == tweet.text:
            return TweetRecord.of(tweet)  # Nothing changed: no new version, no edit used.

        version = TweetVersion(tweet_id=tweet.id, number=tweet.edit_count + 2, text=parsed.text)
        session.add(version)
        await session.flush()
        tweet.text = parsed.text
        tweet.lang = parsed.lang
        tweet.edit_count += 1
        tweet.edited_at = func.now()
        tweet.current_version_id = version.id
        tweet.content_hash = _content_hash(parsed.text, [])
        await session.execute(delete(TweetHashtag).where(TweetHashtag.tweet_id == tweet.id))
        await session.execute(delete(TweetMention).where(TweetMention.tweet_id == tweet.id))
        await _link_entities(session, tweet.id, parsed)
        await work.emit(TweetEdited(tweet_id=tweet.id, author_id=editor_id))
        await session.flush()
        await session.refresh(tweet)
    return TweetRecord.of(tweet)


async def delete_tweet(core: Core, user_id: int, tweet_id: int) -> None:
    """Soft delete: hidden everywhere at once (visibility), purged after a grace period.

    Deleting a retweet is undoing it.
    """
    async with unit_of_work(core) as work:
        session = work.session
        await session.execute(select(func.pg_advisory_xact_lock(user_id)))
        tweet = await _own_tweet_for_update(session, user_id, tweet_id, "delete")
        author_protected = await is_protected(session, user_id)
        if tweet.retweet_of_tweet_id is not None:
            await session.delete(tweet)
        else:
            tweet.deleted_at = func.now()
        await work.emit(
            TweetRemoved(
                tweet_id=tweet.id, author_id=user_id, original_id=tweet.retweet_of_tweet_id
            )
        )
        work.count(
            [
                Delta("user", user_id, "tweets_count", -1),
                *counting.conversation_deltas(
                    reply_to_id=tweet.reply_to_tweet_id,
                    quote_of_id=tweet.quote_of_tweet_id,
                    retweet_of_id=tweet.retweet_of_tweet_id,
                    author_protected=author_protected,
                    amount=-1,
                ),
            ]
        )


async def purge_deleted(core: Core) -> int:
    """Remove tweets deleted longer ago than the grace period. Their likes and the live
    retweets of them go too (the rows cascade), so their likers' and retweeters' counts drop
    in the same transaction."""
    cutoff = datetime.now(UTC) - timedelta(days=core.settings.deleted_tweet_grace_days)
    async with core.db.session() as session:
        doomed = select(Tweet.id).where(Tweet.deleted_at < cutoff).scalar_subquery()
        likers = select(Like.user_id).where(Like.tweet_id.in_(doomed))
        retweeters = select(Tweet.author_id).where(
            Tweet.retweet_of_tweet_id.in_(doomed), Tweet.deleted_at.is_(None)
        )
        await counters.record(
            session,
            [Delta("user", user_id, "likes_count", -1) for user_id in await session.scalars(likers)]
            + [
                Delta("user", user_id, "tweets_count", -1)
                for user_id in await session.scalars(retweeters)
            ],
        )
        result = await session.execute(
            delete(Tweet).where(Tweet.deleted_at < cutoff).returning(Tweet.id)
        )
        return len(result.all())


# --- steps ----------------------------------------------------------------------------------


async def _validate(
    text: str, media_ids: Sequence[int], idempotency_key: str | None
) -> ParsedTweet:
    errors = ErrorCollector()
    if len(media_ids) > MAX_MEDIA:
        errors.add(ErrorCode.TOO_MANY_MEDIA, f"At most {MAX_MEDIA} media per tweet.", "mediaIds")
    if len(set(media_ids)) != len(media_ids):
        errors.add(ErrorCode.INVALID, "The same media is attached twice.", "mediaIds")
    if idempotency_key is not None and not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
        errors.add(
            ErrorCode.INVALID,
            "idempotencyKey is 1-64 letters, digits or -_:.",
            "idempotencyKey",
        )
    try:
        parsed = await _checked_text(text, bool(media_ids))
    except DomainError as error:
        errors.errors.append(error)
    errors.raise_if_any()
    return parsed


async def _checked_text(text: str, has_media: bool) -> ParsedTweet:
    try:
        # Milliseconds of CPU for the longest text allowed: kept off the event loop.
        parsed = await asyncio.to_thread(parse_tweet, text)
    except TextTooLong:
        raise DomainError(
            ErrorCode.TWEET_TOO_LONG, f"Tweets are at most {MAX_TWEET_WEIGHT} characters.", "text"
        ) from None
    if not parsed.text and not has_media:
        raise DomainError(ErrorCode.TWEET_EMPTY, "A tweet needs text or media.", "text")
    if parsed.too_long:
        raise DomainError(
            ErrorCode.TWEET_TOO_LONG,
            f"Tweets are at most {MAX_TWEET_WEIGHT} characters (this one weighs "
            f"{parsed.weighted_length}).",
            "text",
        )
    if parsed.has_invalid_characters:
        raise DomainError(ErrorCode.INVALID_CHARACTERS, "The text has invalid characters.", "text")
    return parsed


def _content_hash(text: str, media_ids: Sequence[int]) -> bytes:
    return hashlib.sha256(f"{text}\x00{','.join(map(str, media_ids))}".encode()).digest()


async def _own_tweet_for_update(
    session: AsyncSession, user_id: int, tweet_id: int, verb: str
) -> Tweet:
    """The user's live tweet, locked; NOT_AUTHOR for someone else's tweet the user can see,
    NOT_FOUND for one they cannot (as if it did not exist)."""
    tweet = await session.scalar(
        select(Tweet).where(Tweet.id == tweet_id, Tweet.deleted_at.is_(None)).with_for_update()
    )
    if tweet is not None and tweet.author_id != user_id:
        try:
            await visible_original(session, user_id, tweet.id)
        except DomainError:
            tweet = None
        else:
            raise DomainError(ErrorCode.NOT_AUTHOR, f"Only its author can {verb} a tweet.", "id")
    if tweet is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such tweet.", "id")
    return tweet


async def _tweet_for_idempotency_key(
    core: Core, session: AsyncSession, author_id: int, key: str
) -> Tweet | None:
    """The tweet an earlier request with this key made within the window. An older key is
    released so the unique index lets this request use it."""
    earlier = await session.scalar(
        select(Tweet).where(Tweet.author_id == author_id, Tweet.idempotency_key == key)
    )
    if earlier is None:
        return None
    window = timedelta(minutes=core.settings.idempotency_window_minutes)
    if datetime.now(UTC) - earlier.created_at <= window:
        return earlier
    earlier.idempotency_key = None
    await session.flush()
    return None


async def _reject_duplicate(
    core: Core, session: AsyncSession, author_id: int, content_hash: bytes
) -> None:
    window = timedelta(minutes=core.settings.duplicate_window_minutes)
    latest_hash = await session.scalar(
        select(Tweet.content_hash)
        .where(
            Tweet.author_id == author_id,
            Tweet.retweet_of_tweet_id.is_(None),
            Tweet.deleted_at.is_(None),
            Tweet.created_at > datetime.now(UTC) - window,
        )
        .order_by(Tweet.id.desc())
        .limit(1)
    )
    if latest_hash == content_hash:
        raise DomainError(
            ErrorCode.DUPLICATE_TWEET, "You just posted exactly this; say something new.", "text"
        )


async def _wait_for_media(core: Core, owner_id: int, media_ids: Sequence[int]) -> None:
    """Media a worker is still processing get a moment to finish (a client that posts right
    after uploading usually needs only that), outside any transaction; what is still not READY
    after ``media_attach_wait_seconds`` is refused by ``_check_media``."""
    if not media_ids:
        return
    deadline = time.monotonic() + core.settings.media_attach_wait_seconds
    waiting = (
        select(Media.id)
        .where(
            Media.id.in_(list(media_ids)),
            Media.owner_id == owner_id,
            Media.status.in_([MediaStatus.PENDING, MediaStatus.PROCESSING]),
        )
        .limit(1)
    )
    # Polled: the worker that finishes may be in another process (no event to wait on).
    while time.monotonic() < deadline:
        if not await core.db.rows(waiting):
            return
        await asyncio.sleep(0.1)


async def _check_media(session: AsyncSession, owner_id: int, media_ids: Sequence[int]) -> None:
    if not media_ids:
        return
    found = (
        await session.execute(
            select(Media.id, Media.status, Media.kind).where(
                Media.id.in_(media_ids), Media.owner_id == owner_id
            )
        )
    ).all()
    statuses = {row.id: row.status for row in found}
    if len(media_ids) > 1 and any(row.kind is MediaKind.VIDEO for row in found):
        raise DomainError(
            ErrorCode.TOO_MANY_MEDIA, "A tweet carries up to 4 images or 1 video.", "mediaIds"
        )
    for media_id in media_ids:
        if media_id not in statuses:
            raise DomainError(ErrorCode.NOT_FOUND, "No such media.", "mediaIds")
        if statuses[media_id] is not MediaStatus.READY:
            raise DomainError(
                ErrorCode.MEDIA_NOT_READY, "Media is still processing or failed.", "mediaIds"
            )


async def _link_entities(session: AsyncSession, tweet_id: int, parsed: ParsedTweet) -> None:
    """Store the hashtags and the mentions of users who exist."""
    if parsed.hashtags:
        await session.execute(
            insert(TweetHashtag), [{"tweet_id": tweet_id, "tag": tag} for tag in parsed.hashtags]
        )
    if parsed.mentions:
        mentioned = (
            await session.scalars(
                select(User.id).where(
                    func.lower(User.username).in_([name.lower() for name in parsed.mentions])
                )
            )
        ).all()
        if mentioned:
            await session.execute(
                insert(TweetMention),
                [{"tweet_id": tweet_id, "user_id": user_id} for user_id in mentioned],
            )


__all__ = ["PostedTweet", "delete_tweet", "edit_tweet", "post_tweet", "purge_deleted"]
