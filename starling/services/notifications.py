"""Notifications, made by workers from outbox events.

Kinds: mention, reply, quote, like, retweet, follow, follow request, follow accepted. Never to
oneself, never for an action of someone the recipient blocks, is blocked by, or mutes. Likes,
retweets and follows on the same target within 12 hours are one group (like Mastodon): the group
counts its actors and keeps the latest few. Handling an event twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import BigInteger, Select, and_, bindparam, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from starling.core import Core
from starling.events import (
    Event,
    FollowAccepted,
    FollowCreated,
    FollowRequested,
    TweetLiked,
    TweetPosted,
)
from starling.models import (
    Mute,
    Notification,
    NotificationActor,
    NotificationKind,
    Tweet,
    TweetMention,
)
from starling.storage import keys
from starling.visibility import blocked_either_way, tweet_visible

GROUPED = {NotificationKind.LIKE, NotificationKind.RETWEET, NotificationKind.FOLLOW}
GROUP_WINDOW = timedelta(hours=12)
KINDS = frozenset(
    {
        TweetLiked.kind,
        FollowCreated.kind,
        FollowRequested.kind,
        FollowAccepted.kind,
        TweetPosted.kind,
    }
)
LATEST_ACTORS = 5


@dataclass(frozen=True)
class Draft:
    recipient_id: int
    kind: NotificationKind
    actor_id: int
    tweet_id: int | None = None

    @property
    def group_key(self) -> str:
        if self.kind is NotificationKind.FOLLOW:
            return "follow"
        if self.kind in GROUPED or self.tweet_id is not None:
            return f"{self.kind.value}:{self.tweet_id}"
        return f"{self.kind.value}:{self.actor_id}"


async def handle(core: Core, event: Event) -> list[int]:
    """Create or update the notifications an event calls for; returns their ids."""
    drafts = await _drafts(core, event)
    made: list[int] = []
    for draft in drafts:
        if draft.recipient_id == draft.actor_id:
            continue
        async with core.db.session() as session:
            if await _silenced(session, draft):
                continue
            notification_id = await _upsert(session, draft)
        if notification_id is not None:
            made.append(notification_id)
            await core.events.to_present_users(
                [draft.recipient_id], keys.notifications_channel, notification_id
            )
    return made


async def _drafts(core: Core, event: Event) -> list[Draft]:
    match event:
        case TweetLiked():
            return [Draft(event.author_id, NotificationKind.LIKE, event.user_id, event.tweet_id)]
        case FollowCreated():
            return [Draft(event.followee_id, NotificationKind.FOLLOW, event.follower_id)]
        case FollowRequested():
            return [Draft(event.followee_id, NotificationKind.FOLLOW_REQUEST, event.follower_id)]
        case FollowAccepted():
            return [Draft(event.follower_id, NotificationKind.FOLLOW_ACCEPTED, event.followee_id)]
        case TweetPosted():
            return await _tweet_drafts(core, event)
    return []


async def _tweet_drafts(core: Core, event: TweetPosted) -> list[Draft]:
    async with core.db.read_session() as session:
        tweet = await session.get(Tweet, event.tweet_id)
        if tweet is None or tweet.deleted_at is not None:
            return []
        if tweet.retweet_of_tweet_id is not None:
            assert event.original_author_id is not None
            return [
                Draft(
                    event.original_author_id,
                    NotificationKind.RETWEET,
                    tweet.author_id,
                    tweet.retweet_of_tweet_id,
                )
            ]
        drafts: list[Draft] = []
        if tweet.reply_to_user_id is not None:
            drafts.append(
                Draft(tweet.reply_to_user_id, NotificationKind.REPLY, tweet.author_id, tweet.id)
            )
        if tweet.quote_of_tweet_id is not None:
            quoted_author = await session.scalar(
                select(Tweet.author_id).where(Tweet.id == tweet.quote_of_tweet_id)
            )
            if quoted_author is not None:
                drafts.append(
                    Draft(quoted_author, NotificationKind.QUOTE, tweet.author_id, tweet.id)
                )
        mentioned = (
            await session.scalars(
                select(TweetMention.user_id).where(TweetMention.tweet_id == tweet.id)
            )
        ).all()
    told = {d.recipient_id for d in drafts}
    # Someone replied to or quoted is told once, by that notification rather than a mention.
    drafts += [
        Draft(user_id, NotificationKind.MENTION, tweet.author_id, tweet.id)
        for user_id in mentioned
        if user_id not in told
    ]
    return drafts


def _silenced_statement() -> Select[bool]:
    recipient = bindparam("recipient_id", type_=BigInteger)
    actor = bindparam("actor_id", type_=BigInteger)
    tweet_id = bindparam("tweet_id", type_=BigInteger)
    tweet_hidden = and_(
        tweet_id.is_not(None),
        ~exists().where(Tweet.id == tweet_id, tweet_visible(Tweet, recipient)),
    )
    muted = exists().where(Mute.muter_id == recipient, Mute.muted_id == actor)
    return select(or_(tweet_hidden, blocked_either_way(recipient, actor), muted))


# Built once: it runs for every recipient of every notification.
_SILENCED = _silenced_statement()


async def _silenced(session: AsyncSession, draft: Draft) -> bool:
    """Nobody hears from an account they block, are blocked by or mute, nor about a tweet they
    may not see (a protected account's reply or mention reaches only its approved followers)."""
    params = {
        "recipient_id": draft.recipient_id,
        "actor_id": draft.actor_id,
        "tweet_id": draft.tweet_id,
    }
    return bool(await session.scalar(_SILENCED, params))


async def _upsert(session: AsyncSession, draft: Draft) -> int | None:
    """The notification's id if it was created or changed, None when the event was seen before."""
    key = draft.group_key
    # Serialise writers of one group so concurrent likes join one group, not two.
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(f"{draft.recipient_id}:{key}", 0)))
    )
    query = select(Notification).where(
        Notification.recipient_id == draft.recipient_id, Notification.group_key == key
    )
    if draft.kind in GROUPED:
        query = query.where(Notification.updated_at > datetime.now(UTC) - GROUP_WINDOW)
    existing = await session.scalar(query.order_by(Notification.updated_at.desc()).limit(1))
    if existing is None:
        notification = Notification(
            recipient_id=draft.recipient_id,
            kind=draft.kind,
            group_key=key,
            tweet_id=draft.tweet_id,
            actor_ids=[draft.actor_id],
            actor_count=1,
        )
        session.add(notification)
        await session.flush()
        await _add_actor(session, notification.id, draft.actor_id)
        return notification.id
    if draft.kind not in GROUPED or not await _add_actor(session, existing.id, draft.actor_id):
        return None
    await session.execute(
        update(Notification)
        .where(Notification.id == existing.id)
        .values(
            actor_ids=[
                draft.actor_id,
                *(a for a in existing.actor_ids if a != draft.actor_id),
            ][:LATEST_ACTORS],
            actor_count=Notification.actor_count + 1,
            updated_at=func.now(),
            read_at=None,
        )
    )
    return existing.id


async def _add_actor(session: AsyncSession, notification_id: int, actor_id: int) -> bool:
    """True when this actor is new to the group."""
    added = await session.scalar(
        pg_insert(NotificationActor)
        .values(notification_id=notification_id, actor_id=actor_id)
        .on_conflict_do_nothing()
        .returning(NotificationActor.actor_id)
    )
    return added is not None


async def mark_read(core: Core, user_id: int, up_to_id: int | None) -> int:
    """Mark the viewer's notifications read (all, or those not newer than ``up_to_id``);
    returns how many stay unread."""
    async with core.db.session() as session:
        condition = [Notification.recipient_id == user_id, Notification.read_at.is_(None)]
        if up_to_id is not None:
            cutoff = select(Notification.updated_at).where(
                Notification.id == up_to_id, Notification.recipient_id == user_id
            )
            condition.append(Notification.updated_at <= cutoff.scalar_subquery())
        await session.execute(update(Notification).where(*condition).values(read_at=func.now()))
        return int(
            await session.scalar(
                select(func.count())
                .select_from(Notification)
                .where(Notification.recipient_id == user_id, Notification.read_at.is_(None))
            )
            or 0
        )
