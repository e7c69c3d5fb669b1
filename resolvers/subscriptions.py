"""Subscriptions: homeTimeline, notifications, tweetEngagement.

Each listens on this process's shared pub/sub hub and loads what an event names through the same
read rules as queries (visibility, blocks, mutes). All of them end when the token they were opened
with is revoked (logout).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing

import strawberry

from dataloaders import Loaders
from dataloaders.live import Delivery
from resolvers.common import decode_id
from schema.context import Context, HandedOver, Info, handed_over, shared_delivery
from schema.notifications import Notification, TweetEngagement
from schema.tweets import Prefetched, Tweet
from starling.errors import DomainError, ErrorCode
from starling.queries import home
from starling.queries import notifications as notification_queries
from starling.queries.tweets import tweet_counts, visible_tweets_by_ids
from starling.storage import keys
from starling.storage.events import Event, Inbox
from starling.storage.sessions import hash_token

# Longer than the publisher's throttle (200 ms), so the trailing read sees what it held back.
ENGAGEMENT_SETTLE_SECONDS = 0.3


def revocation_channels(context: Context) -> list[str]:
    """The channel that ends a subscription when its token is revoked (logout)."""
    token = context.token
    return [keys.revoked_channel(hash_token(token).hex())] if token else []


async def home_timeline(info: Info) -> AsyncGenerator[Tweet, None]:
    """Each tweet as it lands in the viewer's home timeline, followed celebrities included."""
    context = info.context
    viewer_id = context.require_viewer()
    shared = shared_delivery.get()
    resumed = handed_over.get()
    deliveries = _resumed(resumed) if resumed is not None else home_deliveries(context)
    if shared is not None and resumed is None:
        shared.started(info)
    async with aclosing(deliveries):
        async for delivery in deliveries:
            if shared is not None and await shared.send(info, delivery):
                continue
            context.loaders = Loaders(context.core, viewer_id)  # fresh counts per event
            yield Tweet.from_record(delivery.tweet, Prefetched(author=delivery.author))


async def home_deliveries(context: Context) -> AsyncGenerator[Delivery, None]:
    """The tweets that land in the signed-in viewer's home timeline, as they land; ends when
    the token is revoked."""
    viewer_id = context.require_viewer()
    core, hub, live = context.core, context.require_hub(), context.require_live()
    celebrities = await home.followed_among(core.db, viewer_id, await core.timelines.celebrities())
    revoked = revocation_channels(context)
    channels = [keys.home_channel(viewer_id), *map(keys.author_channel, celebrities), *revoked]
    async with hub.presence(viewer_id), hub.listen(channels) as queue:
        while True:
            channel, data = await queue.get()
            if channel in revoked:
                return
            delivery = await live.home_tweet(int(data), viewer_id)
            if delivery is not None:
                yield delivery


async def _resumed(resumed: HandedOver) -> AsyncGenerator[Delivery, None]:
    async with aclosing(resumed.rest):
        if isinstance(resumed.first, Exception):
            raise resumed.first
        yield resumed.first
        async for delivery in resumed.rest:
            yield delivery


async def notifications(info: Info) -> AsyncGenerator[Notification, None]:
    viewer_id = info.context.require_viewer()
    core, hub = info.context.core, info.context.require_hub()
    revoked = revocation_channels(info.context)
    async with (
        hub.presence(viewer_id),
        hub.listen([keys.notifications_channel(viewer_id), *revoked]) as queue,
    ):
        while True:
            channel, data = await queue.get()
            if channel in revoked:
                return
            found = await notification_queries.by_id(core.db, viewer_id, int(data))
            if found is not None:
                info.context.loaders = Loaders(core, viewer_id)
                yield Notification.from_record(found)


async def tweet_engagement(info: Info, id: strawberry.ID) -> AsyncGenerator[TweetEngagement, None]:
    """Live counts of one tweet: the current counts first, then a few updates a second at most.
    Ends when the viewer may no longer see the tweet (deleted, protected, a block)."""
    tweet_id = decode_id(id, "Tweet")
    core, hub, viewer_id = info.context.core, info.context.require_hub(), info.context.viewer_id
    revoked = revocation_channels(info.context)

    async def current() -> TweetEngagement | None:
        # Checked on every update, not once: a block or a delete must stop the stream.
        [visible] = await visible_tweets_by_ids(core.db, viewer_id, [tweet_id])
        if visible is None:
            return None
        [counts] = await tweet_counts(core.db, [tweet_id])
        return TweetEngagement(
            tweet_id=id,
            like_count=counts.like_count,
            retweet_count=counts.retweet_count,
            reply_count=counts.reply_count,
            quote_count=counts.quote_count,
        )

    last = await current()
    if last is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such tweet.", "id")
    async with (
        hub.watching(tweet_id),
        hub.listen([keys.engagement_channel(tweet_id), *revoked]) as queue,
    ):
        yield last
        while True:
            if _revoked_in([await queue.get()], revoked):
                return
            while True:  # a burst: emit, settle, emit what changed meanwhile
                if _revoked_in(_drain(queue), revoked):
                    return
                latest = await current()
                if latest is None:
                    return
                if latest != last:
                    last = latest
                    yield latest
                await asyncio.sleep(ENGAGEMENT_SETTLE_SECONDS)
                if queue.empty():
                    latest = await current()
                    if latest is None:
                        return
                    if latest != last:
                        last = latest
                        yield latest
                    break


def _drain(queue: Inbox) -> list[Event]:
    events = []
    while not queue.empty():
        events.append(queue.get_nowait())
    return events


def _revoked_in(events: list[Event], revoked: list[str]) -> bool:
    return any(channel in revoked for channel, _ in events)
